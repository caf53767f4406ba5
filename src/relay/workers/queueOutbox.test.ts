// QueueOutbox and the DedupStore ledger on their own, for the paths workerd cannot be made to take
// on demand (a Queue write failing, a request dying mid-ingest, the retention purge). The ledger
// is the real DedupStore class over a small Map-backed implementation of the Durable Object
// storage API, reached through the same fetch RPC as in production; the end-to-end run in workerd
// is test/workers.test.ts.
import { describe, expect, it } from 'vitest';
import { OutboxUnavailableError, type OutboxInput } from '../lib/outbox';
import type { CfDurableObjectNamespace, CfDurableObjectStorage, CfQueue } from './cloudflare';
import { dedupClient } from './dedupClient';
import { DedupStore } from './dedupStore';
import { ledgerKey, QueueOutbox } from './queueOutbox';

/** The Durable Object storage API over a Map: sorted listing and the 128-keys-per-call limit, like the real one. */
function memoryStorage(): CfDurableObjectStorage & { alarm: number | null } {
  const map = new Map<string, unknown>();
  const limit = (n: number) => {
    if (n > 128) throw new RangeError(`${n} keys in one call; the limit is 128`);
  };
  const storage = {
    alarm: null as number | null,
    async get(key: string | string[]) {
      if (Array.isArray(key)) {
        limit(key.length);
        return new Map(key.filter((k) => map.has(k)).map((k) => [k, structuredClone(map.get(k))]));
      }
      return structuredClone(map.get(key));
    },
    async put(entries: Record<string, unknown>) {
      limit(Object.keys(entries).length);
      for (const [k, v] of Object.entries(entries)) map.set(k, structuredClone(v));
    },
    async delete(keys: string[]) {
      limit(keys.length);
      return keys.filter((k) => map.delete(k)).length;
    },
    async list(options: { prefix?: string; start?: string; limit?: number } = {}) {
      const keys = [...map.keys()].sort().filter((k) => k.startsWith(options.prefix ?? '') && (!options.start || k >= options.start));
      return new Map(keys.slice(0, options.limit ?? Infinity).map((k) => [k, structuredClone(map.get(k))]));
    },
    async getAlarm() {
      return storage.alarm;
    },
    async setAlarm(at: number) {
      storage.alarm = at;
    },
  };
  return storage as unknown as CfDurableObjectStorage & { alarm: number | null };
}

/** A namespace holding one DedupStore per name, reached through its fetch handler. */
function namespace(): CfDurableObjectNamespace & { stores: Map<string, DedupStore> } {
  const stores = new Map<string, DedupStore>();
  return {
    stores,
    idFromName: (name: string) => name,
    get(id: unknown) {
      const name = String(id);
      if (!stores.has(name)) stores.set(name, new DedupStore({ storage: memoryStorage() }));
      const store = stores.get(name)!;
      return { fetch: (input: string, init?: RequestInit) => store.fetch(new Request(input, init)) };
    },
  };
}

/** A Queue producer that records what it was sent, or rejects like an unavailable Queue. */
function queue(): CfQueue<OutboxInput> & { sent: OutboxInput[]; failing: boolean } {
  const q = {
    sent: [] as OutboxInput[],
    failing: false,
    async send(body: OutboxInput) {
      if (q.failing) throw new Error('Queue send failed');
      q.sent.push(body);
    },
    async sendBatch(messages: Iterable<{ body: OutboxInput }>) {
      if (q.failing) throw new Error('Queue sendBatch failed');
      for (const m of messages) q.sent.push(m.body);
    },
  };
  return q;
}

const input = (event_id: string, company_id = 'biz_a'): OutboxInput => ({
  company_id,
  event_name: 'lead',
  event_id,
  body: { company_id, event_id, event_name: 'lead' },
  received_at: Date.now(),
});

