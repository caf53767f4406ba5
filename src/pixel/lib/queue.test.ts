// @vitest-environment happy-dom
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import type { Item } from './queue';
import { clearQueue, enqueue, itemKey, loadQueue, MAX_AGE, MAX_BYTES, MAX_ITEMS, QUEUE_KEY, removeFromQueue, saveQueue, setPersist } from './queue';

const item = (n: number, t = Date.now(), extra = ''): Item => ({
  e: { company_id: 'biz_a', event_id: 'e' + n, event_name: 'lead', url: 'https://shop.example/' + extra },
  t,
});
const stored = () => JSON.parse(localStorage.getItem(QUEUE_KEY) || '[]') as Item[];

beforeEach(() => {
  setPersist(true);
  clearQueue();
  localStorage.clear();
});
afterEach(() => vi.restoreAllMocks());

describe('queue', () => {
  it('writes every enqueue to the versioned key at once', () => {
    enqueue(item(1));
    enqueue(item(2));
    expect(stored().map((i) => i.e.event_id)).toEqual(['e1', 'e2']);
    expect(loadQueue().map(itemKey)).toEqual(['biz_a e1', 'biz_a e2']);
  });

  it('sees events other tabs wrote', () => {
    enqueue(item(1));
    localStorage.setItem(QUEUE_KEY, JSON.stringify([...stored(), item(2)]));
    expect(loadQueue()).toHaveLength(2);
  });

  it('removes delivered events by key and keeps the rest', () => {
    for (let i = 0; i < 4; i++) enqueue(item(i));
    removeFromQueue(['biz_a e1', 'biz_a e3']);
    expect(stored().map((i) => i.e.event_id)).toEqual(['e0', 'e2']);
  });

  it('keeps at most MAX_ITEMS, dropping the oldest', () => {
    saveQueue(Array.from({ length: MAX_ITEMS + 5 }, (_, i) => item(i)));
    const q = loadQueue();
    expect(q).toHaveLength(MAX_ITEMS);
    expect(q[0].e.event_id).toBe('e5');
  });

  it('keeps the stored JSON under MAX_BYTES, dropping the oldest', () => {
    const big = 'x'.repeat(10_000);
    saveQueue(Array.from({ length: 20 }, (_, i) => item(i, Date.now(), big)));
    expect(localStorage.getItem(QUEUE_KEY)!.length).toBeLessThanOrEqual(MAX_BYTES);
    expect(loadQueue().at(-1)!.e.event_id).toBe('e19');
  });

  it('drops events older than MAX_AGE', () => {
    const now = Date.now();
    saveQueue([item(1, now - MAX_AGE - 1), item(2, now - MAX_AGE + 60_000)]);
    expect(loadQueue(now).map((i) => i.e.event_id)).toEqual(['e2']);
  });

  it('treats corrupt or foreign JSON as no stored queue, without throwing', () => {
    localStorage.setItem(QUEUE_KEY, '{"oops":');
    expect(loadQueue()).toEqual([]);
    localStorage.setItem(QUEUE_KEY, '{"not":"an array"}');
    expect(loadQueue()).toEqual([]);
    enqueue(item(1));
    expect(stored()).toHaveLength(1);
  });

  it('falls back to memory when the quota is exceeded, and keeps the event', () => {
    enqueue(item(1));
    vi.spyOn(Storage.prototype, 'setItem').mockImplementation(() => {
      throw new DOMException('full', 'QuotaExceededError');
    });
    expect(() => enqueue(item(2))).not.toThrow();
    expect(loadQueue().map((i) => i.e.event_id)).toEqual(['e1', 'e2']);
  });

  it('falls back to memory when storage is disabled altogether', () => {
    vi.spyOn(Storage.prototype, 'getItem').mockImplementation(() => {
      throw new DOMException('denied', 'SecurityError');
    });
    vi.spyOn(Storage.prototype, 'setItem').mockImplementation(() => {
      throw new DOMException('denied', 'SecurityError');
    });
    expect(() => enqueue(item(1))).not.toThrow();
    expect(loadQueue().map((i) => i.e.event_id)).toEqual(['e1']);
  });

  it('writes nothing while not persisting, and merges held events when persisting again', () => {
    setPersist(false);
    enqueue(item(1));
    expect(localStorage.getItem(QUEUE_KEY)).toBeNull();
    setPersist(true);
    expect(stored().map((i) => i.e.event_id)).toEqual(['e1']);
  });
});
