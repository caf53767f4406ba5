// @vitest-environment happy-dom
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import type { Item } from './queue';
import {
  clearQueue,
  commit,
  drop,
  enqueue,
  itemKey,
  loadQueue,
  markBeaconed,
  MAX_AGE,
  MAX_BYTES,
  MAX_ITEMS,
  PREFIX,
  QUEUE_KEY,
  setLast,
  setPersist,
} from './queue';

const T0 = Date.now();
const item = (n: number, t = T0 + n, extra = ''): Item => ({
  e: { company_id: 'biz_a', event_id: 'e' + n, event_name: 'lead', url: 'https://shop.example/' + extra },
  t,
});
/** The events in storage, by key, oldest first. */
const storedKeys = () =>
  Object.keys(localStorage)
    .filter((k) => k.startsWith(PREFIX))
    .sort();
const stored = () => storedKeys().map((k) => JSON.parse(localStorage.getItem(k)!) as Item);
const ids = (items: Item[]) => items.map((i) => i.e.event_id);
const throwing = (name: string) => () => {
  throw new DOMException('refused', name);
};

/**
 * Puts a watching proxy in front of the real localStorage (the pixel reads and writes it by
 * property access, Storage's named getter and setter), recording the keys read and written;
 * `full` makes every write throw QuotaExceededError, as a full origin does.
 */
function watchStorage(full = false) {
  const real = localStorage;
  const seen = { read: [] as string[], written: [] as string[] };
  const proxy = new Proxy(real, {
    get: (t, k) => (typeof k == 'string' && seen.read.push(k), Reflect.get(t, k)),
    set: (t, k, v) => {
      if (full) throw new DOMException('full', 'QuotaExceededError');
      seen.written.push(k as string);
      return Reflect.set(t, k, v);
    },
  });
  vi.spyOn(window, 'localStorage', 'get').mockReturnValue(proxy);
  return seen;
}

/** An enqueue and the commit the sender runs in the task after it. */
const add = (i: Item) => {
  enqueue(() => i);
  commit();
};

beforeEach(() => {
  setLast(false);
  setPersist(true);
  clearQueue();
  localStorage.clear();
});
afterEach(() => vi.restoreAllMocks());

