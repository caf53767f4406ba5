/** Parses a Cookie header into name → value (first occurrence wins, values URI-decoded when valid). */
export function parseCookies(header: string | null): Map<string, string> {
  const out = new Map<string, string>();
  if (!header) return out;
  for (const part of header.split(';')) {
    const eq = part.indexOf('=');
    if (eq <= 0) continue;
    const name = part.slice(0, eq).trim();
    if (out.has(name)) continue;
    let value = part.slice(eq + 1).trim();
    if (value.startsWith('"') && value.endsWith('"')) value = value.slice(1, -1);
    try {
      value = decodeURIComponent(value);
    } catch {
      // Not percent-encoded text: keep it as sent.
    }
    out.set(name, value);
  }
  return out;
}

export interface CookieAttributes {
  /** Seconds. Browsers cap at 400 days (https://httpwg.org/http-extensions/draft-ietf-httpbis-rfc6265bis.html#name-the-max-age-attribute). */
  maxAge: number;
  secure: boolean;
  domain?: string;
  /** Not readable by page scripts (the relay's own attribution cookie). */
  httpOnly?: boolean;
}

/** Longest lifetime a browser keeps a cookie: 400 days. */
export const MAX_COOKIE_AGE = 400 * 24 * 60 * 60;

/** A `Set-Cookie` value, always `Path=/; SameSite=Lax`. The value must be cookie-safe already. */
export function serializeCookie(name: string, value: string, attrs: CookieAttributes): string {
  let s = `${name}=${value}; Max-Age=${Math.min(attrs.maxAge, MAX_COOKIE_AGE)}; Path=/; SameSite=Lax`;
  if (attrs.domain) s += `; Domain=${attrs.domain}`;
  if (attrs.secure) s += '; Secure';
  if (attrs.httpOnly) s += '; HttpOnly';
  return s;
}

/** The cookies whopq and its relay may set on a visitor: what `POST <base>/forget` expires. */
export const IDENTIFIER_COOKIES = ['wq_c', 'wq_aid', '_fbp'] as const;

/**
 * `Set-Cookie` values that expire each cookie host-only and, when configured, on the cookie domain
 * (a cookie set with a Domain is another cookie than the host-only one of the same name).
 */
export function expireCookies(names: readonly string[], secure: boolean, domain: string | undefined): string[] {
  const out: string[] = [];
  for (const name of names) {
    out.push(serializeCookie(name, '', { maxAge: 0, secure }));
    if (domain) out.push(serializeCookie(name, '', { maxAge: 0, secure, domain }));
  }
  return out;
}

/** Characters a cookie value may hold unquoted (RFC 6265 cookie-octet), a subset of what ids use. */
export const COOKIE_SAFE = /^[\w.\-~:+]{1,200}$/;

/** fbclid from a `_fbc` cookie (`fb.<index>.<ms>.<fbclid>`); the fbclid itself may contain dots. */
export function fbclidFromFbc(fbc: string): string | null {
  const m = /^fb\.\d+\.\d+\.(.+)$/.exec(fbc);
  return m ? m[1]! : null;
}

/** Google's client id from `_ga` (`GA1.1.<random>.<seconds>`): the last two fields. */
export function gaClientId(ga: string): string | null {
  const parts = ga.split('.');
  return parts.length >= 4 ? parts.slice(-2).join('.') : null;
}
