import { ACTION_SOURCES, CONTEXT_FIELDS, CURRENCIES, GENDERS, USER_FIELDS } from '../../shared/conversion';
import type { EventRepair } from './outbox';
import { EXTRA_CONTEXT_FIELDS, EXTRA_USER_FIELDS, LONG_FIELDS, MAX_STRING, type RelayEvent } from './relayEvent';
import { whopError, type WhopErrorBody } from './whopError';

/** What ingest makes of one posted event: the event to store and what was repaired, or why it cannot be kept. */
export type Normalized = { event: RelayEvent; dropped: EventRepair[]; error?: undefined } | { error: WhopErrorBody; event?: undefined };

/** Whop takes events up to 28 days old; an older or unreadable time is repaired to the time of receipt. */
export const MAX_EVENT_AGE_MS = 28 * 24 * 3_600_000;
/** A time further ahead than this (a browser clock set wrong) is repaired to the time of receipt. */
const _MAX_AHEAD_MS = 5 * 60_000;

const _ACTION_SOURCES: ReadonlySet<string> = new Set(ACTION_SOURCES);
const _CURRENCIES: ReadonlySet<string> = new Set(CURRENCIES);
const _GENDERS: ReadonlySet<string> = new Set(GENDERS);
const _CONTEXT: ReadonlySet<string> = new Set([...CONTEXT_FIELDS, ...EXTRA_CONTEXT_FIELDS]);
const _USER: ReadonlySet<string> = new Set([...USER_FIELDS, ...EXTRA_USER_FIELDS]);
const _TOP_STRINGS: ReadonlySet<string> = new Set(['custom_name', 'plan_id', 'product_id', 'referrer_url', 'url', 'title', 'source']);
// RFC 3339 date-time (https://datatracker.ietf.org/doc/html/rfc3339#section-5.6), what the spec's `format: date-time` means.
const _DATE_TIME = /^\d{4}-\d{2}-\d{2}[Tt]\d{2}:\d{2}:\d{2}(\.\d{1,9})?([Zz]|[+-]\d{2}:\d{2})$/;
const _NUMERIC = /^\s*[-+]?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?\s*$/;

/**
 * Every param a repair can name that is a field of the model, for metric labels: an unknown key is
 * counted as `<prefix>(unknown)` so a sender cannot grow the label set without bound.
 */
export const KNOWN_PARAMS: ReadonlySet<string> = new Set([
  'company_id',
  'event_name',
  'event_id',
  'event_time',
  'action_source',
  'currency',
  'value',
  'duration',
  'resumed',
  'context',
  'user',
  ..._TOP_STRINGS,
  ...[..._CONTEXT].map((k) => `context.${k}`),
  ...[..._USER].map((k) => `user.${k}`),
]);

const _isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);
const _shown = (key: string) => (key.length > 64 ? key.slice(0, 64) + '…' : key);

/** A string field's value: numbers become strings, long strings are cut; `undefined` = leave it out. */
function _string(v: unknown, param: string, dropped: EventRepair[]): string | null | undefined {
  let s: string;
  if (typeof v === 'string') s = v;
  else if (v === null) return null;
  else if (typeof v === 'number' && Number.isFinite(v)) s = String(v);
  else {
    dropped.push({ param, message: 'Not a string; left out.' });
    return undefined;
  }
  const max = LONG_FIELDS[param] ?? MAX_STRING;
  if (s.length > max) {
    dropped.push({ param, message: `Longer than ${max} characters; cut.` });
    s = s.slice(0, max);
  }
  return s;
}

function _number(v: unknown, param: string, dropped: EventRepair[]): number | null | undefined {
  if (typeof v === 'number' && Number.isFinite(v)) return v;
  if (v === null) return null;
  if (typeof v === 'string' && _NUMERIC.test(v)) {
    const n = Number(v);
    if (Number.isFinite(n)) return n;
  }
  dropped.push({ param, message: 'Not a number; left out.' });
  return undefined;
}

function _listed(v: unknown, list: ReadonlySet<string>, param: string, dropped: EventRepair[]): string | null | undefined {
  if (v === null) return null;
  const s = typeof v === 'string' ? v.trim().toLowerCase() : undefined;
  if (s !== undefined && list.has(s)) return s;
  dropped.push({ param, message: `Not a ${param.replace(/^user\./, '')} on the API's list; left out.` });
  return undefined;
}

/** Email trimmed and lower-cased; phone reduced to a leading `+` and digits (what matching expects). */
function _identity(key: string, s: string): string {
  if (key === 'email') return s.trim().toLowerCase();
  if (key === 'phone') return (s.trim().startsWith('+') ? '+' : '') + s.replace(/\D/g, '');
  return s;
}

function _time(v: unknown, now: number, dropped: EventRepair[]): string {
  if (v === undefined || v === null) return new Date(now).toISOString();
  let t = NaN;
  if (typeof v === 'string' && _DATE_TIME.test(v)) t = Date.parse(v);
  else if (typeof v === 'number' && Number.isFinite(v)) t = v < 1e11 ? v * 1000 : v; // epoch seconds or ms
  if (Number.isNaN(t)) {
    dropped.push({ param: 'event_time', message: 'Not an RFC 3339 date-time; set to the time of receipt.' });
    return new Date(now).toISOString();
  }
  if (t < now - MAX_EVENT_AGE_MS || t > now + _MAX_AHEAD_MS) {
    dropped.push({ param: 'event_time', message: 'More than 28 days old or in the future; set to the time of receipt.' });
    return new Date(now).toISOString();
  }
  // A valid RFC 3339 string is kept as sent (its offset too); a number becomes one.
  return typeof v === 'string' ? v : new Date(t).toISOString();
}

