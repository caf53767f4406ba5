// The event queue: one versioned localStorage key shared by the site's tabs, written on enqueue
// (not only at page hide) so an event survives a redirect, a crash or a closed tab. Bounded by
// count, bytes and age. When storage is unusable (disabled, full, corrupt) it falls back to memory.
import type { Conversion } from '../../shared/conversion';
import { store } from './storage';

/** A queued event: `e` the body, `t` when queued (ms), `b` set once it went out by sendBeacon. */
export interface Item {
  e: Conversion;
  t: number;
  b?: 1;
}

export const QUEUE_KEY = 'wq_q1';
export const MAX_ITEMS = 100;
export const MAX_BYTES = 128 * 1024;
/** Events older than this are dropped unsent: a week-old conversion is no longer worth reporting. */
export const MAX_AGE = 7 * 864e5;

let mem: Item[] = [];
/** False while consent is pending or revoked: nothing is written to storage. */
let persist = true;

/** The identity of a queued event (the relay dedups on the same pair). */
export const itemKey = (i: Item): string => i.e.company_id + ' ' + i.e.event_id;

/** The stored queue; undefined when absent, unreadable or corrupt (memory is then the truth). */
function fromStorage(): Item[] | undefined {
  try {
    const v = JSON.parse(store(QUEUE_KEY)!);
    return v.map ? v : undefined;
  } catch {
    return undefined;
  }
}

/** The queued events, oldest first, expired ones left out. */
export function loadQueue(now = Date.now()): Item[] {
  if (persist) mem = fromStorage() || mem;
  return mem.filter((i) => i && now - i.t < MAX_AGE);
}

/**
 * Replaces the queue with `items`, trimmed to the count and byte bounds (oldest dropped first).
 * Expired events are left out by loadQueue, which every caller's list comes from.
 */
export function saveQueue(items: Item[]): void {
  items = items.slice(-MAX_ITEMS);
  let json = JSON.stringify(items);
  while (json.length > MAX_BYTES && items.length > 1) json = JSON.stringify((items = items.slice(1)));
  mem = items;
  // A full quota belongs to the whole origin: keep the events in memory, and remove the stale
  // stored copy so the next read falls back to memory instead of resurrecting older state.
  if (persist && !store(QUEUE_KEY, json)) store(QUEUE_KEY, null);
}

/** Appends one event. */
export function enqueue(item: Item): void {
  saveQueue([...loadQueue(), item]);
}

/** Removes the events whose keys are listed (delivered or refused for good). */
export function removeFromQueue(keys: string[]): void {
  saveQueue(loadQueue().filter((i) => !keys.includes(itemKey(i))));
}

/** Switches between storage-backed and memory-only; switching on merges held events into storage. */
export function setPersist(on: boolean): void {
  if (on != persist && (persist = on)) saveQueue([...(fromStorage() || []), ...mem]);
}

/** Forgets every queued event, in memory and in storage. */
export function clearQueue(): void {
  mem = [];
  store(QUEUE_KEY, null);
}
