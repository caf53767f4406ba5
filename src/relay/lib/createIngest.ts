import { cookieDomainFor } from './cookieDomainFor';
import { DEFAULT_PII_PARAMS, piiMatcher } from './cleanUrl';
import {
  CLICK_COOKIE_MAX_AGE_S,
  clicksOf,
  fillClicks,
  mergeClicks,
  parseClickCookie,
  pruneClicks,
  serializeClickCookie,
} from './clickModel';
import { COOKIE_SAFE, MAX_COOKIE_AGE, parseCookies, serializeCookie } from './cookies';
import { enrichEvent } from './enrichEvent';
import type { Logger } from './logger';
import type { Metrics } from './metrics';
import { KNOWN_PARAMS } from './normalizeEvent';
import type { Outbox, OutboxInput } from './outbox';
import { plainError, type PlainRequest, type PlainResponse } from './plainExchange';
import { outboxInput, prepareEvents, readBatch, refusedBatch, storeFailed } from './prepareEvents';
import type { RelayEvent } from './relayEvent';
import type { VisitorMemory } from './visitorMemory';
import { mergeRecords, recordOf, type VisitorRecord } from './visitorRecord';
import { sameSiteRequest } from './sameSiteRequest';
import type { Upstream } from './forwardOne';
import { whopError, type WhopErrorBody } from './whopError';

export interface IngestConfig {
  outbox: Outbox;
  /** Allowed company ids; null allows any. */
  companies: ReadonlySet<string> | null;
  maxBodyBytes: number;
  maxBatch: number;
  cookieDomain: string | undefined;
  /** Query parameter names removed from stored URLs (`cleanUrl`). Default `DEFAULT_PII_PARAMS`. */
  piiParams?: readonly string[];
  /** The API events are forwarded to: page views are `skipped` only for `conversions`. */
  upstream: Upstream;
  /** Seconds a 503 asks the browser to wait. */
  retryAfter: number;
  metrics: Metrics;
  logger: Logger;
  /** The clock (tests move it). Default Date.now. */
  now?: () => number;
  /** Remembers each visitor's context for server events (`visitorMemory`), after the write, off the answer's path. */
  memory?: VisitorMemory | null;
}

const _TYPES = new Set(['text/plain', 'application/json']);
/** A metric label for a param: a field of the model by name, anything else as `<prefix>(unknown)`. */
const _label = (param: string) =>
  KNOWN_PARAMS.has(param)
    ? param
    : param.startsWith('context.')
      ? 'context.(unknown)'
      : param.startsWith('user.')
        ? 'user.(unknown)'
        : '(unknown)';
/** Meta's `_fbp` format, `fb.<subdomainIndex>.<ms>.<random>`. */
const _FBP = /^fb\.\d\.\d{10,16}\.\d{1,20}$/;

/**
 * The ingest endpoint (`POST <basePath>/e`, docs/PROTOCOL.md): reads the body within the limit,
 * parses, validates every event, enriches the good ones with the request's facts, appends them to
 * the outbox in one all-or-nothing write and answers only after that write. Bad events are listed
 * by index; a batch with no good event stores nothing. Plain data in and out (`plainExchange`), so
 * the Fetch handler and the Node adapter's fast path run this same code. `url`: the
 * request's, as the route parsed it (https gives the cookies `Secure`).
 */
