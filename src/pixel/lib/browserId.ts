// The browser ids the pixel owns (docs/PROTOCOL.md "Browser ids"): `wq_aid` (`user.anonymous_id`)
// and Meta's `_fbp` (`context.fbp`), each a cookie on the registrable domain mirrored in
// localStorage (`wq_aid`, `wq_fbp`), so losing one of the two keeps the id. The relay never mints either: it re-sets
// the values the events carry, server-side, which outlives Safari's 7-day cap on script-set
// cookies. One owner means every event of a visit, and the browser, carry the same value.
import { getCookie, setCookie } from './cookies';
import { store } from './storage';
import { uuid } from './uuid';

export const AID_KEY = 'wq_aid';
export const FBP_KEY = '_fbp';

/** A new `_fbp` in Meta's format: `fb.1.<ms>.<random digits>`. */
export const newFbp = (): string => 'fb.1.' + Date.now() + '.' + String(Math.random()).slice(2, 12);

/**
 * The id in cookie `key` (read from `jar`), else its mirror, else `known`, else a new one from `make`; persisted
 * (the cookie for `days`) only when `persist` is true, the cookie only when missing or different:
 * a page view of a known visitor then needs no `domain()` probe.
 */
export function browserId(
  key: string,
  make: () => string,
  days: number,
  persist: boolean,
  domain: () => string | undefined,
  known: string | undefined,
  jar: string,
): string {
  const cookie = getCookie(key, jar);
  // The mirror's key: wq_aid, wq_fbp.
  const m = key.replace(/^_/, 'wq_');
  const id = cookie || store(m) || known || make();
  if (persist) {
    if (cookie != id) setCookie(key, id, days, domain());
    store(m, id);
  }
  return id;
}
