import type { PlainResponse } from './plainExchange';

/** Who may post to the relay's routes, and which answers the page may read (CORS). */
export interface CorsPolicy {
  /** Whether a request with this Origin may be answered at all (the allowlist; none = a server). */
  allowed(origin: string | null, url: URL): boolean;
  /** The Origin to echo in `Access-Control-Allow-Origin`, or null (same host, none, or not allowed). */
  corsOrigin(origin: string | null, url: URL): string | null;
}

/**
 * With `origins` listed, only those pages (and the relay's own host) may post, and only they get
 * CORS headers. With none listed (the default, "any origin"), any page may post and a cross-origin
 * one can read the answer: the relay echoes its Origin with credentials, so a relay on
 * `t.example.com` serves pages on `www.example.com` without settings. Reading an ingest answer
 * gives a page nothing of the visitor's; identifier cookies are a separate, same-site-only matter
 * (`sameSiteRequest`).
 */
export function corsPolicy(origins: ReadonlySet<string> | null): CorsPolicy {
  return {
    allowed: (origin, url) => !origin || !origins || origins.has(origin.toLowerCase()) || _sameHost(origin, url),
    corsOrigin(origin, url) {
      // `Origin: null` (sandboxed frames, file:) is nobody's page: no credentialed answer for it.
      if (!origin || origin === 'null' || _sameHost(origin, url)) return null;
      return !origins || origins.has(origin.toLowerCase()) ? origin : null;
    },
  };
}

/** Adds the CORS headers for `origin` (when not null) to an answer. */
export function withCors(response: PlainResponse, origin: string | null): PlainResponse {
  if (!origin) return response;
  response.headers.push(['access-control-allow-origin', origin], ['access-control-allow-credentials', 'true'], ['vary', 'Origin']);
  return response;
}

/** The answer to a CORS preflight: 204 with the allowance for `origin`, or 403. */
export function preflight(origin: string | null): PlainResponse | null {
  if (!origin) return null;
  return {
    status: 204,
    headers: [
      ['access-control-allow-origin', origin],
      ['access-control-allow-credentials', 'true'],
      ['access-control-allow-methods', 'POST'],
      ['access-control-allow-headers', 'content-type'],
      ['access-control-max-age', '86400'],
      ['vary', 'Origin'],
    ],
    body: null,
  };
}

function _sameHost(origin: string, url: URL): boolean {
  try {
    return new URL(origin).host === url.host;
  } catch {
    return false;
  }
}
