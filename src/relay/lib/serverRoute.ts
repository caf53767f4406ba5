import type { AcceptServerEvents } from './acceptServerEvents';
import type { bearerTokens } from './bearerTokens';
import { clientIp, type parseCidrs } from './clientIp';
import type { Logger } from './logger';
import type { Metrics } from './metrics';
import { plainError, plainJson, type PlainRequest, type PlainResponse } from './plainExchange';
import { readBatch, refusedBatch, storeFailed } from './prepareEvents';
import type { createRateLimiter } from './rateLimiter';
import { whopError, type WhopErrorBody } from './whopError';

export interface ServerRouteConfig {
  /** The configured tokens' check (`bearerTokens`). */
  check: ReturnType<typeof bearerTokens>;
  accept: AcceptServerEvents;
  /** Per token: each token has its own bucket. Null: no limit. */
  tokenLimiter: ReturnType<typeof createRateLimiter> | null;
  /** Per IP, for requests without a valid token (guessing tokens costs the guesser). Null: no limit. */
  ipLimiter: ReturnType<typeof createRateLimiter> | null;
  trusted: ReturnType<typeof parseCidrs>;
  ipHeader?: string;
  maxBodyBytes: number;
  maxBatch: number;
  metrics: Metrics;
  logger: Logger;
}

const _TYPES = new Set(['text/plain', 'application/json']);

/**
 * `POST <basePath>/s`, the authenticated server endpoint (docs/SERVER.md): a bearer token from the
 * configured list or 401 (in dry-run too), a per-token rate limit, then one event or a batch within
 * the browser endpoint's limits, stored by `acceptServerEvents`. No cookies, no CORS: servers call it.
 */
export function createServerRoute(config: ServerRouteConfig): (request: PlainRequest, peer: string | undefined) => Promise<PlainResponse> {
  const { metrics } = config;
  const refuse = (status: number, error: WhopErrorBody, extra?: Record<string, unknown>, headers?: Record<string, string>) => {
    metrics.inc('rejected_total', { reason: error.code ?? error.type });
    return plainError(status, error, extra, headers);
  };
  const limited = (retryAfter: number) =>
    refuse(
      429,
      whopError('Too many requests; retry later.', 'rate_limited', null, 'rate_limit_error'),
      {},
      {
        'retry-after': String(retryAfter),
      },
    );

  return async (request, peer) => {
    if (request.method !== 'POST') return plainError(405, whopError('Use POST.', 'method_not_allowed'), {}, { allow: 'POST' });
    const token = await config.check(request.header('authorization'));
    const now = Date.now();
    if (token < 0) {
      const ip = clientIp({ get: (name) => request.header(name) }, peer, config.trusted, config.ipHeader);
      const decision = config.ipLimiter?.take('s:' + (ip ?? 'unknown'), now);
      if (decision && !decision.ok) return limited(decision.retryAfter);
      return refuse(
        401,
        whopError(
          'Send a server token: Authorization: Bearer <token> (WHOPQ_SERVER_TOKENS).',
          'unauthorized',
          null,
          'authentication_error',
        ),
        {},
        { 'www-authenticate': 'Bearer' },
      );
    }
    const decision = config.tokenLimiter?.take(String(token), now);
    if (decision && !decision.ok) return limited(decision.retryAfter);
    const type = (request.header('content-type') ?? '').split(';')[0]!.trim().toLowerCase();
    if (!_TYPES.has(type)) return refuse(415, whopError('Send the events as application/json.', 'unsupported_media_type'));
    const batch = await readBatch(request, config.maxBodyBytes, config.maxBatch);
    if (batch.error) return refuse(batch.status, batch.error);
    let result: Awaited<ReturnType<AcceptServerEvents>>;
    try {
      result = await config.accept(batch.events, { source: 'server' });
    } catch (error) {
      return storeFailed(config.logger, metrics, 'server ingest', batch.events.length, error, 5);
    }
    const { accepted, duplicates, rejected, dropped, filled, results } = result;
    if (accepted + duplicates === 0) {
      const refused = refusedBatch(batch.events.length, rejected);
      return plainError(refused.status, refused.error, { rejected, results });
    }
    return plainJson(200, {
      accepted,
      duplicates,
      rejected,
      ...(dropped.length ? { dropped } : {}),
      ...(filled.length ? { filled } : {}),
      results,
    });
  };
}
