import type { RelayEvent } from './relayEvent';

/**
 * The durable outbox between ingest and the forwarder. The relay core depends only on this
 * interface, so each runtime brings its own: SQLite on Node (`node/sqliteOutbox.ts`), a
 * Cloudflare Queue on Workers, memory in unit tests.
 */
export interface Outbox {
  /**
   * Durably stores events (all or none: one transaction). Resolves only once they are on disk.
   * Returns, per event in order, `true` when it was new and `false` when its identity
   * (company_id, event_name, event_id) was already stored (a resend). Rejects with
   * `OutboxUnavailableError` when it cannot write, so
   * the handler answers 503 and the browser keeps its copy.
   */
  append(events: readonly OutboxInput[]): Promise<boolean[]>;
  /** Counts and ages for /ready, /metrics and the inspector. */
  stats(): Promise<OutboxStats>;
  /** Most recent events first, for the inspector. */
  recent(limit: number): Promise<OutboxRecord[]>;
  /** Releases files and timers. */
  close(): Promise<void>;
}

/**
 * An event's identity, as Whop counts it: one conversion per (company_id, event_name, event_id), so
 * a `lead` and a `schedule` that share an event_id are two events. The outbox is unique on it.
 */
export interface EventKey {
  company_id: string;
  event_name: string;
  event_id: string;
}

/** A field ingest repaired or left out of an event (the inspector shows them per event). */
export interface EventRepair {
  param: string;
  message: string;
}

/** An event as ingest accepted it: repaired, enriched, stored as the relay's event model. */
export interface OutboxInput extends EventKey {
  /** The event as stored (company_id, event_name and event_id included); forwarding maps it to the upstream body. */
  body: RelayEvent;
  /** Epoch ms at which the relay accepted it. */
  received_at: number;
  /**
   * Set when the event is kept but never forwarded (a page view: /conversions has no such event):
   * it is stored in the terminal state `skipped` with this as its `last_error` (the reason).
   */
  skipped?: string | null;
  /** Fields ingest repaired or left out, for the inspector. */
  dropped?: readonly EventRepair[] | null;
}

/**
 * Where an event stands: `pending` (due now or at `next_attempt_at`), `delivered`,
 * `dead` (Whop refused it for good, or it outlived the max age; `last_error` says why),
 * `dry_run` (stored but never forwarded: no API key configured), `skipped` (stored, never
 * forwarded: the upstream takes no such event, e.g. a page view; `last_error` says why).
 * Only `pending` counts as backlog.
 */
export type OutboxState = 'pending' | 'delivered' | 'dead' | 'dry_run' | 'skipped';

export interface OutboxRecord extends OutboxInput {
  state: OutboxState;
  attempts: number;
  next_attempt_at: number | null;
  delivered_at: number | null;
  /** Whop's error body (or a transport error) from the last failed attempt. */
  last_error: string | null;
  /** Whop's conversion id once delivered. */
  whop_id: string | null;
}

export interface OutboxStats {
  pending: number;
  delivered: number;
  dead: number;
  dry_run: number;
  skipped: number;
  /** Epoch ms of the oldest pending event's receipt, or null when none is pending. */
  oldest_pending_at: number | null;
  /** Events received per minute over the last hour: [epochMinuteMs, count] oldest first. */
  per_minute: Array<[number, number]>;
}

/** The store cannot take writes (disk full, read-only, closed). Ingest maps it to 503. */
export class OutboxUnavailableError extends Error {
  override name = 'OutboxUnavailableError';
}

/**
 * An outbox the forwarder pulls from (SQLite on Node). Push-style queues (Cloudflare Queues) hand
 * events to a consumer instead and do not implement this.
 */
export interface PullOutbox extends Outbox {
  /**
   * Pending events due at `now`, oldest first, at most `limit`. Each is leased for `leaseMs`: a
   * second claim does not return it again until the lease lapses (a crash mid-send retries it).
   */
  claim(now: number, limit: number, leaseMs: number): Promise<OutboxRecord[]>;
  /** Records the outcome of one attempt to forward the event with this identity (a record is a key). */
  settle(key: EventKey, outcome: Outcome): Promise<void>;
}

/** What one attempt to forward an event to Whop came to. */
export type Outcome =
  | { kind: 'delivered'; at: number; whop_id: string | null }
  | { kind: 'retry'; at: number; next_attempt_at: number; error: string }
  | { kind: 'dead'; at: number; error: string };
