// Turns a `track` call's name and props, and `identify`'s fields, into event fields.
//
// The relay keeps an event for anything but a missing company or name (docs/PROTOCOL.md
// "Tolerant fields"): it converts numeric strings and numbers where the API wants the other, cuts
// over-long strings, leaves out unknown keys and values off the API's lists, and lists each in
// `dropped`. So the lean build passes the props and user fields as given (what it must fix is
// that its own fields win: the name, company, ids, context) and leaves every list to the relay:
// the lists of names, props, user fields and currencies cost ~240 B gzip, two thirds of what
// issues 11 and 12 add. Any name goes as itself; the relay maps the ones `/conversions` lacks to
// `custom` + `custom_name`; it also normalises email and phone (trimmed, lower-cased; `+` and
// digits) for every event. Each user value is a string cut to 255 here, since identify persists
// them. The debug build checks every field against the API's lists to warn; it sends what the
// lean build sends.
import { type Conversion, type ConversionUser, CURRENCIES, EVENT_NAMES, GENDERS, USER_FIELDS } from '../../shared/conversion';
import { log, warn } from './log';

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

// `title` and `resumed`: a page view's (the pixel's own `page` events).
/** Whop's longest custom event name (`custom_name`, spec/whop-events.openapi.yml). */
export const MAX_CUSTOM_NAME = 35;

const PROPS = ['value', 'currency', 'product_id', 'plan_id', 'title', 'resumed'];

const isObject = (v: unknown): v is Record<string, unknown> => !!v && typeof v == 'object';

/** In the debug build, why `v` is a bad value for field `k` (undefined when it is fine). */
function badValue(k: string, v: unknown): string | undefined {
  const ok =
    k == 'currency'
      ? (CURRENCIES as readonly string[]).includes(String(v).toLowerCase())
      : k == 'gender'
        ? (GENDERS as readonly string[]).includes(v as string)
        : k == 'value'
          ? isFinite(v as number)
          : typeof v == 'string' || typeof v == 'number';
  return ok ? undefined : k + ' has a bad value ' + JSON.stringify(v) + ': the relay repairs it or leaves it out (see `dropped`)';
}

/** Debug build: warns about each field the relay will leave out or repair. */
function check(o: Record<string, unknown>, known: readonly string[], what: string): void {
  if (__DEBUG__)
    for (const k in o) {
      if (!known.includes(k)) warn('unknown ' + what + ' "' + k + '": the relay leaves it out');
      else {
        const why = badValue(k, o[k]);
        why && warn(why);
      }
    }
}

/**
 * The event fields for a track: the name as given (the relay maps names off the API's list to
 * `custom`), then the props. False for a call without a usable name (the debug build says why).
 */
export function draftEvent(name: unknown, props: unknown): Draft | string | false {
  if (typeof name != 'string' || !name) return __DEBUG__ && 'track needs an event name, like whopq("track", "lead")';
  if (__DEBUG__ && props != null && !isObject(props)) return 'track props must be an object like { value: 10, currency: "usd" }';
  let p: Record<string, unknown> | undefined;
  // Through JSON now: a prop JSON cannot write (a BigInt, a cycle: a DOM event passed as props)
  // costs the props, never the event. The name after them: a prop cannot rename the event.
  try {
    p = JSON.parse(JSON.stringify(props || 0));
  } catch {
    __DEBUG__ && warn('track props JSON cannot write (a BigInt, a cycle): the event goes without them');
  }
  if (__DEBUG__) {
    check(p || {}, PROPS, 'track property');
    EVENT_NAMES.includes(name as never) ||
      name == 'page' ||
      log('"' + name + '" is not one of the six /conversions names: the relay sends it there as custom');
    // Whop's limit on a custom event's name (both APIs): the relay cuts it, and cut names can collide.
    name.length > MAX_CUSTOM_NAME &&
      warn(
        'event name "' +
          name +
          '" is longer than Whop\'s ' +
          MAX_CUSTOM_NAME +
          ' characters: the relay cuts it to "' +
          name.slice(0, MAX_CUSTOM_NAME) +
          '"',
      );
  }
  return { ...p, event_name: name } as Draft;
}

/**
 * The user fields from `identify` or a track's `user` option, each a string of at most 255;
 * `anonymous_id` is the pixel's own (a page setting it would split the visitor in two).
 */
export function userFields(u: unknown): ConversionUser | string | false {
  if (__DEBUG__ && !isObject(u)) return 'user data must be an object like { email: "ada@example.com" }';
  const out: Record<string, unknown> = {};
  for (const k in u as object) {
    const v = (u as Record<string, unknown>)[k];
    if (v == null || k == 'anonymous_id') continue;
    // Cut: identify persists the fields, and no API field is longer. The relay normalises email
    // and phone (and types) for every event.
    out[k] = String(v).slice(0, 255);
  }
  __DEBUG__ && check(out, USER_FIELDS, 'user field');
  return out;
}
