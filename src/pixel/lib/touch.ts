// The ad touch: the click ids, UTMs and ad ids of the visits that brought the visitor, persisted in
// the first-party cookie `wq_t` for the attribution window so a conversion pages later carries them.
// Per-network model (docs/PROTOCOL.md "Click context"): a click id replaces its own network's click
// only and is kept for the window from its own click; the UTMs and ad ids belong to the latest
// touch (a visit with any of the parameters), so a UTM-only visit replaces them and keeps the clicks.
import { getCookie, setCookie } from './cookies';

/**
 * Click id field → its ad network. A new gclid replaces a gbraid (one network, one click), an
 * fbclid leaves the gclid alone.
 */
export const CLICKS: Record<string, string> = { fbclid: 'm', gclid: 'g', gbraid: 'g', wbraid: 'g', ttclid: 't' };

/** URL parameter → stored touch field: the click ids, the UTMs and the common ad id spellings (init option `params` adds more). */
export const TOUCH_PARAMS: Record<string, string> = { adset_id: 'ad_set_id', campaign_id: 'ad_campaign_id' };
for (const f of [
  ...Object.keys(CLICKS),
  ...'ad_id ad_set_id ad_campaign_id utm_source utm_medium utm_campaign utm_term utm_content utm_id'.split(' '),
])
  TOUCH_PARAMS[f] = f;

/** The longest value kept: the cookie must stay under the browser's 4 KB (the relay cuts at 1,024). */
export const MAX_VALUE = 255;

/**
 * A touch: `t`, when its UTMs/ad ids were captured (ms since epoch), those fields as strings, and
 * each click id as `[value, captured ms]`.
 */
export type Touch = Record<string, string | number | [string, number]> & { t: number };

export const TOUCH_COOKIE = 'wq_t';

/** The value a touch field carries in `context`. */
export const touchValue = (v: Touch[string]): string => (typeof v == 'object' ? v[0] : (v as string));

/**
 * The touch carried by a URL's query string, or undefined when it has none of the parameters.
 * Only parameters that map to a touch field count (`?constructor=1` is none); values are cut to MAX_VALUE.
 */
export function touchFromUrl(search: string, extra?: Record<string, string>, now = Date.now()): Touch | undefined {
  const map: Record<string, string> = { ...TOUCH_PARAMS, ...extra };
  let touch: Touch | undefined;
  new URLSearchParams(search).forEach((v, k) => {
    const f = map[k];
    // Only fields of ours: a target the API lacks (init option `params`) would be left out by the
    // relay for every event of the window, and `?constructor=1` finds Object's own function here.
    if (v && Object.values(TOUCH_PARAMS).includes(f))
      (touch ||= { t: now })[f] = CLICKS[f] ? [v.slice(0, MAX_VALUE), now] : v.slice(0, MAX_VALUE);
  });
  return touch;
}

/**
 * A new touch over the stored one: the fresh one's fields, plus each stored click whose network
 * the fresh one has no click of.
 */
export function mergeTouch(fresh: Touch | undefined, old: Touch | undefined): Touch | undefined {
  if (!fresh || !old) return fresh || old;
  const nets = Object.keys(fresh).map((k) => CLICKS[k]);
  for (const k in old) if (CLICKS[k] && !nets.includes(CLICKS[k])) fresh[k] = old[k];
  return fresh;
}

/**
 * The stored touch, each part younger than the attribution window (a click from its own capture,
 * the UTMs/ad ids from the touch's), else undefined (also when absent or malformed).
 */
export function readTouch(windowDays: number, now = Date.now()): Touch | undefined {
  const c = getCookie(TOUCH_COOKIE);
  try {
    // No parse of an absent cookie: a page's first exception costs Chromium about a millisecond.
    const t = c && JSON.parse(c);
    let out: Touch | undefined;
    for (const k in t) if (k != 't' && now - ((CLICKS[k] && +t[k][1]) || t.t) < windowDays * 864e5) (out ||= { t: t.t } as Touch)[k] = t[k];
    return out;
  } catch {}
}

/** Persists a touch for the attribution window. */
export function writeTouch(touch: Touch, windowDays: number, domain?: string): void {
  setCookie(TOUCH_COOKIE, JSON.stringify(touch), windowDays, domain);
}
