import { cookieDomainFor } from './cookieDomainFor';
import { expireCookies, IDENTIFIER_COOKIES } from './cookies';
import { corsPolicy, preflight, withCors } from './corsPolicy';
import { plainError, type PlainRequest, type PlainResponse } from './plainExchange';
import { whopError } from './whopError';

/**
 * `POST <basePath>/forget` (docs/PROTOCOL.md): answers 204 with `Set-Cookie` headers expiring every
 * cookie whopq and its relay may set (`wq_c`, `wq_aid`, `_fbp`), host-only and on the configured
 * cookie domain (else the pixel's hint, see cookieDomainFor), so a consent revoke or a reset leaves none behind, `HttpOnly` ones included (which
 * the page cannot delete itself). The body (text/plain or empty) is not read. Same origin rules as
 * ingest.
 */
export function createForgetRoute(config: {
  origins: ReadonlySet<string> | null;
  cookieDomain: string | undefined;
}): (request: PlainRequest, url: URL) => PlainResponse {
  const cors = corsPolicy(config.origins);
  return (request, url) => {
    const origin = request.header('origin');
    if (request.method === 'OPTIONS')
      return preflight(cors.corsOrigin(origin, url)) ?? plainError(403, whopError('This origin may not send here.', 'origin_not_allowed'));
    if (request.method !== 'POST') return plainError(405, whopError('Use POST.', 'method_not_allowed'), {}, { allow: 'POST, OPTIONS' });
    if (!cors.allowed(origin, url)) return plainError(403, whopError('This origin may not send here.', 'origin_not_allowed'));
    const headers: Array<[string, string]> = [['cache-control', 'no-store']];
    for (const c of expireCookies(IDENTIFIER_COOKIES, url.protocol === 'https:', cookieDomainFor(config.cookieDomain, url)))
      headers.push(['set-cookie', c]);
    return withCors({ status: 204, headers, body: null }, cors.corsOrigin(origin, url));
  };
}