describe('queue', () => {
  it('keeps two events that share an event_id under different names (Whop counts each pair)', () => {
    const lead = item(1);
    const schedule: Item = { ...item(1), e: { ...item(1).e, event_name: 'schedule' } };
    add(lead);
    add(schedule);
    expect(
      loadQueue()
        .map((i) => i.e.event_name)
        .sort(),
    ).toEqual(['lead', 'schedule']);
  });

  it('reads an event queued under the old key (without the name) and moves it to its key', () => {
    const i = item(3);
    localStorage.setItem(`wq_q1:${i.t}:biz_a:e3`, JSON.stringify(i));
    expect(loadQueue()).toEqual([i]);
    expect(storedKeys()).toEqual([itemKey(i)]);
    drop(itemKey(i));
    expect(storedKeys()).toEqual([]);
  });

  it('writes each event under a key of its own, versioned, with time, company, event id and name', () => {
    add(item(1));
    add(item(2));
    expect(storedKeys()).toEqual([`wq_q1:${T0 + 1}:biz_a:e1:lead`, `wq_q1:${T0 + 2}:biz_a:e2:lead`]);
    expect(stored()).toEqual([item(1), item(2)]);
    expect(loadQueue().map(itemKey)).toEqual(storedKeys());
  });

  it('an enqueue only holds the event; the commit after it writes one key and reads no other event', () => {
    for (let i = 0; i < 5; i++) add(item(i));
    const seen = watchStorage();
    const parse = vi.spyOn(JSON, 'parse');
    enqueue(() => item(5));
    expect(seen.written).toEqual([]);
    expect(seen.read).toEqual([]);
    // Held in memory, it is already part of the queue this tab sends or beacons.
    expect(ids(loadQueue())).toContain('e5');
    parse.mockClear();
    seen.read.length = 0;
    commit();
    expect(seen.written).toEqual([itemKey(item(5))]);
    // The byte bound reads the other stored values' lengths; nothing is parsed or rewritten.
    expect(parse).not.toHaveBeenCalled();
    expect(seen.read.filter((k) => k.startsWith(PREFIX)).sort()).toEqual(storedKeys().filter((k) => k != itemKey(item(5))));
  });

  it('builds a held event when the queue is next read, not when it is enqueued', () => {
    let built = 0;
    enqueue(() => (built++, item(1)));
    expect(built).toBe(0);
    expect(ids(loadQueue())).toEqual(['e1']);
    commit();
    expect(built).toBe(1);
    expect(ids(stored())).toEqual(['e1']);
  });

  it('a builder that throws loses its own event only, and nothing throws to the reader', () => {
    enqueue(() => item(1));
    enqueue(() => JSON.parse('{') as Item);
    // A value JSON cannot write (a page passing a BigInt as a property) fails the same way.
    enqueue(() => ({ ...item(2), e: { ...item(2).e, value: 1n as unknown as number } }));
    enqueue(() => item(3));
    expect(() => commit()).not.toThrow();
    expect(ids(stored())).toEqual(['e1', 'e3']);
  });

  it('sees events other tabs wrote, oldest first by queue time', () => {
    add(item(5));
    // Another tab's events, written straight to storage: one older, one newer.
    for (const i of [item(1), item(9)]) localStorage.setItem(itemKey(i), JSON.stringify(i));
    expect(ids(loadQueue())).toEqual(['e1', 'e5', 'e9']);
  });

  it('removes delivered events by key and keeps the rest, including ones added meanwhile', () => {
    for (let i = 0; i < 4; i++) add(item(i));
    const batch = loadQueue().slice(0, 2);
    // Another tab adds one while the batch is in flight.
    localStorage.setItem(itemKey(item(7)), JSON.stringify(item(7)));
    batch.map(itemKey).map(drop);
    expect(ids(stored())).toEqual(['e2', 'e3', 'e7']);
  });

  it('keeps at most MAX_ITEMS, evicting the oldest at commit; a burst writes only those that stay', () => {
    add(item(-1));
    const seen = watchStorage();
    for (let i = 0; i < MAX_ITEMS + 5; i++) enqueue(() => item(i));
    commit();
    expect(seen.written).toHaveLength(MAX_ITEMS);
    vi.restoreAllMocks();
    expect(storedKeys()).toHaveLength(MAX_ITEMS);
    const q = loadQueue();
    expect(q).toHaveLength(MAX_ITEMS);
    expect(q[0].e.event_id).toBe('e5');
    expect(q.at(-1)!.e.event_id).toBe('e' + (MAX_ITEMS + 4));
  });

  it('keeps the stored values under MAX_BYTES in all, evicting the oldest at commit', () => {
    const big = 'x'.repeat(10_000);
    const n = Math.ceil(MAX_BYTES / 10_000) + 5;
    for (let i = 0; i < n; i++) add(item(i, T0 + i, big));
    const total = storedKeys().reduce((n, k) => n + localStorage.getItem(k)!.length, 0);
    expect(total).toBeLessThanOrEqual(MAX_BYTES);
    expect(total).toBeGreaterThan(MAX_BYTES - 11_000);
    expect(loadQueue().at(-1)!.e.event_id).toBe('e' + (n - 1));
    expect(loadQueue()[0].e.event_id).not.toBe('e0');
  });

  it('keeps a lone event bigger than MAX_BYTES (the newest always stays)', () => {
    add(item(1, T0, 'x'.repeat(MAX_BYTES)));
    expect(ids(loadQueue())).toEqual(['e1']);
  });

  it('drops events older than MAX_AGE and removes their keys', () => {
    const now = Date.now();
    add(item(1, now - MAX_AGE - 1));
    add(item(2, now - MAX_AGE + 60_000));
    expect(ids(loadQueue(now))).toEqual(['e2']);
    expect(ids(stored())).toEqual(['e2']);
  });

  it('ignores and removes corrupt or foreign values under its prefix, without throwing', () => {
    add(item(1));
    const bad = {
      [PREFIX + '1:biz_a:x']: '{"oops":',
      [PREFIX + '2:biz_a:y']: '{"not":"an item"}',
      [PREFIX + '3:biz_a:z']: 'null',
      // A valid event under a key that is not its own could never be removed by key.
      [PREFIX + '4:biz_a:w']: JSON.stringify(item(4)),
    };
    for (const [k, v] of Object.entries(bad)) localStorage.setItem(k, v);
    localStorage.setItem('someone_else', 'kept');
    expect(ids(loadQueue())).toEqual(['e1']);
    expect(storedKeys()).toEqual([itemKey(item(1))]);
    expect(localStorage.getItem('someone_else')).toBe('kept');
  });

  it('falls back to memory when the quota is exceeded, keeps the event, and stores it when it can', () => {
    add(item(1));
    watchStorage(true);
    expect(() => add(item(2))).not.toThrow();
    expect(ids(loadQueue())).toEqual(['e1', 'e2']);
    expect(ids(stored())).toEqual(['e1']);
    vi.restoreAllMocks();
    // The next commit (the sender's next run) retries what storage refused.
    commit();
    expect(ids(stored())).toEqual(['e1', 'e2']);
  });

  it('falls back to memory when storage is disabled altogether, bounds included', () => {
    // What browsers do when site data is blocked: reading window.localStorage throws.
    vi.spyOn(window, 'localStorage', 'get').mockImplementation(throwing('SecurityError'));
    expect(() => {
      for (let i = 0; i < MAX_ITEMS + 2; i++) add(item(i));
    }).not.toThrow();
    const q = loadQueue();
    expect(q).toHaveLength(MAX_ITEMS);
    expect(q[0].e.event_id).toBe('e2');
    expect(() => q.slice(0, 3).map(itemKey).map(drop)).not.toThrow();
    expect(loadQueue()).toHaveLength(MAX_ITEMS - 3);
    expect(() => clearQueue()).not.toThrow();
    expect(loadQueue()).toEqual([]);
  });

  it('writes nothing while not persisting, and moves held events to storage when persisting again', () => {
    setPersist(false);
    add(item(1));
    expect(ids(loadQueue())).toEqual(['e1']);
    expect(localStorage.length).toBe(0);
    setPersist(true);
    expect(ids(stored())).toEqual(['e1']);
    expect(ids(loadQueue())).toEqual(['e1']);
  });

  it('clearQueue removes every key of the queue, the single array of 0.1 previews included, in memory and not yet built too', () => {
    add(item(1));
    localStorage.setItem(QUEUE_KEY, JSON.stringify([item(2)]));
    setPersist(false);
    enqueue(() => item(3));
    let built = 0;
    enqueue(() => (built++, item(4)));
    clearQueue();
    expect(built).toBe(0);
    expect(Object.keys(localStorage).filter((k) => k.startsWith(QUEUE_KEY))).toEqual([]);
    setPersist(true);
    expect(loadQueue()).toEqual([]);
  });

  it('marks beaconed events in place, without bringing back one another tab removed', () => {
    add(item(1));
    add(item(2));
    const [a, b] = loadQueue();
    localStorage.removeItem(itemKey(b));
    markBeaconed(a);
    markBeaconed(b);
    expect(stored()).toEqual([{ ...item(1), b: 1 }]);
  });

  it('writes at once while the page is on its way out (no later task may run), and holds again after', () => {
    setLast(true);
    enqueue(() => item(1));
    expect(ids(stored())).toEqual(['e1']);
    setLast(false);
    enqueue(() => item(2));
    expect(ids(stored())).toEqual(['e1']);
    // Going out again writes what was held.
    setLast(true);
    expect(ids(stored())).toEqual(['e1', 'e2']);
  });
});