export function createIngest(config: IngestConfig): (request: PlainRequest, ip: string | null, url: URL) => Promise<PlainResponse> {
  const { metrics, logger } = config;
  const isPii = piiMatcher(config.piiParams ?? DEFAULT_PII_PARAMS);
  const refuse = (status: number, error: WhopErrorBody, extra?: Record<string, unknown>, headers?: Record<string, string>) => {
    metrics.inc('rejected_total', { reason: error.code ?? error.type });
    return plainError(status, error, extra, headers);
  };

  return async (request, ip, url) => {
    const type = (request.header('content-type') ?? '').split(';')[0]!.trim().toLowerCase();
    if (!_TYPES.has(type)) {
      return refuse(415, whopError('Send the events as text/plain or application/json.', 'unsupported_media_type'));
    }
    const batch = await readBatch(request, config.maxBodyBytes, config.maxBatch);
    if (batch.error) return refuse(batch.status, batch.error);
    const events = batch.events;
    metrics.inc('received_total', undefined, events.length);

    const now = config.now?.() ?? Date.now();
    const { good, rejected, dropped } = prepareEvents(events, now, config.companies, isPii);
    for (const r of rejected) metrics.inc('rejected_total', { reason: r.error.code ?? r.error.type });
    if (good.length === 0) {
      const refused = refusedBatch(events.length, rejected);
      return plainError(refused.status, refused.error, { rejected });
    }

    const cookies = parseCookies(request.header('cookie'));
    // Server-set attribution: the clicks of these events (context and URL) folded, oldest first,
    // into the relay's own cookie, which then fills what each event lacks.
    const clickCookie = cookies.get('wq_c');
    const clicks = parseClickCookie(clickCookie);
    const times = new Map(good.map((g) => [g, Date.parse(g._event.event_time!)]));
    const landing = new Set<RelayEvent>();
    for (const g of [...good].sort((a, b) => times.get(a)! - times.get(b)!))
      if (mergeClicks(clicks, clicksOf(g._event), times.get(g)!)) landing.add(g._event);
    pruneClicks(clicks, now);
    const facts = {
      ip,
      userAgent: request.header('user-agent'),
      cookies,
      acceptLanguage: request.header('accept-language'),
      // What the platform geolocated from the IP: Cloudflare's `cf.timezone`, Vercel's header.
      timezone: request.timezone ?? request.header('x-vercel-ip-timezone') ?? request.header('cf-timezone'),
    };
    const leftOut: string[] = [];
    const inputs: OutboxInput[] = good.map((g) => {
      const { _event, _dropped } = g;
      // The clicks first: a click on the event's URL (or kept in `wq_c`) is newer than what Meta's
      // `_fbc` cookie says, which fills only a Meta click the model has none of.
      for (const field of fillClicks(_event, clicks, times.get(g)!)) metrics.inc('clicks_filled_total', { field });
      const body = enrichEvent(_event, facts);
      return outboxInput(body, _dropped, now, config.upstream, leftOut);
    });

    let fresh: boolean[];
    try {
      fresh = await config.outbox.append(inputs);
    } catch (error) {
      return storeFailed(logger, metrics, 'ingest', inputs.length, error, config.retryAfter);
    }
    const accepted = fresh.filter(Boolean).length;
    const duplicates = fresh.length - accepted;
    const memory = config.memory;
    if (memory && accepted) {
      // One record per visitor a request (a batch is usually one visitor's): one hash, one write.
      const visitors = new Map<string, { _company: string; _user: NonNullable<RelayEvent['user']>; _record: VisitorRecord }>();
      inputs.forEach((input, i) => {
        const body = input.body;
        const user = body.user;
        if (!fresh[i] || !user || !(user.anonymous_id || user.email || user.phone)) return;
        const record = recordOf(body, clicks, times.get(good[i]!)!, landing.has(body));
        const id = [body.company_id, user.anonymous_id, user.email, user.phone].join('\u0000');
        const seen = visitors.get(id);
        if (seen) mergeRecords(seen._record, record);
        else visitors.set(id, { _company: body.company_id, _user: user, _record: record });
      });
      for (const v of visitors.values())
        memory
          .remember(v._company, v._user, v._record)
          .catch((error) => logger.warn('ingest: visitor memory failed', { error: String((error as Error)?.name ?? error) }));
    }
    metrics.inc('accepted_total', undefined, accepted);
    if (duplicates) metrics.inc('duplicates_total', undefined, duplicates);
    for (const d of dropped) metrics.inc('dropped_fields_total', { param: _label(d.param) });
    // Fields the relay keeps but /conversions has no place for (sent when another upstream takes them).
    for (const p of leftOut) metrics.inc('forward_left_out_total', { param: _label(p) });

    const headers: Array<[string, string]> = [
      ['content-type', 'application/json; charset=utf-8'],
      ['cache-control', 'no-store'],
      ['x-content-type-options', 'nosniff'],
    ];
    // Identifier cookies only for the relay's own site (a cross-site form post must not choose a
    // visitor's ids), never minted here (the pixel owns `_fbp` and `wq_aid`: the relay re-sets the
    // values the events carry, server-side so they outlast Safari's 7-day cap on script cookies),
    // and not again for a resend whose value the browser already holds.
    // The request's URL (parsed by the route): its host for the same-site check, its `?d=` for the cookie domain.
    if (sameSiteRequest((name) => request.header(name), url.host)) {
      const attrs = { maxAge: MAX_COOKIE_AGE, secure: url.protocol === 'https:', domain: cookieDomainFor(config.cookieDomain, url) };
      const latest = (pick: (e: RelayEvent) => string | null | undefined) => {
        for (let i = inputs.length - 1; i >= 0; i--) {
          const v = pick(inputs[i]!.body);
          if (v) return v;
        }
        return null;
      };
      const resend = (name: string, value: string) => accepted === 0 && cookies.get(name) === value;
      const aid = latest((e) => e.user?.anonymous_id);
      if (aid && COOKIE_SAFE.test(aid) && !resend('wq_aid', aid)) headers.push(['set-cookie', serializeCookie('wq_aid', aid, attrs)]);
      const fbp = latest((e) => e.context?.fbp);
      if (fbp && _FBP.test(fbp) && !resend('_fbp', fbp))
        headers.push(['set-cookie', serializeCookie('_fbp', fbp, { ...attrs, maxAge: 90 * 24 * 60 * 60 })]);
      // With visitor memory on, the HttpOnly cookie names the visitor beside its clicks, for /forget.
      if (config.memory && aid && aid.length <= 200) clicks.a = aid;
      const c = serializeClickCookie(clicks);
      if (c && c !== clickCookie)
        headers.push(['set-cookie', serializeCookie('wq_c', c, { ...attrs, maxAge: CLICK_COOKIE_MAX_AGE_S, httpOnly: true })]);
    }
    // `dropped` only when a field was left out, so the usual answer stays as small as it was.
    return {
      status: 200,
      headers,
      body: JSON.stringify(dropped.length ? { accepted, duplicates, rejected, dropped } : { accepted, duplicates, rejected }),
    };
  };
}
