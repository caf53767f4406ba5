// The ad touch: the click ids, UTMs and ad ids of the visit that brought the visitor, persisted in
// the first-party cookie `wq_t` for the attribution window so a conversion pages later carries them.
import { getCookie, setCookie } from './cookies';

/**
 * URL parameter → stored touch field: the click ids (gbraid/wbraid kept beside the gclid), the
 * UTMs, and the common spellings of ad ids (init option `params` adds more).
 */
export const TOUCH_PARAMS: Record<string, string> = { adset_id: 'ad_set_id', campaign_id: 'ad_campaign_id' };
for (const f of 'fbclid gclid gbraid wbraid ttclid ad_id ad_set_id ad_campaign_id utm_source utm_medium utm_campaign utm_term utm_content utm_id'.split(' '))
  TOUCH_PARAMS[f] = f;

/** The longest value kept: the cookie must stay under the browser's 4 KB (the relay cuts at 1,024). */
export const MAX_VALUE = 255;

/** A touch: field → value, plus `t`, when it was captured (ms since epoch). */
export type Touch = Record<string, string | number> & { t: number };

export const TOUCH_COOKIE = 'wq_t';

/**
 * The touch carried by a URL's query string, or undefined when it has none of the parameters.
 * Any of them starts a new touch: the new click replaces the old one as a whole, never a mix.
 * Only parameters that map to a touch field count (`?constructor=1` is none); values are cut to MAX_VALUE.
 */
export function touchFromUrl(search: string, extra?: Record<string, string>, now = Date.now()): Touch | undefined {
  const map: Record<string, string> = { ...TOUCH_PARAMS, ...extra };
  let touch: Touch | undefined;
  new URLSearchParams(search).forEach((v, k) => {
    const f = map[k];
    // Only fields of ours: a target the API lacks (init option `params`) would make the relay
    // refuse every event of the window, and `?constructor=1` finds Object's own function here.
    if (v && Object.values(TOUCH_PARAMS).includes(f)) (touch ||= { t: now })[f] = v.slice(0, MAX_VALUE);
  });
  return touch;
}

/** The stored touch if it is younger than the attribution window, else undefined (also when absent or malformed). */
export function readTouch(windowDays: number, now = Date.now()): Touch | undefined {
  const c = getCookie(TOUCH_COOKIE);
  try {
    // No parse of an absent cookie: a page's first exception costs Chromium about a millisecond.
    const t = c && JSON.parse(c);
    return t && now - t.t < windowDays * 864e5 ? t : undefined;
  } catch {}
}

/** Persists a touch for the attribution window. */
export function writeTouch(touch: Touch, windowDays: number, domain?: string): void {
  setCookie(TOUCH_COOKIE, JSON.stringify(touch), windowDays, domain);
}
