import { cleanUrl } from './cleanUrl';
import { normalizeEvent } from './normalizeEvent';
import { type EventRepair, type OutboxInput, OutboxUnavailableError } from './outbox';
import type { Logger } from './logger';
import type { Metrics } from './metrics';
import { plainError, type PlainRequest, type PlainResponse } from './plainExchange';
import { BodyTooLargeError } from './readBody';
import { PAGE_EVENT, type RelayEvent } from './relayEvent';
import type { Upstream } from './forwardOne';
import { conversionLeftOut } from './toConversion';
import { eventLeftOut } from './toEvent';
import { storeUnavailable, whopError, type WhopErrorBody } from './whopError';

/** An event of a batch that cannot be kept, by its index in the batch. */
export interface RejectedEvent {
  index: number;
  error: WhopErrorBody;
}

/** An event of a batch that will be stored: its index, the relay's event and what was repaired. */
export interface GoodEvent {
  _index: number;
  _event: RelayEvent;
  _dropped: EventRepair[];
}

/** A parsed body: the events to take, or why the whole body is refused. */
export type ParsedBatch = { events: unknown[]; error?: undefined } | { error: WhopErrorBody; events?: undefined };

/** `{"events":[…]}` (other keys ignored) or one event object, at most `maxBatch` events. */
export function parseBatch(text: string, maxBatch: number): ParsedBatch {
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    return { error: whopError('The body is not valid JSON.', 'invalid_json') };
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed))
    return { error: whopError('The body must be {"events":[…]} or one event object.', 'parameter_invalid') };
  if (!Object.hasOwn(parsed, 'events')) return { events: [parsed] };
  // Other keys beside `events` are ignored: no event is lost for what the envelope carried.
  const list = (parsed as { events: unknown }).events;
  if (!Array.isArray(list)) return { error: whopError('events must be an array.', 'parameter_invalid', 'events') };
  if (list.length === 0) return { error: whopError('events is empty.', 'parameter_missing', 'events') };
  if (list.length > maxBatch) return { error: whopError(`At most ${maxBatch} events a batch.`, 'batch_too_large', 'events') };
  return { events: list };
}

/** Why a body could not be read: 413 past `maxBodyBytes`, else 400 (the client went away or sent a broken stream). */
export function bodyReadError(error: unknown, maxBodyBytes: number): { status: 400 | 413; error: WhopErrorBody } {
  return error instanceof BodyTooLargeError
    ? { status: 413, error: whopError(`The body is larger than ${maxBodyBytes} bytes.`, 'body_too_large') }
    : { status: 400, error: whopError('The request body could not be read.', 'body_unreadable') };
}

/**
 * The answer when the store failed an append: logged by the error's name (never the events'
 * data) and counted; a client retries after `retryAfter` seconds, so nothing is lost.
 */
export function storeFailed(
  logger: Logger,
  metrics: Metrics,
  what: string,
  events: number,
  error: unknown,
  retryAfter: number,
): PlainResponse {
  logger.error(`${what}: outbox append failed`, {
    events,
    error: error instanceof OutboxUnavailableError ? error.message : String((error as Error)?.name ?? error),
  });
  metrics.inc('store_errors_total');
  return plainError(503, storeUnavailable(), {}, { 'retry-after': String(retryAfter) });
}

/**
 * Reads a body within `maxBodyBytes` and parses it (`parseBatch`): the events, or the status and
 * error that refuse the whole request (413 past the limit, 400 for a body that is unreadable or no batch).
 */
export async function readBatch(
  request: PlainRequest,
  maxBodyBytes: number,
  maxBatch: number,
): Promise<{ events: unknown[]; status?: undefined; error?: undefined } | { status: 400 | 413; error: WhopErrorBody; events?: undefined }> {
  let text: string;
  try {
    text = await request.text(maxBodyBytes);
  } catch (error) {
    return bodyReadError(error, maxBodyBytes);
  }
  const batch = parseBatch(text, maxBatch);
  return batch.error ? { status: 400, error: batch.error } : { events: batch.events };
}

/**
 * Normalizes every event of a batch (`normalizeEvent`), refuses those for a company the relay does
 * not serve, and strips fragments and personal-data parameters from the URLs (`cleanUrl`). The one
 * path the browser endpoint and the server endpoint share before their own enrichment.
 */
export function prepareEvents(
  events: readonly unknown[],
  now: number,
  companies: ReadonlySet<string> | null,
  isPii: (name: string) => boolean,
): { good: GoodEvent[]; rejected: RejectedEvent[]; dropped: Array<EventRepair & { index: number }> } {
  const rejected: RejectedEvent[] = [];
  const dropped: Array<EventRepair & { index: number }> = [];
  const good: GoodEvent[] = [];
  events.forEach((raw, index) => {
    const result = normalizeEvent(raw, now);
    if (result.error) {
      rejected.push({ index, error: result.error });
      return;
    }
    const e = result.event;
    if (companies && !companies.has(e.company_id)) {
      rejected.push({
        index,
        error: whopError('This relay does not accept events for that company.', 'company_not_allowed', 'company_id'),
      });
      return;
    }
    for (const f of result.dropped) dropped.push({ index, ...f });
    good.push({ _index: index, _event: e, _dropped: result.dropped });
  });
  // URLs as stored and forwarded: no fragment, no parameter that looks like personal data.
  for (const g of good) {
    for (const key of ['url', 'referrer_url'] as const) {
      const v = g._event[key];
      if (typeof v !== 'string' || (!v.includes('#') && !v.includes('?'))) continue;
      const cleaned = cleanUrl(v, isPii);
      g._event[key] = cleaned.url;
      if (cleaned.removed.length) {
        const repair = {
          param: key,
          message: `Query parameter${cleaned.removed.length > 1 ? 's' : ''} ${cleaned.removed.map((n) => JSON.stringify(n.slice(0, 40))).join(', ')} removed (personal data or a secret).`,
        };
        g._dropped.push(repair);
        dropped.push({ index: g._index, ...repair });
      }
    }
  }
  return { good, rejected, dropped };
}

/** The answer for a batch none of whose events can be kept: 403 when every one was for a company not served. */
export function refusedBatch(count: number, rejected: readonly RejectedEvent[]): { status: number; error: WhopErrorBody } {
  const first = rejected[0]!;
  return {
    status: rejected.every((r) => r.error.code === 'company_not_allowed') ? 403 : 400,
    error: count === 1 ? first.error : whopError(`All ${count} events were rejected; see rejected.`, first.error.code, first.error.param),
  };
}

/**
 * The outbox row for an enriched event: an event_id generated when missing, page views skipped for
 * /conversions. `leftOut`, when given, gets the fields the upstream has no place for (for metrics).
 */
export function outboxInput(body: RelayEvent, dropped: EventRepair[], now: number, upstream: Upstream, leftOut?: string[]): OutboxInput {
  if (!body.event_id) body.event_id = crypto.randomUUID();
  const input: OutboxInput = { company_id: body.company_id, event_name: body.event_name, event_id: body.event_id, body, received_at: now };
  if (dropped.length) input.dropped = dropped;
  if (upstream !== 'events' && body.event_name === PAGE_EVENT)
    input.skipped = 'page view: stored, not a conversion (never sent to /conversions)';
  else if (leftOut) (upstream === 'events' ? eventLeftOut : conversionLeftOut)(body, leftOut);
  return input;
}
