// Builds an event's `context` from the stored touch. The ad platforms' own first-party cookies
// (`_fbc` → fbclid, `_ga` → ga, `_ttp` → ttp) are the relay's to read: they reach it with every
// request (its path is on the site; a relay on another origin of the site gets them through
// `credentials: 'include'` and sendBeacon) and it fills each where the event has none
// (src/relay/lib/enrichEvent.ts). That saves the bundle the parsing and each event a
// `document.cookie` read (0.1-0.2 ms in Chromium after the page yields).
import type { ConversionContext } from '../../shared/conversion';
import { type Touch, touchValue } from './touch';

/** The context for an event: each touch field (every click id as itself: gbraid and wbraid too). The caller adds fbp. */
export function buildContext(touch: Touch | undefined): ConversionContext {
  const c: Record<string, string> = {};
  for (const k in touch) if (k != 't') c[k] = touchValue(touch[k]);
  return c;
}
