/** A domain a cookie may name: labels of letters, digits and hyphens, at least two of them. */
const _DOMAIN = /^[a-z0-9-]+(\.[a-z0-9-]+)+$/;

/**
 * The `Domain` of the cookies the relay sets for a request: the configured one, else the pixel's
 * hint `?d=` (the registrable domain its probe found) when the relay's own host is that domain or
 * under it, so the relay's cookies reach every host name of the site as the pixel's do. Anything
 * else (no hint, another site, an IP host) is host-only; a public suffix the browser refuses itself.
 */
export function cookieDomainFor(configured: string | undefined, url: URL): string | undefined {
  if (configured) return configured;
  const d = url.searchParams.get('d')?.toLowerCase();
  const host = url.hostname.toLowerCase();
  if (!d || !_DOMAIN.test(d) || /^[\d.]+$/.test(host) || host.includes(':')) return undefined;
  return host === d || host.endsWith('.' + d) ? d : undefined;
}
