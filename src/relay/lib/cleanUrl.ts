/**
 * Query parameter names left out of stored and forwarded URLs by default (matched case-insensitively,
 * as a whole name or a `_`/`-`/`.`-separated part of one: `user_email`, `reset-token`).
 */
export const DEFAULT_PII_PARAMS: readonly string[] = [
  'email',
  'e-mail',
  'mail',
  'phone',
  'tel',
  'mobile',
  'token',
  'access_token',
  'id_token',
  'refresh_token',
  'auth',
  'password',
  'passwd',
  'pwd',
  'pass',
  'secret',
  'apikey',
  'api_key',
  'key',
  'session',
  'sessionid',
  'sid',
  'ssn',
  'code',
  'otp',
  'signature',
  'sig',
];

/** An email address anywhere in a value: the parameter goes whatever its name. */
const _EMAIL = /[^\s@/?&=]+@[^\s@/?&=]+\.[a-z]{2,}/i;

/** A matcher for parameter names from a list (`DEFAULT_PII_PARAMS` or the configured one). */
export function piiMatcher(names: readonly string[]): (name: string) => boolean {
  const set = new Set(names.map((n) => n.toLowerCase()));
  return (name) => {
    const lower = name.toLowerCase();
    if (set.has(lower)) return true;
    for (const part of lower.split(/[_\-.]/)) if (set.has(part)) return true;
    return false;
  };
}

/**
 * A URL as the relay stores and forwards it: the fragment removed (`#access_token=…` never leaves
 * the browser's page), query parameters that look like personal data or secrets removed (their
 * names are returned, for `dropped`). Click ids and UTMs stay. A value that is not an absolute URL
 * is returned as it was, without its fragment.
 */
export function cleanUrl(url: string, isPii: (name: string) => boolean): { url: string; removed: string[] } {
  const hash = url.indexOf('#');
  let out = hash < 0 ? url : url.slice(0, hash);
  const removed: string[] = [];
  const q = out.indexOf('?');
  if (q < 0) return { url: out, removed };
  let parsed: URL;
  try {
    parsed = new URL(out);
  } catch {
    return { url: out, removed };
  }
  const keep: Array<[string, string]> = [];
  for (const [name, value] of parsed.searchParams) {
    if (isPii(name) || _EMAIL.test(value)) removed.push(name);
    else keep.push([name, value]);
  }
  if (removed.length === 0) return { url: out, removed };
  // Rebuilt only when something went, so an untouched URL keeps its exact encoding.
  parsed.search = new URLSearchParams(keep).toString();
  out = parsed.toString();
  return { url: out, removed };
}
