// First-party cookies on the registrable domain, so a touch captured on www.shop.com is still
// there on checkout.shop.com. A hand-written helper instead of js-cookie: the same get/set/remove
// through js-cookie 3.0.8 makes dist/whopq.js 3,484 B gzip instead of 2,968 B (+516 B, a sixth of
// the budget; esbuild --minify, gzip -9), and we need none of its converters or attribute API.

/**
 * The cookie's decoded value, or undefined when absent or malformed. Pass `jar` (one read of
 * document.cookie) when reading several: after the page yields, each read of document.cookie costs
 * Chromium a check with the browser's cookie store (0.1-0.2 ms, measured in bench/track-cost.mjs),
 * and a read after a write of ours a round trip.
 */
export function getCookie(name: string, jar?: string): string | undefined {
  try {
    const m = (jar ?? document.cookie).match('(?:^|; )' + name + '=([^;]*)');
    return m ? decodeURIComponent(m[1]) : undefined;
  } catch {}
}

/** One read of every cookie, for several getCookie calls ('' when the document may not read them). */
export function cookieJar(): string {
  try {
    return document.cookie;
  } catch {
    return '';
  }
}

/** Sets a cookie for `days` on `domain` (host-only when undefined); `days` 0 deletes it. */
export function setCookie(name: string, value: string, days: number, domain?: string): void {
  try {
    document.cookie =
      name +
      '=' +
      encodeURIComponent(value) +
      ';path=/;max-age=' +
      ((days * 86400) | 0) +
      (domain ? ';domain=' + domain : '') +
      ';SameSite=Lax' +
      (location.protocol == 'https:' ? ';Secure' : '');
  } catch {
    // Cookies disabled or a sandboxed document: the touch then lives for this page only.
  }
}

/**
 * The registrable domain ("eTLD+1"): set a test cookie on ever longer suffixes of the host until
 * the browser keeps one; browsers refuse cookies on public suffixes (co.uk, github.io), so the
 * first that sticks is the site's own. Single-label hosts (localhost) get host-only cookies (no
 * suffix to try); on an IP only the full address can stick, which is host-only in effect.
 * Callers probe at most once per page, and only when they write a cookie: each try is a cookie
 * write and a read.
 */
export function registrableDomain(host = location.hostname): string | undefined {
  const parts = host.split('.');
  for (let i = parts.length - 1; i--; ) {
    const d = parts.slice(i).join('.');
    setCookie('wq_d', '1', 1, d);
    if (getCookie('wq_d')) {
      setCookie('wq_d', '', 0, d);
      return d;
    }
  }
}