describe('QueueOutbox', () => {
  it('enqueues new events once, reports resends and in-batch repeats as duplicates, per company', async () => {
    const q = queue();
    const outbox = new QueueOutbox({ queue: q, dedup: namespace(), companies: ['biz_a', 'biz_b'] });
    expect(await outbox.append([input('e1'), input('e1', 'biz_b'), input('e2'), input('e1')])).toEqual([true, true, true, false]);
    expect(await outbox.append([input('e2'), input('e3')])).toEqual([false, true]);
    expect(q.sent.map((e) => `${e.company_id}/${e.event_id}`)).toEqual(['biz_a/e1', 'biz_a/e2', 'biz_b/e1', 'biz_a/e3']);
    expect(await outbox.stats()).toMatchObject({ pending: 4, delivered: 0, dead: 0 });
  });

  it('keys the ledger on (event_name, event_id): a lead and a schedule sharing an id are both enqueued', async () => {
    const q = queue();
    const outbox = new QueueOutbox({ queue: q, dedup: namespace(), companies: ['biz_a'] });
    const lead = input('same');
    const schedule: OutboxInput = { ...lead, event_name: 'schedule', body: { ...lead.body, event_name: 'schedule' } };
    expect(await outbox.append([lead, schedule])).toEqual([true, true]);
    expect(await outbox.append([schedule, lead])).toEqual([false, false]);
    expect(q.sent.map((e) => `${e.event_name}/${e.event_id}`)).toEqual(['lead/same', 'schedule/same']);
  });

  it('records a skipped event (a page view) as settled in the ledger and never enqueues it', async () => {
    const q = queue();
    const outbox = new QueueOutbox({ queue: q, dedup: namespace(), companies: ['biz_a'] });
    const page: OutboxInput = { ...input('pv'), event_name: 'page', skipped: 'page view' };
    expect(await outbox.append([page, input('l1')])).toEqual([true, true]);
    expect(await outbox.append([page])).toEqual([false]);
    expect(q.sent.map((e) => e.event_id)).toEqual(['l1']);
    expect(await outbox.stats()).toMatchObject({ pending: 1, skipped: 1 });
  });

  it('settles a message queued before the identity change under its bare event_id', () => {
    const legacy = {
      company_id: 'biz_a',
      event_id: 'old',
      body: { company_id: 'biz_a', event_id: 'old', event_name: 'lead' as const },
      received_at: 0,
    };
    expect(ledgerKey(legacy)).toBe('old');
    expect(ledgerKey(input('old'))).not.toBe('old');
  });

  it("a failed Queue write rejects with OutboxUnavailableError and frees the ids for the browser's retry", async () => {
    const q = queue();
    const outbox = new QueueOutbox({ queue: q, dedup: namespace(), companies: ['biz_a'] });
    q.failing = true;
    await expect(outbox.append([input('f1'), input('f2')])).rejects.toBeInstanceOf(OutboxUnavailableError);
    q.failing = false;
    expect(await outbox.append([input('f1'), input('f2')])).toEqual([true, true]);
    expect(q.sent.map((e) => e.event_id)).toEqual(['f1', 'f2']);
    expect((await outbox.stats()).pending).toBe(2);
  });

  it('a reservation whose request died before the Queue write lapses, so the resend is taken', async () => {
    const ns = namespace();
    const ledger = dedupClient(ns, 'biz_a');
    const now = Date.now();
    // An ingest that reserved and then vanished (no confirm, no release).
    expect(await ledger.reserve([ledgerKey(input('r1'))], now - 60_000, 30_000)).toEqual([true]);
    const q = queue();
    const outbox = new QueueOutbox({ queue: q, dedup: ns, companies: ['biz_a'], reserveMs: 30_000 });
    expect(await outbox.append([input('r1')])).toEqual([true]);
    // A live reservation, on the other hand, holds.
    expect(await ledger.reserve([ledgerKey(input('r2'))], now, 30_000)).toEqual([true]);
    expect(await outbox.append([input('r2')])).toEqual([false]);
  });

  it("takes batches larger than the storage API's 128 keys per call", async () => {
    const q = queue();
    const outbox = new QueueOutbox({ queue: q, dedup: namespace(), companies: ['biz_a'] });
    const many = Array.from({ length: 300 }, (_, i) => input(`m${i}`));
    expect((await outbox.append(many)).every(Boolean)).toBe(true);
    expect((await outbox.append(many)).some(Boolean)).toBe(false);
    expect(q.sent).toHaveLength(300);
  });

  it('dry run records events as dry_run and never touches the Queue', async () => {
    const q = queue();
    const outbox = new QueueOutbox({ queue: q, dedup: namespace(), companies: ['biz_a'], dryRun: true });
    expect(await outbox.append([input('d1'), input('d1')])).toEqual([true, false]);
    expect(q.sent).toEqual([]);
    expect(await outbox.stats()).toMatchObject({ pending: 0, dry_run: 1 });
  });
});

