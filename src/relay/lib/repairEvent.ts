import { CURRENCIES, GENDERS } from '../../shared/conversion';

/** A field ingest left out of an event instead of refusing the whole event. */
export interface DroppedField {
  param: string;
  message: string;
}

const _CURRENCIES: ReadonlySet<string> = new Set(CURRENCIES);
const _GENDERS: ReadonlySet<string> = new Set(GENDERS);

/**
 * Fixes or removes the optional descriptive fields whose bad value would otherwise make Whop refuse
 * the whole conversion: `currency` (`USD` is put in lower case, a code not on the API's list is
 * left out) and `user.gender` (likewise). A lead is worth more than its currency: refusing the event
 * would lose the conversion, which the browser then drops for good. Only these two: every other
 * field is either structural (names, ids, times) or free text, and validateEvent judges it as it is.
 * Runs before validateEvent, on a parsed body the caller owns (it is changed in place). Returns what
 * was left out, for the answer's `dropped` list and the metrics.
 */
export function repairEvent(event: unknown): DroppedField[] {
  const dropped: DroppedField[] = [];
  if (typeof event !== 'object' || event === null || Array.isArray(event)) return dropped;
  const e = event as { currency?: unknown; user?: unknown };
  if (typeof e.currency === 'string') {
    const lower = e.currency.toLowerCase();
    if (_CURRENCIES.has(lower)) e.currency = lower;
    else {
      delete e.currency;
      dropped.push({ param: 'currency', message: 'Not a currency on the API\'s list; the event was kept without it.' });
    }
  }
  const user = e.user;
  if (typeof user === 'object' && user !== null && !Array.isArray(user)) {
    const u = user as { gender?: unknown };
    if (typeof u.gender === 'string') {
      const lower = u.gender.toLowerCase();
      if (_GENDERS.has(lower)) u.gender = lower;
      else {
        delete u.gender;
        dropped.push({ param: 'user.gender', message: 'Not a gender on the API\'s list; the event was kept without it.' });
      }
    }
  }
  return dropped;
}
