import { createServerAcceptor, type AcceptServerEvents } from './lib/acceptServerEvents';
import { bearerTokens } from './lib/bearerTokens';
import { parseCidrs } from './lib/clientIp';
import { createIngest } from './lib/createIngest';
import { createForgetRoute } from './lib/forgetRoute';
import { createHooksRoute, type HooksOptions } from './lib/hooksRoute';
import { createIngestRoute } from './lib/ingestRoute';
import { lazyState, realInstance } from './lib/lazyInstance';
import { silentLogger, type Logger } from './lib/logger';
import { createMetrics, type Metrics } from './lib/metrics';
import type { Upstream } from './lib/forwardOne';
import type { Outbox } from './lib/outbox';
import { lazyResponse, plainFromRequest, toResponse, type PlainRequest } from './lib/plainExchange';
import { createMemoryVisitorStore } from './lib/memoryVisitorStore';
import { createRateLimiter, type RateLimitOptions } from './lib/rateLimiter';
import { createServerRoute } from './lib/serverRoute';
import { createVisitorMemory, type VisitorMemory } from './lib/visitorMemory';
import { serveBundle, type BundleSource } from './lib/serveBundle';
import { createStatusRoutes } from './lib/statusRoutes';
import { watchAppends } from './lib/watchAppends';
import { errorResponse, whopError } from './lib/whopError';

export interface RelayOptions {
  /** Where accepted events are stored before the 200 (required). */
  outbox: Outbox;
  /** Company ids this relay accepts events for; others are refused (403). Default (absent or empty): any. */
  companies?: readonly string[];
  /**
   * Page origins allowed to post events (`https://shop.example`). A request with another `Origin`
   * is refused (403); one without `Origin` (a server-side call) or from the relay's own host is
   * allowed. Listed cross-origin pages also get CORS answers. Default (absent or empty): any origin,
   * no CORS headers. Empty means unset, as an unset environment variable splits to `[]`.
   */
  origins?: readonly string[];
  /** Proxies (IPs or CIDRs, v4 and v6) whose `ipHeader` is believed. Default none. */
  trustedProxies?: readonly string[];
  /**
   * The one header the trusted proxy sets with the client's address: `x-forwarded-for` (default),
   * `forwarded` (RFC 7239), or a single-value one such as `x-real-ip`. Others are never read, so a
   * client cannot add a header the proxy passes through untouched.
   */
  ipHeader?: string;
  /** Where the relay is mounted. Default `/wq`. */
  basePath?: string;
  /** The pixel bundle served at `<basePath>/p.js`. Default none (404). */
  bundle?: BundleSource;
  /**
   * The pixel's debug build (`dist/whopq.debug.js`) served at `<basePath>/p.debug.js`, which the
   * snippet loads instead of p.js when the page URL has `?whopq_debug=1` or localStorage `wq_debug`
   * is set. Default none (404, and the snippet falls back to p.js).
   */
  debugBundle?: BundleSource;
  /** Largest ingest body in bytes; past it 413. Default 65_536 (sendBeacon's usual cap). */
  maxBodyBytes?: number;
  /** Most events in one batch; past it 400. Default 50. */
  maxBatch?: number;
  /**
   * Ingest requests handled at once; past it 503 + Retry-After, so a flood from many addresses
   * (which the per-IP limit cannot stop) sheds load instead of growing memory. Default 1024.
   */
  maxInFlight?: number;
  /** Per-IP token bucket on ingest (429 + Retry-After), or false to turn it off. Default 20/s, burst 60, 50_000 IPs. */
  rateLimit?: RateLimitOptions | false;
  /** `Domain` of the cookies the relay sets (the registrable domain, e.g. `shop.example`). Default: host-only. */
  cookieDomain?: string;
  /** Query parameter names removed from stored and forwarded URLs (personal data, secrets). Default `DEFAULT_PII_PARAMS`. */
  piiParams?: readonly string[];
  /**
   * The Whop API the forwarder sends to: `conversions` (default) stores page views as `skipped` (that
   * API has no such event); `events` stores them to be sent like any other event.
   */
  upstream?: Upstream;
  /** Events are stored but never forwarded (no API key). Reported by /ready. Default false. */
  dryRun?: boolean;
  /** A Whop API key is configured (the relay itself never sees it). Default false. */
  hasApiKey?: boolean;
  /** The forwarder, whose paused companies make /ready answer 503. Default none. */
  forwarder?: { status(): { paused: Array<{ company_id: string; reason: string }> } };
  /** JSON-lines logger. Default silent. */
  logger?: Logger;
  /** Metrics registry (share it with the forwarder). Default a new one. */
  metrics?: Metrics;
  /**
   * Tokens of the authenticated server endpoint `POST <basePath>/s` (docs/SERVER.md): a request
   * with `Authorization: Bearer <one of them>` may send events with their own IP, user agent and
   * event_ids, filled from visitor memory. With any set, the browser endpoint's guessable ids (not
   * the pixel's random ones) are scoped to their visitor (`scopeEventIds`). Default none: `/s`
   * refuses every request, and every browser id is kept as sent.
   */
  serverTokens?: readonly string[];
  /** One server token (kept for older configurations); joins `serverTokens`. */
  serverToken?: string;
  /** Per-token token bucket on `/s` (429 + Retry-After), or false. Default 100/s, burst 500. */
  serverRateLimit?: RateLimitOptions | false;
  /**
   * What the relay remembers of each visitor for server events (`createVisitorMemory` over a store:
   * SQLite and Postgres on Node, a Durable Object on Workers), or false for none. Default: in memory,
   * 100,000 records.
   */
  visitorMemory?: VisitorMemory | false;
  /** The clock for ingest and visitor memory (tests move it). Default Date.now. */
  now?: () => number;
  /** Token for /metrics (and what the caller gives the inspector): `Authorization: Bearer` or `?token=`. Default none. */
  adminToken?: string;
  /** Production: /metrics is served only with an adminToken. Default false. */
  production?: boolean;
  /** Handler for `<basePath>/inspect*` (the event inspector). Default none (404). */
  inspector?: (request: Request) => Promise<Response>;
  /** Signed Calendly and Typeform webhooks at `<basePath>/hooks/<vendor>` (docs/SERVER.md#webhooks-calendly-and-typeform). Default none (404). */
  hooks?: HooksOptions;
}

