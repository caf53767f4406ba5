// A persistent per-visitor id (`user.anonymous_id`): cookie `wq_aid` on the registrable domain
// (the relay re-sets it server-side with the same value, which outlives Safari's 7-day cap on
// script-set cookies) mirrored in localStorage, so losing one of the two keeps the id.
import { getCookie, setCookie } from './cookies';
import { store } from './storage';
import { uuid } from './uuid';

export const AID_KEY = 'wq_aid';

/**
 * The visitor's id, read from cookie or mirror, else new; persisted only when `persist` is true,
 * the cookie only when missing or different: a page view of a known visitor then needs no
 * `domain()` probe.
 */
export function anonymousId(persist: boolean, domain: () => string | undefined, known?: string): string {
  const cookie = getCookie(AID_KEY);
  const id = cookie || store(AID_KEY) || known || uuid();
  if (persist) {
    // 400 days: the longest lifetime Chromium accepts.
    if (cookie != id) setCookie(AID_KEY, id, 400, domain());
    store(AID_KEY, id);
  }
  return id;
}
