// Builds an event's `context` from the stored touch and the ad platforms' own first-party cookies.
import type { ConversionContext } from '../../shared/conversion';
import { getCookie } from './cookies';
import type { Touch } from './touch';

/** A cookie value's dot-separated fields from index `from`, when it has more than `min` fields. */
function fields(cookie: string | undefined, min: number, from: number): string | undefined {
  const p = cookie ? cookie.split('.') : [];
  return p.length > min ? p.slice(from).join('.') : undefined;
}

/**
 * The context for an event: touch fields, `_fbp` → fbp, `_fbc` → fbclid (when the touch has none;
 * format `fb.1.<ms>.<fbclid>`), `_ga` → ga (client id = last two fields of `GA1.1.<rand>.<ts>`),
 * `_ttp` → ttp. Never ip_address/user_agent: the relay sets those.
 */
export function buildContext(touch: Touch | undefined): ConversionContext {
  const c: Record<string, string> = {};
  // One read for the four cookies (see getCookie). Unreadable (a sandboxed frame): undefined,
  // and getCookie's own read fails inside its guard.
  let jar: string | undefined;
  try {
    jar = document.cookie;
  } catch {}
  for (const k in touch) if (k != 't' && k != 'gbraid' && k != 'wbraid') c[k] = touch[k] as string;
  // The API has a single Google click field. gbraid/wbraid (iOS-consent-mode clicks) are stored in
  // the same touch as the gclid; a gclid wins, and when only a gbraid/wbraid exists its value goes
  // in `gclid`, since that is the only place Whop reads a Google click from.
  // Empty and absent values are left out.
  const set = (k: string, v: unknown) => v && (c[k] = v as string);
  set('gclid', touch && (touch.gclid || touch.gbraid || touch.wbraid));
  set('fbp', getCookie('_fbp', jar));
  set('fbclid', c.fbclid || fields(getCookie('_fbc', jar), 3, 3));
  set('ga', fields(getCookie('_ga', jar), 3, -2));
  set('ttp', getCookie('_ttp', jar));
  return c;
}