/** `context` or `user`: known keys kept (as strings), unknown keys and bad values left out. */
function _fields(
  v: unknown,
  param: 'context' | 'user',
  known: ReadonlySet<string>,
  dropped: EventRepair[],
): Record<string, unknown> | null | undefined {
  if (v === null) return null;
  if (!_isObject(v)) {
    dropped.push({ param, message: 'Not an object; left out.' });
    return undefined;
  }
  const out: Record<string, unknown> = {};
  for (const key in v) {
    if (!Object.prototype.hasOwnProperty.call(v, key)) continue;
    const p = `${param}.${key}`;
    if (!known.has(key)) {
      dropped.push({ param: `${param}.${_shown(key)}`, message: 'Unknown parameter; left out.' });
      continue;
    }
    const value = key === 'gender' ? _listed(v[key], _GENDERS, p, dropped) : _string(v[key], p, dropped);
    if (value === undefined) continue;
    if (typeof value === 'string' && param === 'user' && (key === 'email' || key === 'phone')) {
      const norm = _identity(key, value);
      if (!norm || norm === '+') {
        dropped.push({ param: p, message: `Not a usable ${key}; left out.` });
        continue;
      }
      out[key] = norm;
    } else out[key] = value;
  }
  return out;
}

/**
 * Makes the relay's event (`RelayEvent`) out of one posted value, keeping the event whatever one of
 * its fields holds: numeric strings become numbers and numbers strings where the model wants one,
 * over-long strings are cut, values off an enum list and unknown keys are left out, a missing,
 * unreadable or out-of-range `event_time` becomes the time of receipt, a missing `event_id` is
 * generated; each repair is listed in `dropped`. Refused only without a usable `company_id` or
 * `event_name` (a `custom` event needs a `custom_name`). The input is not changed; the output holds
 * only the model's own keys, so no prototype key survives.
 */
export function normalizeEvent(raw: unknown, now: number): Normalized {
  if (!_isObject(raw)) return { error: whopError('Each event must be a JSON object.', 'parameter_invalid', null) };
  const company = raw.company_id;
  const company_id = typeof company === 'number' && Number.isFinite(company) ? String(company) : company;
  if (typeof company_id !== 'string' || company_id.length === 0 || company_id.length > MAX_STRING) {
    return {
      error: whopError(
        'Missing or invalid company_id.',
        company_id === undefined || company_id === '' ? 'parameter_missing' : 'parameter_invalid',
        'company_id',
      ),
    };
  }
  const name = raw.event_name;
  if (typeof name !== 'string' || name.trim() === '') {
    return {
      error: whopError('Missing or invalid event_name.', name === undefined ? 'parameter_missing' : 'parameter_invalid', 'event_name'),
    };
  }
  const dropped: EventRepair[] = [];
  const event: RelayEvent = { company_id, event_name: name.length > MAX_STRING ? name.slice(0, MAX_STRING) : name };
  if (name.length > MAX_STRING) dropped.push({ param: 'event_name', message: `Longer than ${MAX_STRING} characters; cut.` });
  const out = event as unknown as Record<string, unknown>;
  for (const key in raw) {
    if (!Object.prototype.hasOwnProperty.call(raw, key)) continue;
    const v = raw[key];
    let value: unknown;
    switch (key) {
      case 'company_id':
      case 'event_name':
      case 'event_time':
        continue;
      case 'event_id':
        if (v === undefined || v === null) continue;
        value = v === '' ? undefined : _string(v, key, dropped);
        if (value === undefined) {
          if (v === '') dropped.push({ param: key, message: 'Empty; a new event_id was generated.' });
          continue;
        }
        break;
      case 'action_source':
        value = _listed(v, _ACTION_SOURCES, key, dropped);
        break;
      case 'currency':
        value = _listed(v, _CURRENCIES, key, dropped);
        break;
      case 'value':
      case 'duration':
        value = _number(v, key, dropped);
        break;
      case 'resumed':
        value = typeof v === 'boolean' || v === null ? v : v === 'true' ? true : v === 'false' ? false : undefined;
        if (value === undefined) dropped.push({ param: key, message: 'Not a boolean; left out.' });
        break;
      case 'context':
        value = _fields(v, 'context', _CONTEXT, dropped);
        break;
      case 'user':
        value = _fields(v, 'user', _USER, dropped);
        break;
      default:
        if (_TOP_STRINGS.has(key)) value = _string(v, key, dropped);
        else {
          dropped.push({ param: _shown(key), message: 'Unknown parameter; left out.' });
          continue;
        }
    }
    if (value !== undefined) out[key] = value;
  }
  if (event.event_name === 'custom' && !event.custom_name) {
    return { error: whopError('custom_name is required when event_name is custom.', 'parameter_missing', 'custom_name') };
  }
  event.event_time = _time(raw.event_time, now, dropped);
  return { event, dropped };
}
