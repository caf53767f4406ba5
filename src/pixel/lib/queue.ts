// The event queue: one localStorage key per event, shared by the site's tabs. One key each because
// localStorage is not atomic across tabs (Chromium caches it per renderer and syncs
// asynchronously): a read-modify-write of one shared array let a tab overwrite the event another
// tab had just added, and cost a parse and a rewrite of the whole queue per track. Now a write is
// one small setItem and a removal one removeItem, so no tab can undo another's write.
// `enqueue` only holds a track's builder in memory; the first read of the queue after it (`commit`,
// in the task the sender runs right after the track (whopq.ts), or at once when no later task may
// come: page hidden or left, see `setLast`) builds the events and `commit` writes them. So track()
// pays no setItem, JSON.stringify, cookie read or random id (the costly parts of a call in
// Chromium), and an event still survives a redirect, a form submit or a closed tab: each of those
// fires pagehide, whose handler builds, commits and beacons before anything else (sender.ts).
// Bounded by count, bytes and age. When storage is unusable (disabled, full) events wait in memory.
import type { Conversion } from '../../shared/conversion';
import { store, storeKeys } from './storage';

/** A queued event: `e` the body, `t` when queued (ms), `b` set once it went out by sendBeacon. */
export interface Item {
  e: Conversion;
  t: number;
  b?: 1;
}

/** Bound on the queued events, counted at each commit (memory holds a burst of one task until then). */
export const MAX_ITEMS = 500;
/** Bound on the queued events' stored values (JSON characters), summed. */
export const MAX_BYTES = 512 * 1024;
/** Events older than this are dropped unsent: a week-old conversion is no longer worth reporting. */
export const MAX_AGE = 7 * 864e5;
/** The format version: the Web Lock's name, and the start of every queued event's key. */
export const QUEUE_KEY = 'wq_q1';
/** Every queued event's key starts with this. */
export const PREFIX = QUEUE_KEY + ':';

/** Events held in memory only (consent pending, storage refused): key → stored form. */
let mem: Record<string, string> = {};
/** Tracked events not built yet, oldest first: each builder gives its event when called. */
let held: (() => Item)[] = [];
/** False while consent is pending or revoked: nothing is written to storage. */
let persist = true;
/** Set while no later task may run (the page is hidden or being left): enqueue commits at once. */
let last = false;

/**
 * An event's key: the queue time first (13 digits until the year 2286, so keys sort oldest first
 * without reading a value), then the event's identity as Whop counts it (company, id, name): a
 * lead and a schedule sharing an event_id are two events.
 */
export const itemKey = (i: Item): string => PREFIX + i.t + ':' + i.e.company_id + ':' + i.e.event_id + ':' + i.e.event_name;

/**
 * Every queued event's key (memory, and storage when persisting), oldest first. Builds the held
 * tracks first, so every reader (commit, loadQueue, the page-hide beacon) sees them whole. A
 * builder that throws loses its own event only, and nothing reaches the page (this runs in the
 * sender's tasks and listeners).
 */
function keys(): string[] {
  for (const b of held.splice(0))
    try {
      const i = b();
      mem[itemKey(i)] = JSON.stringify(i);
    } catch {}
  return [...Object.keys(mem), ...(persist ? storeKeys(PREFIX) : [])].sort();
}

/** One event's stored form, from memory or storage. */
const get = (k: string) => mem[k] || store(k);

/** Stores one event under its key, or holds it in memory when not persisting or storage refuses it. */
function put(k: string, v: string): void {
  persist && store(k, v) ? delete mem[k] : (mem[k] = v);
}

/** Removes one event from memory and storage (delivered, refused for good, expired, evicted). */
export function drop(k: string): void {
  delete mem[k];
  store(k, null);
}

/**
 * Holds a tracked event's builder, run when the queue is next read (the next `commit`, at once
 * when the page is on its way out); the caller fixes in it what must be as at the call.
 */
export function enqueue(build: () => Item): void {
  held.push(build);
  last && commit();
}

/**
 * Applies the bounds to the events held and stored (newest kept, older evicted; other tabs'
 * events count too), then writes the events held in memory to storage, one key each, when
 * persisting; what storage refuses stays held for the next commit. Bounds first, so a burst of
 * tracks in one task writes only the events that stay. Returns how many events were queued (0:
 * none; the newest always stays).
 */
export function commit(): number {
  let n = 0;
  let bytes = 0;
  for (const k of keys().reverse()) {
    bytes += (get(k) || '').length;
    // At least the newest event stays, however big.
    if (n++ && (n > MAX_ITEMS || bytes > MAX_BYTES)) drop(k);
  }
  setPersist(persist);
  return n;
}

/** While true (page hidden, or after pagehide until pageshow) every enqueue commits at once. */
export function setLast(on: boolean): void {
  if ((last = on)) commit();
}

/**
 * The queued events, oldest first. Expired events and stored values that are not an event under
 * its own key (corrupt, foreign) are removed.
 */
export function loadQueue(now = Date.now()): Item[] {
  const out: Item[] = [];
  for (let k of keys()) {
    try {
      const v = get(k)!;
      const i: Item = JSON.parse(v);
      const key = itemKey(i);
      // Queued by 0.1 under (company, id) only: moved to its key with the name.
      if (key == k + ':' + i.e.event_name) put(key, v), drop(k), (k = key);
      key == k && now - i.t < MAX_AGE ? out.push(i) : drop(k);
    } catch {
      drop(k);
    }
  }
  return out;
}

/**
 * Marks an event as beaconed, in place, unless another tab delivered and removed it meanwhile
 * (writing it back would resurrect it). A removal still on its way to this tab's copy of storage
 * can be missed; the event then goes once more with its event_id, which the relay dedups.
 */
export function markBeaconed(i: Item): void {
  const k = itemKey(i);
  i.b = 1;
  get(k) && put(k, JSON.stringify(i));
}

/**
 * Switches between storage-backed and memory-only; switching on moves held events to storage
 * (the bounds apply again at the next commit that follows an enqueue).
 */
export function setPersist(on: boolean): void {
  // Also retries events a full storage refused earlier.
  if ((persist = on)) for (const k in mem) put(k, mem[k]);
}

/** Forgets every queued event, in memory and in storage (a single-array `wq_q1` of 0.1 previews too). */
export function clearQueue(): void {
  mem = {};
  held = [];
  storeKeys(QUEUE_KEY).map(drop);
}
