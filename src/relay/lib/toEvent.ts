import type { EventCreateParams } from '@whop/sdk/resources/events';
import {
  EVENT_CONTEXT_FIELDS,
  EVENT_FIELDS,
  EVENT_USER_FIELDS,
  MAX_CUSTOM_NAME_LENGTH,
  PIXEL_EVENT_NAMES,
  STANDARD_EVENT_NAMES,
} from '../../shared/whopEvent';
import type { RelayEvent } from './relayEvent';

/** The `POST /events` params for one stored event (body and Idempotency-Key), and what had to be left out. */
export interface EventMapping {
  params: EventCreateParams;
  /** Fields of the relay's event that CreateEvent has no place for (for the metric). */
  left_out: string[];
}

/** Names Whop knows: standard events, the pixel's own (`page`, `leave`, `identify`) and `custom`. */
const _NATIVE: ReadonlySet<string> = new Set<string>([...STANDARD_EVENT_NAMES, ...PIXEL_EVENT_NAMES, 'custom']);
const _TOP: ReadonlySet<string> = new Set<string>(EVENT_FIELDS);
const _CONTEXT: ReadonlySet<string> = new Set<string>(EVENT_CONTEXT_FIELDS);
const _USER: ReadonlySet<string> = new Set<string>(EVENT_USER_FIELDS);

function _pick<T extends object>(from: T, known: ReadonlySet<string>, prefix: string, left_out: string[]): T {
  const out: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(from)) {
    if (known.has(key)) out[key] = value;
    else left_out.push(prefix + key);
  }
  return out as T;
}

/**
 * Maps a stored event to Whop's `POST /events` (EventCreateParams): company_id becomes account_id,
 * every field the endpoint has is sent (page views, titles, the wider context, linked visitor ids),
 * standard names go as they are, a name of the seller's own is sent as the event name, cut to Whop's
 * custom-name limit, and the event's id is the request's `Idempotency-Key`. The twin of `toConversion`.
 */
export function toEvent(event: RelayEvent): EventMapping {
  const left_out: string[] = [];
  const { company_id, event_name, context, user, ...rest } = event;
  const top = _pick(rest, _TOP, '', left_out);
  const native = _NATIVE.has(event_name);
  if (top.custom_name != null && event_name !== 'custom') {
    // Whop reads custom_name only with event_name `custom`; a named custom event carries its own name.
    delete top.custom_name;
    left_out.push('custom_name');
  }
  const params: EventCreateParams = {
    ...top,
    account_id: company_id,
    event_name: native ? event_name : event_name.slice(0, MAX_CUSTOM_NAME_LENGTH),
  };
  if (params.custom_name != null && params.custom_name.length > MAX_CUSTOM_NAME_LENGTH)
    params.custom_name = params.custom_name.slice(0, MAX_CUSTOM_NAME_LENGTH);
  if (context !== undefined) params.context = context === null ? null : _pick(context, _CONTEXT, 'context.', left_out);
  if (user !== undefined) params.user = user === null ? null : _pick(user, _USER, 'user.', left_out);
  if (event.event_id) params['Idempotency-Key'] = event.event_id;
  return { params, left_out };
}

/** Adds to `into` the params `toEvent` would leave out of this event, without building the params (ingest counts them). */
export function eventLeftOut(event: RelayEvent, into: string[]): void {
  for (const key in event) if (key !== 'company_id' && !_TOP.has(key)) into.push(key);
  if (event.custom_name != null && event.event_name !== 'custom') into.push('custom_name');
  if (event.context) for (const key in event.context) if (!_CONTEXT.has(key)) into.push('context.' + key);
  if (event.user) for (const key in event.user) if (!_USER.has(key)) into.push('user.' + key);
}
