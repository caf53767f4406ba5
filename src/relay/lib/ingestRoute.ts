import { clientIp, isTrusted, type parseCidrs } from './clientIp';
import { corsPolicy, preflight, withCors as _withCors } from './corsPolicy';
import type { createIngest } from './createIngest';
import type { Logger } from './logger';
import type { Metrics } from './metrics';
import { plainError, type PlainRequest, type PlainResponse } from './plainExchange';
import type { createRateLimiter } from './rateLimiter';
import { scopeEventIds } from './scopeEventIds';
import { whopError } from './whopError';

export interface IngestRouteConfig {
  /** Allowed page origins, lower-case without a trailing slash; null allows any. */
  origins: ReadonlySet<string> | null;
  trusted: ReturnType<typeof parseCidrs>;
  /** The one forwarding header a trusted proxy's word is read from (`clientIp`). */
  ipHeader?: string;
  limiter: ReturnType<typeof createRateLimiter> | null;
  maxInFlight: number;
  /** The body limit `ingest` applies: the body is read within it before an in-flight slot is taken. */
  maxBodyBytes: number;
  /** Guessable event_ids are scoped to their visitor (`scopeEventIds`): the relay has server tokens, so only `/s` keeps them. */
  scopeIds: boolean;
  ingest: ReturnType<typeof createIngest>;
  metrics: Metrics;
  logger: Logger;
}

/**
 * `<basePath>/e` as plain data in and out: CORS preflight, method, origin allowlist, client IP
 * (trusted-proxy aware), per-IP rate limit, the in-flight cap, then `createIngest`. The Fetch
 * handler and the Node adapter's fast path both call it, so both answer alike.
 */
export function createIngestRoute(
  config: IngestRouteConfig,
): (request: PlainRequest, url: URL, peer: string | undefined) => Promise<PlainResponse> {
  const { origins, trusted, limiter, metrics, logger } = config;
  let inFlight = 0;
  let warnedProxy = false;

  const cors = corsPolicy(origins);
  const corsOrigin = cors.corsOrigin;
  const originAllowed = cors.allowed;

  return async (request, url, peer) => {
    const method = request.method;
    const origin = request.header('origin');
    if (method === 'OPTIONS') {
      return (
        preflight(corsOrigin(origin, url)) ?? plainError(403, whopError('This origin may not send events here.', 'origin_not_allowed'))
      );
    }
    if (method !== 'POST') return plainError(405, whopError('Use POST.', 'method_not_allowed'), {}, { allow: 'POST, OPTIONS' });
    if (!originAllowed(origin, url)) {
      metrics.inc('rejected_total', { reason: 'origin_not_allowed' });
      return plainError(403, whopError('This origin may not send events here.', 'origin_not_allowed'));
    }
    const ip = clientIp({ get: (name) => request.header(name) }, peer, trusted, config.ipHeader);
    if (
      !warnedProxy &&
      peer &&
      !isTrusted(peer, trusted) &&
      (request.header('x-forwarded-for') !== null || request.header('forwarded') !== null)
    ) {
      // Once: behind an unlisted proxy every event would carry the proxy's address, and the
      // per-IP rate limit would treat all visitors as one.
      warnedProxy = true;
      logger.warn(
        'ingest: forwarding headers from a peer that is not a trusted proxy were ignored; if the relay sits behind a proxy, list it in trustedProxies (WHOPQ_TRUSTED_PROXIES)',
      );
    }
    if (limiter) {
      const decision = limiter.take(ip ?? 'unknown', Date.now());
      if (!decision.ok) {
        metrics.inc('rejected_total', { reason: 'rate_limited' });
        return _withCors(
          plainError(
            429,
            whopError('Too many requests; retry later.', 'rate_limited', null, 'rate_limit_error'),
            {},
            { 'retry-after': String(decision.retryAfter) },
          ),
          corsOrigin(origin, url),
        );
      }
    }
    // Read the body before taking an in-flight slot: a slow upload costs its own socket (which the
    // adapter's deadlines bound), never the capacity other visitors' events need.
    let body = request.text(config.maxBodyBytes);
    await body.catch(() => {});
    if (config.scopeIds) {
      body = body.then((text) => scopeEventIds(text, ip));
      await body.catch(() => {});
    }
    const read: PlainRequest = {
      method,
      url: request.url,
      header: (name) => request.header(name),
      text: () => body,
      timezone: request.timezone,
    };
    if (inFlight >= config.maxInFlight) {
      metrics.inc('rejected_total', { reason: 'overloaded' });
      return _withCors(
        plainError(
          503,
          whopError('The relay is busy; retry later.', 'overloaded', null, 'service_unavailable'),
          {},
          { 'retry-after': '2' },
        ),
        corsOrigin(origin, url),
      );
    }
    inFlight++;
    try {
      return _withCors(await config.ingest(read, ip, url), corsOrigin(origin, url));
    } finally {
      inFlight--;
    }
  };
}