/** The relay: a Fetch handler. `conn.remoteAddress` is the socket peer (the adapter's job). */
export interface Relay {
  fetch(request: Request, conn?: { remoteAddress?: string }): Promise<Response>;
  /** The registry /metrics renders (the forwarder may feed the same one). */
  readonly metrics: Metrics;
  /**
   * Stores events a server sent, as `POST <basePath>/s` does once the token is checked:
   * `acceptServerEvents(events, { source })` → per-event results (`ServerAcceptResult`). For routes
   * that authenticate their own way (signed webhooks). Rejects when the store cannot write.
   */
  readonly acceptServerEvents: AcceptServerEvents;
  /** The visitor memory, or null when off. */
  readonly visitorMemory: VisitorMemory | null;
}

const _notFound = () => errorResponse(404, whopError('Not found', null, null, 'not_found'));

function _sameToken(given: string | null, token: string): boolean {
  if (given === null) return false;
  let diff = given.length ^ token.length;
  for (let i = 0; i < token.length; i++) diff |= (given.charCodeAt(i) || 0) ^ token.charCodeAt(i);
  return diff === 0;
}

/**
 * Creates the relay handler. Runtime-neutral (Request/Response and Web Crypto only): the Node
 * adapter, Workers, Bun and Deno all mount the same object. Routes, under `basePath`: `POST /e`
 * (ingest), `POST /s` (server events), `POST /forget`, `POST /hooks/calendly` and `/hooks/typeform` (signed webhooks), `GET /p.js`, `/health`, `/ready`, `/metrics`, `/inspect*` (docs/PROTOCOL.md).
 */
