import type { EventRepair, Outbox, OutboxRecord, OutboxState, OutboxStats } from '../lib/outbox';

/**
 * How the inspector labels an event. `retrying` is a pending event that has already failed at
 * least once (it waits for `next_attempt_at`); the outbox itself only knows `pending`.
 */
export type InspectorState = Exclude<OutboxState, 'pending'> | 'pending' | 'retrying';

/** One row of the inspector: the event as stored, flattened for display. */
export interface InspectorEvent {
  company_id: string;
  event_id: string;
  event_name: string;
  custom_name: string | null;
  event_time: string | null;
  received_at: number;
  state: InspectorState;
  attempts: number;
  next_attempt_at: number | null;
  delivered_at: number | null;
  last_error: string | null;
  whop_id: string | null;
  url: string | null;
  referrer_url: string | null;
  value: number | null;
  currency: string | null;
  context: Record<string, unknown>;
  user: Record<string, unknown>;
  /** Fields ingest repaired or left out of this event. */
  dropped: EventRepair[];
}

/** What `GET …/inspect/data.json` answers. */
export interface InspectorData {
  now: number;
  counts: Record<InspectorState, number>;
  oldest_pending_at: number | null;
  per_minute: Array<[number, number]>;
  events: InspectorEvent[];
}

/** The state a person cares about: a pending event that failed before is "retrying". */
export function displayState(r: Pick<OutboxRecord, 'state' | 'attempts'>): InspectorState {
  return r.state === 'pending' && r.attempts > 0 ? 'retrying' : r.state;
}

/**
 * Replaces every occurrence of each secret in `s`. The outbox never stores the API key, but an
 * upstream error message could echo a header back, and the inspector must never show it.
 */
export function redact(s: string, secrets: readonly string[]): string {
  let out = s;
  for (const secret of secrets) if (secret.length >= 4) out = out.split(secret).join('[redacted]');
  return out;
}

function _row(r: OutboxRecord): InspectorEvent {
  const b = r.body;
  return {
    company_id: r.company_id,
    event_id: r.event_id,
    event_name: b.event_name,
    custom_name: b.custom_name ?? null,
    event_time: b.event_time ?? null,
    received_at: r.received_at,
    state: displayState(r),
    attempts: r.attempts,
    next_attempt_at: r.state === 'pending' ? r.next_attempt_at : null,
    delivered_at: r.delivered_at,
    last_error: r.last_error,
    whop_id: r.whop_id,
    url: b.url ?? null,
    referrer_url: b.referrer_url ?? null,
    value: b.value ?? null,
    currency: b.currency ?? null,
    context: { ...(b.context ?? {}) },
    user: { ...(b.user ?? {}) },
    dropped: [...(r.dropped ?? [])],
  };
}

/**
 * Reads the outbox into the inspector's view: counts per state (the outbox's own counts, with
 * `retrying` split out of `pending` as far as the recent rows show it), the per-minute series and
 * the most recent events.
 */
export async function inspectorData(outbox: Outbox, limit: number, now: number): Promise<InspectorData> {
  const [stats, records]: [OutboxStats, OutboxRecord[]] = await Promise.all([outbox.stats(), outbox.recent(limit)]);
  const events = records.map(_row);
  // The outbox counts pending events as one number; the retrying ones among them are known only
  // from the rows we read, so `retrying` is a lower bound when more events exist than `limit`.
  const retrying = Math.min(stats.pending, events.filter((e) => e.state === 'retrying').length);
  return {
    now,
    counts: {
      pending: stats.pending - retrying,
      retrying,
      delivered: stats.delivered,
      dead: stats.dead,
      dry_run: stats.dry_run,
      skipped: stats.skipped,
    },
    oldest_pending_at: stats.oldest_pending_at,
    per_minute: stats.per_minute,
    events,
  };
}

/**
 * The JSON text of the data, safe to serve: secrets redacted, and `<`, `>`, `&` and the JS line
 * separators escaped so the text can never close a tag if someone ever inlines it in HTML.
 */
export function inspectorJson(data: InspectorData, secrets: readonly string[]): string {
  const json = redact(JSON.stringify(data), secrets);
  return json.replace(/[<>&\u2028\u2029]/g, (c) => '\\u' + c.charCodeAt(0).toString(16).padStart(4, '0'));
}
