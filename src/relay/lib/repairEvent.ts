import { CURRENCIES, GENDERS } from '../../shared/conversion';

/** A field ingest left out of an event instead of refusing the whole event. */
export interface DroppedField {
  param: string;
  message: string;
}

const _CURRENCIES: ReadonlySet<string> = new Set(CURRENCIES);
const _GENDERS: ReadonlySet<string> = new Set(GENDERS);

/** Puts `holder[key]` in lower case when that is on `list`, else removes it and says so in `dropped`. */
function _fix(holder: Record<string, unknown>, key: string, list: ReadonlySet<string>, param: string, dropped: DroppedField[]): void {
  const v = holder[key];
  if (typeof v !== 'string') return; // absent, or of the wrong type: validateEvent's to judge
  const lower = v.toLowerCase();
  if (list.has(lower)) holder[key] = lower;
  else {
    delete holder[key];
    dropped.push({ param, message: `Not a ${key} on the API's list; the event was kept without it.` });
  }
}

const _isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

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
  if (!_isObject(event)) return dropped;
  _fix(event, 'currency', _CURRENCIES, 'currency', dropped);
  if (_isObject(event.user)) _fix(event.user, 'gender', _GENDERS, 'user.gender', dropped);
  return dropped;
}