export function createRelay(options: RelayOptions): Relay {
  const base = (options.basePath ?? '/wq').replace(/\/+$/, '');
  const logger = options.logger ?? silentLogger;
  const metrics = options.metrics ?? createMetrics();
  const trusted = parseCidrs(options.trustedProxies ?? []);
  const origins = options.origins?.length ? new Set(options.origins.map((o) => o.replace(/\/+$/, '').toLowerCase())) : null;
  const limiter = options.rateLimit === false ? null : createRateLimiter(options.rateLimit);
  const bundle = options.bundle === undefined ? null : serveBundle(options.bundle);
  const debugBundle = options.debugBundle === undefined ? null : serveBundle(options.debugBundle);
  const { adminToken, production = false } = options;
  const companies = options.companies?.length ? new Set(options.companies) : null;
  const now = options.now ?? Date.now;
  const serverTokens = [...(options.serverTokens ?? []), ...(options.serverToken ? [options.serverToken] : [])].filter(Boolean);
  const memory =
    options.visitorMemory === false
      ? null
      : (options.visitorMemory ?? createVisitorMemory(createMemoryVisitorStore(), { maxEntries: 100_000, now, logger }));
  // Ingest writes through the watcher, so /ready can tell a store that refuses writes (a full disk).
  const writes = watchAppends(options.outbox);
  const status = createStatusRoutes({
    outbox: options.outbox,
    writeFailure: writes.failure,
    companies,
    dryRun: options.dryRun ?? false,
    hasApiKey: options.hasApiKey ?? false,
    forwarder: options.forwarder,
    metrics,
  });
  const ingest = createIngestRoute({
    origins,
    trusted,
    ipHeader: options.ipHeader,
    limiter,
    maxInFlight: options.maxInFlight ?? 1024,
    maxBodyBytes: options.maxBodyBytes ?? 65_536,
    scopeIds: serverTokens.length > 0,
    metrics,
    logger,
    ingest: createIngest({
      outbox: writes.outbox,
      companies,
      maxBodyBytes: options.maxBodyBytes ?? 65_536,
      maxBatch: options.maxBatch ?? 50,
      cookieDomain: options.cookieDomain,
      piiParams: options.piiParams?.length ? options.piiParams : undefined,
      upstream: options.upstream ?? 'conversions',
      retryAfter: 5,
      metrics,
      logger,
      now,
      memory,
    }),
  });

  const forget = createForgetRoute({ origins, cookieDomain: options.cookieDomain, memory, logger });
  // The server endpoint and the webhooks store through this: the browser's path, a server's rules.
  const acceptServerEvents = createServerAcceptor({
    outbox: writes.outbox,
    companies,
    piiParams: options.piiParams?.length ? options.piiParams : undefined,
    upstream: options.upstream ?? 'conversions',
    memory,
    metrics,
    logger,
    now,
  });
  const server = createServerRoute({
    check: bearerTokens(serverTokens),
    accept: acceptServerEvents,
    tokenLimiter: options.serverRateLimit === false ? null : createRateLimiter({ perSecond: 100, burst: 500, ...options.serverRateLimit }),
    ipLimiter: limiter,
    trusted,
    ipHeader: options.ipHeader,
    maxBodyBytes: options.maxBodyBytes ?? 65_536,
    maxBatch: options.maxBatch ?? 50,
    metrics,
    logger,
  });

  const hooks = options.hooks
    ? createHooksRoute({ ...options.hooks, accept: acceptServerEvents, maxBodyBytes: options.maxBodyBytes ?? 65_536, metrics, logger, now })
    : null;

  const route = async (request: Request, url: URL, conn?: { remoteAddress?: string }): Promise<Response> => {
    const path = url.pathname.slice(base.length);
    const method = request.method;
    if (path === '/e') {
      // A request from the Node adapter that nothing has read yet carries its plain view: answer it
      // without building the Request, and with a Response that stays plain for the adapter to write.
      const plain = lazyState<PlainRequest>(request);
      if (plain) return lazyResponse(await ingest(plain, url, conn?.remoteAddress));
      return toResponse(await ingest(plainFromRequest(request), url, conn?.remoteAddress));
    }
    if (path === '/forget') {
      const plain = lazyState<PlainRequest>(request);
      return plain ? lazyResponse(await forget(plain, url)) : toResponse(await forget(plainFromRequest(request), url));
    }
    if (path === '/s') {
      const plain = lazyState<PlainRequest>(request);
      return plain
        ? lazyResponse(await server(plain, conn?.remoteAddress))
        : toResponse(await server(plainFromRequest(request), conn?.remoteAddress));
    }
    // Signatures are checked over the raw bytes, so the hooks read the real Request's body.
    if (path.startsWith('/hooks/')) return hooks ? hooks(realInstance(request), path.slice(7)) : _notFound();
    // The inspector is the caller's code: it gets a Request the Fetch classes accept, never the lazy one.
    if (path.startsWith('/inspect')) return options.inspector ? options.inspector(realInstance(request)) : _notFound();
    if (method !== 'GET' && method !== 'HEAD')
      return errorResponse(405, whopError('Use GET.', 'method_not_allowed'), {}, { allow: 'GET, HEAD' });
    switch (path) {
      case '/p.js':
        return bundle ? bundle(request) : _notFound();
      case '/p.debug.js':
        return debugBundle ? debugBundle(request) : _notFound();
      case '/health':
        return status.health();
      case '/ready':
        return status.ready();
      case '/metrics': {
        if (production && !adminToken) return _notFound();
        if (adminToken) {
          const auth = request.headers.get('authorization');
          const given = auth && /^bearer /i.test(auth) ? auth.slice(7).trim() : url.searchParams.get('token');
          if (!_sameToken(given, adminToken))
            return errorResponse(
              401,
              whopError('The metrics need the admin token.', null, null, 'unauthorized'),
              {},
              { 'www-authenticate': 'Bearer' },
            );
        }
        return status.metrics();
      }
    }
    return _notFound();
  };

  return {
    metrics,
    acceptServerEvents,
    visitorMemory: memory,
    async fetch(request, conn) {
      let url: URL;
      try {
        url = new URL(request.url);
      } catch {
        return errorResponse(400, whopError('Bad request URL.'));
      }
      if (url.pathname !== base && !url.pathname.startsWith(base + '/')) return _notFound();
      try {
        return await route(request, url, conn);
      } catch (error) {
        // Never let one request take the process down; say nothing of the cause to the client.
        logger.error('relay: unhandled error', { path: url.pathname, error: (error as Error)?.name ?? 'unknown' });
        return errorResponse(500, whopError('Internal error.', null, null, 'api_error'));
      }
    },
  };
}
