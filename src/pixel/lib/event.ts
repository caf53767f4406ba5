// Turns a `track` call's name and props, and `identify`'s fields, into CreateConversion fields.
//
// Field checks against the spec (types, the currency and gender lists) ship in the debug build
// only, where they name the mistake. The relay validates every event against the same schema
// (src/shared/conversion.ts) and refuses a bad one, so in the lean build the outcome of a bad call
// is the same, dropped, for 420 B gzip less (measured on dist/whopq.js). What the lean build does
// keep is the filtering of unknown keys: the relay refuses a whole event for one unknown field.
import { type Conversion, type ConversionUser, CURRENCIES, EVENT_NAMES, GENDERS, USER_FIELDS } from '../../shared/conversion';
import { warn } from './log';

/** Properties a `track` call may carry. */
export interface TrackProps {
  /** Monetary value of the conversion. */
  value?: number;
  /** ISO 4217 code from the API's list, any case (`usd`, `EUR`). */
  currency?: string;
  product_id?: string;
  plan_id?: string;
}

/** A track's event fields before company, id and context are added. */
export type Draft = Pick<Conversion, 'event_name' | 'custom_name' | 'value' | 'currency' | 'product_id' | 'plan_id'>;

const PROPS = ['value', 'currency', 'product_id', 'plan_id'];

const isObject = (v: unknown): v is Record<string, unknown> => !!v && typeof v == 'object';

/** In the debug build, why `v` is a bad value for field `k` (undefined when it is fine). */
function badValue(k: string, v: unknown): string | undefined {
  const ok =
    k == 'value' ? typeof v == 'number' && isFinite(v)
    : k == 'currency' ? (CURRENCIES as readonly string[]).includes(v as string)
    : k == 'gender' ? (GENDERS as readonly string[]).includes(v as string)
    : typeof v == 'string';
  return ok ? undefined : k + ' has a bad value ' + JSON.stringify(v);
}

/**
 * The event fields for a track: the six API names pass through, any other name becomes
 * `custom` with `custom_name`. Unknown props are left out (with a warning). A bad call gives a
 * non-object: the reason in the debug build, false in the lean one.
 */
export function draftEvent(name: unknown, props: unknown): Draft | string | false {
  if (typeof name != 'string' || !name) return __DEBUG__ && 'track needs an event name, like whopq("track", "lead")';
  const d: Record<string, unknown> = (EVENT_NAMES as readonly string[]).includes(name)
    ? { event_name: name }
    : { event_name: 'custom', custom_name: name };
  if (props != null && !isObject(props)) return __DEBUG__ && 'track props must be an object like { value: 10, currency: "usd" }';
  for (const k in props as object) {
    let v = (props as Record<string, unknown>)[k];
    if (v == null) continue;
    if (!PROPS.includes(k)) {
      __DEBUG__ && warn('ignored unknown track property "' + k + '"');
      continue;
    }
    if (k == 'currency') v = String(v).toLowerCase();
    if (__DEBUG__ && badValue(k, v)) return badValue(k, v)!;
    d[k] = v;
  }
  return d as Draft;
}

/** The API's user fields from `identify` or a track's `user` option; not an object when bad. */
export function userFields(u: unknown): ConversionUser | string | false {
  if (!isObject(u)) return __DEBUG__ && 'user data must be an object like { email: "ada@example.com" }';
  const out: Record<string, unknown> = {};
  for (const k in u) {
    const v = u[k];
    if (v == null) continue;
    // anonymous_id is the pixel's own; a page setting it would split the visitor in two.
    if (k == 'anonymous_id' || !(USER_FIELDS as readonly string[]).includes(k)) __DEBUG__ && warn('ignored unknown user field "' + k + '"');
    else if (__DEBUG__ && badValue(k, v)) return badValue(k, v)!;
    else out[k] = v;
  }
  return out;
}
