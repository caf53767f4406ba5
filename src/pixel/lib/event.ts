// Turns a `track` call's name and props, and `identify`'s fields, into CreateConversion fields.
//
// The relay validates every event against the spec's schema (src/shared/conversion.ts) and
// refuses a whole event for a field of the wrong type, so a conversion with `currency: 840` would
// be lost. A currency *string* off the API's list is different: the relay puts it in lower case
// and, if it is still not on the list, stores the event without it (and says so in `dropped`), so
// `USD`, `xyz` or `US$` never cost the conversion. The lean build therefore only makes the currency
// a string and leaves the list to the relay (the list costs 273 B gzip, a tenth of the budget,
// measured on dist/whopq.js). The debug build checks it against the list itself, to warn.
// The other checks (the gender list, value a finite number, ids strings) ship in the debug build
// only, where they name the mistake (a bad gender is left out like a bad currency, a bad type
// drops the call). Both builds filter unknown keys, which the relay would refuse as well.
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
    k == 'currency' ? (CURRENCIES as readonly string[]).includes(v as string)
    : k == 'gender' ? (GENDERS as readonly string[]).includes(v as string)
    : k == 'value' ? typeof v == 'number' && isFinite(v)
    : typeof v == 'string';
  return ok ? undefined : k + ' has a bad value ' + JSON.stringify(v);
}

/**
 * Debug build: puts a field in `out`, the currency in lower case. A bad currency or gender is left
 * out with a warning; a bad type makes the whole call bad, and its message is returned.
 */
function field(out: Record<string, unknown>, k: string, v: unknown): string | void {
  if (k == 'currency') v = String(v).toLowerCase();
  const why = badValue(k, v);
  if (!why) out[k] = v;
  else if (k == 'currency' || k == 'gender') warn(why + ', not on the API\'s list: left out, the event goes without it');
  else return why;
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
  // Lean build: a non-object's keys (a string's indices) are all unknown props, left out below.
  if (__DEBUG__ && props != null && !isObject(props)) return 'track props must be an object like { value: 10, currency: "usd" }';
  for (const k in props as object) {
    let v = (props as Record<string, unknown>)[k];
    if (v == null) continue;
    if (!PROPS.includes(k)) {
      __DEBUG__ && warn('ignored unknown track property "' + k + '"');
      continue;
    }
    if (__DEBUG__) {
      const why = field(d, k, v);
      if (why) return why;
    } else d[k] = k == 'currency' ? String(v) : v; // Lean build: the relay checks the code (above).
  }
  return d as Draft;
}

/** The API's user fields from `identify` or a track's `user` option; not an object when bad. */
export function userFields(u: unknown): ConversionUser | string | false {
  // Lean build: a non-object gives no fields (its keys, if any, are unknown ones).
  if (__DEBUG__ && !isObject(u)) return 'user data must be an object like { email: "ada@example.com" }';
  const out: Record<string, unknown> = {};
  for (const k in u as object) {
    let v = (u as Record<string, unknown>)[k];
    if (v == null) continue;
    // anonymous_id is the pixel's own; a page setting it would split the visitor in two.
    // Email trimmed and lower-cased, phone `+` and digits only (docs/PROTOCOL.md "Identity").
    if (k == 'email' || k == 'phone') v = k == 'email' ? String(v).trim().toLowerCase() : String(v).replace(/[^+\d]/g, '');
    if (k == 'anonymous_id' || !(USER_FIELDS as readonly string[]).includes(k)) __DEBUG__ && warn('ignored unknown user field "' + k + '"');
    else if (__DEBUG__) {
      const why = field(out, k, v);
      if (why) return why;
    } else out[k] = v;
  }
  return out;
}
