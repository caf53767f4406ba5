import { cookieDomainFor } from './cookieDomainFor';
import { parseClickCookie } from './clickModel';
import { expireCookies, IDENTIFIER_COOKIES, parseCookies } from './cookies';
import type { Logger } from './logger';
import { corsPolicy, preflight, withCors } from './corsPolicy';
import { plainError, type PlainRequest, type PlainResponse } from './plainExchange';
import type { VisitorMemory } from './visitorMemory';
import { whopError } from './whopError';

/**
 * `POST <basePath>/forget` (docs/PROTOCOL.md): answers 204 with `Set-Cookie` headers expiring every
 * cookie whopq and its relay may set (`wq_c`, `wq_aid`, `_fbp`), host-only and on the configured
 * cookie domain (else the pixel's hint, see cookieDomainFor), so a consent revoke or a reset leaves
 * none behind, `HttpOnly` ones included (which the page cannot delete itself), and forgets the
 * visitor's memory: what the anonymous id in the `wq_aid` cookie, in `wq_c`, or in the body's `anonymous_id`
 * (text/plain JSON, optional) wrote. Same origin rules as ingest.
 */
export function createForgetRoute(config: {
  origins: ReadonlySet<string> | null;
  cookieDomain: string | undefined;
  memory?: VisitorMemory | null;
  logger?: Logger;
}): (request: PlainRequest, url: URL) => Promise<PlainResponse> {
  const cors = corsPolicy(config.origins);
  return async (request, url) => {
    const origin = request.header('origin');
    if (request.method === 'OPTIONS')
      return preflight(cors.corsOrigin(origin, url)) ?? plainError(403, whopError('This origin may not send here.', 'origin_not_allowed'));
    if (request.method !== 'POST') return plainError(405, whopError('Use POST.', 'method_not_allowed'), {}, { allow: 'POST, OPTIONS' });
    if (!cors.allowed(origin, url)) return plainError(403, whopError('This origin may not send here.', 'origin_not_allowed'));
    if (config.memory) {
      const ids = new Set<string>();
      const cookies = parseCookies(request.header('cookie'));
      const cookie = cookies.get('wq_aid');
      if (cookie) ids.add(cookie);
      // The pixel clears wq_aid before it posts here; the relay's HttpOnly wq_c still names the visitor.
      const kept = parseClickCookie(cookies.get('wq_c')).a;
      if (kept) ids.add(kept);
      const text = await request.text(4096).catch(() => '');
      try {
        const aid = (JSON.parse(text) as { anonymous_id?: unknown } | null)?.anonymous_id;
        if (typeof aid === 'string' && aid && aid.length <= 200) ids.add(aid);
      } catch {}
      for (const aid of ids)
        await config.memory
          .forget(aid)
          .catch((error) => config.logger?.warn('forget: visitor memory failed', { error: String((error as Error)?.name ?? error) }));
    }
    const headers: Array<[string, string]> = [['cache-control', 'no-store']];
    for (const c of expireCookies(IDENTIFIER_COOKIES, url.protocol === 'https:', cookieDomainFor(config.cookieDomain, url)))
      headers.push(['set-cookie', c]);
    return withCors({ status: 204, headers, body: null }, cors.corsOrigin(origin, url));
  };
}
