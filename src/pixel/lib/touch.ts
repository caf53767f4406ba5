// The ad touch is the relay's to keep (docs/PROTOCOL.md "Click context"): every event carries its
// page's URL, the relay reads the click ids, UTMs and ad ids from it, folds them per network into
// its own server-set cookie `wq_c` (which outlasts Safari's cap on script cookies) and fills what
// later events lack. Page views make the relay see each landing URL as it loads. What is left here
// is the init option `params`: a site's own URL names for context fields, which only the page knows.

/**
 * The context fields a URL parameter may fill (the relay keeps these from an event's context too).
 * Only the debug build checks `params` against them: the lean build would carry the string unused.
 */
export const TOUCH_FIELDS = __DEBUG__
  ? 'fbclid gclid gbraid wbraid ttclid msclkid li_fat_id rdt_cid sccid twclid utm_source utm_medium utm_campaign utm_term utm_content utm_id ad_id ad_set_id ad_campaign_id'.split(
      ' ',
    )
  : [];

/** The longest value sent: the relay cuts at 500 and keeps at most that in its cookie. */
export const MAX_VALUE = 255;

/**
 * The context fields the init option `params` maps from a query string: own parameters only
 * (`?constructor=1` finds nothing), values cut to MAX_VALUE. A target that is not a touch field is
 * the debug build's to warn about and the relay's to leave out (listed in `dropped`); the event
 * builder puts `fbp` after these, so no mapping replaces it.
 */
export function mappedParams(search: string, map: Record<string, string>): Record<string, string> {
  const out: Record<string, string> = {};
  new URLSearchParams(search).forEach((v, k) => {
    if (v && {}.hasOwnProperty.call(map, k)) out[map[k]!] = v.slice(0, MAX_VALUE);
  });
  return out;
}
