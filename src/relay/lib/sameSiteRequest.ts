/**
 * Whether a request comes from the relay's own site, the only case in which it may set identifier
 * cookies (a cross-site form post must not choose a visitor's ids). `Sec-Fetch-Site` decides when
 * the browser sent it (`same-origin`/`same-site`); without it (older browsers, servers) the
 * request must carry no Origin or one whose host is the relay's own.
 * (https://www.w3.org/TR/fetch-metadata/#sec-fetch-site-header)
 */
export function sameSiteRequest(header: (name: string) => string | null, host: string): boolean {
  const site = header('sec-fetch-site');
  if (site !== null) return site === 'same-origin' || site === 'same-site';
  const origin = header('origin');
  if (origin === null) return true;
  try {
    return new URL(origin).host.toLowerCase() === host.toLowerCase();
  } catch {
    return false; // `Origin: null` (sandboxed frames, some redirects) is nobody's site
  }
}
