import { CONTEXT_FIELDS, EVENT_NAMES, USER_FIELDS, type Conversion, type EventName } from '../../shared/conversion';
import { MAX_CUSTOM_NAME, PAGE_EVENT, type RelayEvent } from './relayEvent';

/** The upstream body for one stored event, and the params of the event it had to leave out. */
export interface ConversionMapping {
  body: Conversion;
  /** Fields of the relay's event that CreateConversion has no place for (for the metric). */
  left_out: string[];
}

const _NAMES: ReadonlySet<string> = new Set(EVENT_NAMES);
const _CONTEXT: ReadonlySet<string> = new Set(CONTEXT_FIELDS);
const _USER: ReadonlySet<string> = new Set(USER_FIELDS);
const _TOP: ReadonlySet<string> = new Set([
  'action_source',
  'company_id',
  'context',
  'currency',
  'custom_name',
  'event_id',
  'event_name',
  'event_time',
  'plan_id',
  'product_id',
  'referrer_url',
  'url',
  'user',
  'value',
]);

/** Keeps only `known` keys of an object; the rest go to `left_out` as `<prefix>.<key>`. */
function _pick(from: Record<string, unknown>, known: ReadonlySet<string>, prefix: string, left_out: string[]): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const key of Object.keys(from)) {
    if (known.has(key)) out[key] = from[key];
    else left_out.push(prefix + key);
  }
  return out;
}

/**
 * Adds to `into` the params `toConversion` would leave out of this event, without building the
 * body (ingest counts them for every event it stores). Page views add nothing: they are not sent.
 */
export function conversionLeftOut(event: RelayEvent, into: string[]): void {
  if (event.event_name === PAGE_EVENT) return;
  for (const key in event) if (!_TOP.has(key)) into.push(key);
  if (event.custom_name != null && !_NAMES.has(event.event_name)) into.push('custom_name');
  if (event.context) for (const key in event.context) if (!_CONTEXT.has(key)) into.push('context.' + key);
  if (event.user) for (const key in event.user) if (!_USER.has(key)) into.push('user.' + key);
}

/**
 * Maps a stored event down to Whop's `POST /conversions` body (CreateConversion): fields the
 * endpoint lacks are left out (and named in `left_out`); a name off its list goes as `custom` with
 * the name as `custom_name`, cut to Whop's 35 characters. Returns null for a page view, which the
 * endpoint has no event for. The one place that knows the upstream shape: another upstream
 * (/events) gets a function of its own beside this one.
 */
export function toConversion(event: RelayEvent): ConversionMapping | null {
  if (event.event_name === PAGE_EVENT) return null;
  const left_out: string[] = [];
  const body = _pick(event as unknown as Record<string, unknown>, _TOP, '', left_out) as unknown as Conversion;
  if (!_NAMES.has(event.event_name)) {
    if (event.custom_name != null) left_out.push('custom_name');
    body.event_name = 'custom';
    body.custom_name = event.event_name.slice(0, MAX_CUSTOM_NAME);
  } else {
    body.event_name = event.event_name as EventName;
    if (body.custom_name != null && body.custom_name.length > MAX_CUSTOM_NAME)
      body.custom_name = body.custom_name.slice(0, MAX_CUSTOM_NAME);
  }
  if (event.context != null) body.context = _pick(event.context as Record<string, unknown>, _CONTEXT, 'context.', left_out);
  if (event.user != null) body.user = _pick(event.user as Record<string, unknown>, _USER, 'user.', left_out);
  return { body, left_out };
}