describe('DedupStore', () => {
  it('lets one consumer send at a time, never after the event settled, and tracks pauses', async () => {
    const ledger = dedupClient(namespace(), 'biz_a');
    const now = Date.now();
    await ledger.reserve(['s1'], now, 30_000);
    await ledger.confirm(['s1'], now);
    expect(await ledger.begin('s1', now, 10_000)).toEqual({ go: 'send', attempts: 1 });
    expect(await ledger.begin('s1', now + 1_000, 10_000)).toEqual({ go: 'busy', waitMs: 9_000 });
    // A lapsed lease (the consumer died mid-send) lets another take over.
    expect(await ledger.begin('s1', now + 11_000, 10_000)).toEqual({ go: 'send', attempts: 2 });
    await ledger.settle('s1', { kind: 'pause', at: now + 12_000, status: 401, error: 'HTTP 401: bad key' });
    expect((await ledger.stats()).paused).toMatchObject({ status: 401 });
    // Paused events stay pending and are sent again when they come back.
    expect(await ledger.begin('s1', now + 13_000, 10_000)).toEqual({ go: 'send', attempts: 3 });
    await ledger.settle('s1', { kind: 'delivered', at: now + 14_000, whop_id: 'conv_1' });
    expect(await ledger.begin('s1', now + 15_000, 10_000)).toEqual({ go: 'done' });
    expect(await ledger.stats()).toEqual({ counts: { pending: 0, delivered: 1, dead: 0, dry_run: 0, skipped: 0 }, paused: null });
  });

  it('purges settled entries past the 30-day retention and keeps pending ones', async () => {
    const ns = namespace();
    const ledger = dedupClient(ns, 'biz_a');
    const old = Date.now() - 31 * 24 * 3_600_000;
    await ledger.reserve(['old-delivered', 'old-pending', 'new-delivered'], old, 30_000);
    await ledger.confirm(['old-delivered', 'old-pending', 'new-delivered'], old);
    await ledger.begin('old-delivered', old, 10_000);
    await ledger.settle('old-delivered', { kind: 'delivered', at: old, whop_id: null });
    await ledger.begin('new-delivered', Date.now(), 10_000);
    await ledger.settle('new-delivered', { kind: 'delivered', at: Date.now(), whop_id: null });
    // Enough old settled entries that the purge spans several pages and delete calls.
    const bulk = Array.from({ length: 700 }, (_, i) => `bulk${i}`);
    await ledger.reserve(bulk, old, 30_000, true);
    await ns.stores.get('biz_a')!.alarm();
    expect((await ledger.reserve(bulk, Date.now(), 30_000, true)).every(Boolean)).toBe(true);
    expect(await ledger.reserve(['old-delivered', 'old-pending', 'new-delivered'], Date.now(), 30_000)).toEqual([true, false, false]);
    expect((await ledger.stats()).counts).toMatchObject({ delivered: 1, pending: 2, dry_run: 700 });
  });
});
