// The Outbox / PullOutbox contract as one suite, run against every store (outboxContract.test.ts):
// SQLite, Postgres and, for the parts a push outbox has, memory. A store-specific test (group
// commit on disk, a writer thread dying, a database restart) stays next to that store.
import { afterEach, describe, expect, it } from 'vitest';
import { OutboxUnavailableError, type Outbox, type OutboxInput, type PullOutbox } from '../src/relay/lib/outbox';

export interface ContractOptions {
  dryRun?: boolean;
  maxBytes?: number;
  retainMs?: number;
}

export interface ContractStore {
  name: string;
  /** A fresh, empty store (a new file, a new Postgres schema). */
  open(options?: ContractOptions): Promise<Outbox>;
  /** The same store once more (another process on the same file or database), after `close` of the first. */
  reopen?(previous: Outbox, options?: ContractOptions): Promise<Outbox>;
  /** Whether claim/settle/prune are part of this store. */
  pull: boolean;
  /** Whether the identity includes event_name (same company and id, another name: another event). */
  identityHasName: boolean;
  /** Whether a lease held when the store closes is released on the next open (one process per store). */
  releasesLeasesOnOpen?: boolean;
  /** Whether close() makes later calls fail (memory keeps answering). Default true. */
  closes?: boolean;
}

export function event(id: string, received_at = Date.now(), company_id = 'biz_a', event_name = 'lead'): OutboxInput {
  return {
    company_id,
    event_name,
    event_id: id,
    received_at,
    body: { company_id, event_id: id, event_name, url: 'https://s.example/' } as OutboxInput['body'],
  };
}

export function describeOutboxContract(store: ContractStore): void {
  describe(`Outbox contract: ${store.name}`, () => {
    const open: Outbox[] = [];
    const outbox = async (options?: ContractOptions) => {
      const o = await store.open(options);
      open.push(o);
      return o;
    };
    const pull = async (options?: ContractOptions) => (await outbox(options)) as PullOutbox & { prune?(now?: number): Promise<number> };
    afterEach(async () => {
      for (const o of open.splice(0)) await o.close().catch(() => {});
    });

    it('resolves each concurrent append after its commit, true for new and false for a resend', async () => {
      const o = await outbox();
      const results = await Promise.all(Array.from({ length: 20 }, (_, i) => o.append([event(`e${i}a`), event(`e${i}b`)])));
      expect(results).toEqual(Array.from({ length: 20 }, () => [true, true]));
      expect((await o.stats()).pending).toBe(40);
      expect(await o.append([])).toEqual([]);
    });

    it('drops duplicates (resolving false) and never stores an event twice', async () => {
      const o = await outbox();
      expect(await o.append([event('a'), event('b')])).toEqual([true, true]);
      const [r1, r2] = await Promise.all([o.append([event('b'), event('c')]), o.append([event('c'), event('c')])]);
      // Within one group commit one of the two 'c' is first; never both, never neither.
      expect(r1[0]).toBe(false);
      expect([r1[1], r2[0]].filter(Boolean)).toHaveLength(1);
      expect(r2[1]).toBe(false);
      // The same event id under another company is another event.
      expect(await o.append([event('a', Date.now(), 'biz_b')])).toEqual([true]);
      const ids = (await o.recent(10)).map((r) => `${r.company_id}/${r.event_id}`).sort();
      expect(ids).toEqual(['biz_a/a', 'biz_a/b', 'biz_a/c', 'biz_b/a']);
      expect((await o.stats()).pending).toBe(4);
    });

    it.runIf(store.identityHasName)('keys events on (company_id, event_name, event_id)', async () => {
      const o = await outbox();
      expect(await o.append([event('x', Date.now(), 'biz_a', 'lead'), event('x', Date.now(), 'biz_a', 'purchase')])).toEqual([true, true]);
      expect(await o.append([event('x', Date.now(), 'biz_a', 'purchase')])).toEqual([false]);
      expect((await o.stats()).pending).toBe(2);
    });

    it('stores a skipped event (a page view) in its terminal state, outside the backlog, with its repairs', async () => {
      const o = await outbox();
      const page: OutboxInput = {
        ...event('pv', Date.now(), 'biz_a', 'page'),
        skipped: 'page view: not a conversion',
        dropped: [{ param: 'context.foo', message: 'unknown' }],
      };
      expect(await o.append([page, event('l')])).toEqual([true, true]);
      expect(await o.append([page])).toEqual([false]);
      expect(await o.stats()).toMatchObject({ pending: 1, skipped: 1 });
      if (store.pull) expect((await (o as PullOutbox).claim(Date.now() + 1, 10, 1000)).map((r) => r.event_id)).toEqual(['l']);
      const stored = (await o.recent(10)).find((r) => r.event_id === 'pv');
      expect(stored).toMatchObject({
        event_name: 'page',
        state: 'skipped',
        last_error: 'page view: not a conversion',
        skipped: 'page view: not a conversion',
        dropped: [{ param: 'context.foo', message: 'unknown' }],
      });
    });

    it('stores dry-run events as dry_run and never claims them', async () => {
      const o = await outbox({ dryRun: true });
      await o.append([event('a'), event('b')]);
      if (store.pull) expect(await (o as PullOutbox).claim(Date.now() + 1000, 10, 1000)).toEqual([]);
      expect(await o.stats()).toMatchObject({ pending: 0, dry_run: 2, oldest_pending_at: null });
    });

    it('reports stats and recent events', async () => {
      const o = await outbox();
      const t = Date.now();
      await o.append([event('a', t - 90_000), event('b', t - 1000), event('c', t)]);
      if (store.pull)
        await (o as PullOutbox).settle(
          { company_id: 'biz_a', event_name: 'lead', event_id: 'c' },
          { kind: 'delivered', at: t, whop_id: null },
        );
      const stats = await o.stats();
      expect(stats).toMatchObject({
        pending: store.pull ? 2 : 3,
        delivered: store.pull ? 1 : 0,
        dead: 0,
        dry_run: 0,
        oldest_pending_at: t - 90_000,
      });
      expect(stats.per_minute.reduce((n, [, c]) => n + c, 0)).toBe(3);
      expect(stats.per_minute.every(([m]) => m % 60_000 === 0)).toBe(true);
      // Asked again: the same figures (a cached minute is not counted twice).
      expect((await o.stats()).per_minute).toEqual(stats.per_minute);
      expect((await o.recent(2)).map((r) => r.event_id)).toEqual(['c', 'b']);
    });

    it.runIf(store.closes !== false)('rejects with OutboxUnavailableError once closed', async () => {
      const o = await outbox();
      await o.close();
      await expect(o.append([event('a')])).rejects.toBeInstanceOf(OutboxUnavailableError);
      await expect(o.stats()).rejects.toBeInstanceOf(OutboxUnavailableError);
    });

    if (!store.pull) return;

    it('claims due events oldest first under a lease, and settles each outcome', async () => {
      const o = await pull();
      const t = Date.now();
      await o.append([event('old', t - 2000), event('mid', t - 1000), event('new', t)]);
      const first = await o.claim(t, 2, 10_000);
      expect(first.map((r) => r.event_id)).toEqual(['old', 'mid']);
      expect(first[0]).toMatchObject({ state: 'pending', attempts: 1, next_attempt_at: t + 10_000, received_at: t - 2000 });
      expect(first[0]!.body).toEqual(event('old').body);
      // Leased: a second claim does not hand them out again.
      expect((await o.claim(t, 10, 10_000)).map((r) => r.event_id)).toEqual(['new']);
      expect(await o.claim(t, 10, 10_000)).toEqual([]);

      await o.settle({ company_id: 'biz_a', event_name: 'lead', event_id: 'old' }, { kind: 'delivered', at: t + 5, whop_id: 'conv_1' });
      await o.settle(
        { company_id: 'biz_a', event_name: 'lead', event_id: 'mid' },
        { kind: 'retry', at: t + 5, next_attempt_at: t + 500, error: 'HTTP 500' },
      );
      await o.settle(
        { company_id: 'biz_a', event_name: 'lead', event_id: 'new' },
        { kind: 'dead', at: t + 5, error: '{"error":{"type":"invalid_request_error"}}' },
      );
      // A late retry for a delivered event must not revive it.
      await o.settle(
        { company_id: 'biz_a', event_name: 'lead', event_id: 'old' },
        { kind: 'retry', at: t + 6, next_attempt_at: t + 7, error: 'late' },
      );

      const byId = Object.fromEntries((await o.recent(10)).map((r) => [r.event_id, r]));
      expect(byId.old).toMatchObject({ state: 'delivered', delivered_at: t + 5, whop_id: 'conv_1', last_error: null });
      expect(byId.mid).toMatchObject({ state: 'pending', next_attempt_at: t + 500, last_error: 'HTTP 500', attempts: 1 });
      expect(byId.new).toMatchObject({ state: 'dead', last_error: '{"error":{"type":"invalid_request_error"}}' });
      expect(await o.stats()).toMatchObject({ pending: 1, delivered: 1, dead: 1 });
      const due = o as PullOutbox & { nextDueAt?(): Promise<number | null> };
      if (due.nextDueAt) expect(await due.nextDueAt()).toBe(t + 500);
      expect(await o.claim(t + 499, 10, 1000)).toEqual([]);
      expect((await o.claim(t + 500, 10, 1000)).map((r) => [r.event_id, r.attempts])).toEqual([['mid', 2]]);
    });

    it("shares claims between companies: one seller's backlog does not hold back another's events", async () => {
      const o = await pull();
      const t = Date.now();
      // biz_busy has 50 events due since long before biz_quiet's 4.
      await o.append(Array.from({ length: 50 }, (_, i) => event(`busy${i}`, t - 100_000 + i, 'biz_busy')));
      await o.append(Array.from({ length: 4 }, (_, i) => event(`quiet${i}`, t - 10 + i, 'biz_quiet')));
      const first = await o.claim(t, 8, 60_000);
      expect(first.map((r) => r.event_id).sort()).toEqual(['busy0', 'busy1', 'busy2', 'busy3', 'quiet0', 'quiet1', 'quiet2', 'quiet3']);
      // Alternating, each company's events oldest first.
      expect(first.every((r, i) => i === 0 || r.company_id !== first[i - 1]!.company_id)).toBe(true);
      expect(first.filter((r) => r.company_id === 'biz_busy').map((r) => r.event_id)).toEqual(['busy0', 'busy1', 'busy2', 'busy3']);
      // Once the quiet company has nothing due, the whole claim goes to the busy one.
      expect((await o.claim(t, 8, 60_000)).map((r) => r.event_id)).toEqual([
        'busy4',
        'busy5',
        'busy6',
        'busy7',
        'busy8',
        'busy9',
        'busy10',
        'busy11',
      ]);
      // More companies than the claim's limit: each gets turns.
      await o.append(['biz_c', 'biz_d', 'biz_e'].map((company) => event(`x`, t, company)));
      const turns = new Set<string>();
      for (let i = 0; i < 4; i++) for (const r of await o.claim(t, 1, 60_000)) turns.add(r.company_id);
      expect(turns.size).toBeGreaterThanOrEqual(3);
    });

    it('lets a lapsed lease be claimed again', async () => {
      const o = await pull();
      const t = Date.now();
      await o.append([event('a', t)]);
      expect(await o.claim(t, 10, 60_000)).toHaveLength(1);
      expect(await o.claim(t + 59_999, 10, 60_000)).toHaveLength(0);
      expect((await o.claim(t + 60_000, 10, 60_000)).map((r) => r.attempts)).toEqual([2]);
    });

    it.runIf(!!store.reopen)('keeps what it acknowledged across a close and reopen', async () => {
      const o = await pull();
      const t = Date.now();
      await o.append([event('a', t), event('b', t + 1)]);
      await o.settle({ company_id: 'biz_a', event_name: 'lead', event_id: 'b' }, { kind: 'delivered', at: t, whop_id: null });
      expect(await o.claim(t + 10, 10, 60_000)).toHaveLength(1);
      await o.close();
      const again = (await store.reopen!(o)) as PullOutbox;
      open.push(again);
      expect(await again.stats()).toMatchObject({ pending: 1, delivered: 1 });
      // One process per store releases the dead one's leases at once; shared stores wait them out.
      const claimAt = store.releasesLeasesOnOpen ? Date.now() : t + 10 + 60_000;
      expect((await again.claim(claimAt, 10, 60_000)).map((r) => [r.event_id, r.attempts])).toEqual([['a', 2]]);
    });

    it('prunes settled events past the retention, never pending ones', async () => {
      const o = await pull({ retainMs: 60_000 });
      if (!o.prune) return;
      const t = Date.now();
      await o.append([
        event('old-delivered', t - 120_000),
        event('old-dead', t - 120_000),
        event('old-pending', t - 120_000),
        event('new-delivered', t),
      ]);
      await o.settle({ company_id: 'biz_a', event_name: 'lead', event_id: 'old-delivered' }, { kind: 'delivered', at: t, whop_id: null });
      await o.settle({ company_id: 'biz_a', event_name: 'lead', event_id: 'old-dead' }, { kind: 'dead', at: t, error: 'HTTP 400' });
      await o.settle({ company_id: 'biz_a', event_name: 'lead', event_id: 'new-delivered' }, { kind: 'delivered', at: t, whop_id: null });
      expect(await o.prune(t)).toBe(2);
      expect((await o.recent(10)).map((r) => r.event_id).sort()).toEqual(['new-delivered', 'old-pending']);
      expect(await o.stats()).toMatchObject({ pending: 1, delivered: 1, dead: 0 });
    });

    it('refuses, with OutboxUnavailableError and nothing written, a batch past the size cap', async () => {
      const o = await pull({ maxBytes: 64 * 1024 });
      await o.append([event('small')]);
      const big = (id: string): OutboxInput => ({
        ...event(id),
        body: { ...event(id).body, url: `https://s.example/${'x'.repeat(20_000)}` },
      });
      await expect(o.append([event('b5'), big('b6'), big('b7'), big('b8'), big('b9')])).rejects.toBeInstanceOf(OutboxUnavailableError);
      expect((await o.recent(10)).map((r) => r.event_id)).toEqual(['small']);
      expect(await o.append([event('after')])).toEqual([true]);
    });

    it('commits the writes queued before close, and refuses later ones', async () => {
      const o = await pull();
      const queued = o.append([event('a'), event('b')]);
      const closing = o.close();
      await expect(o.append([event('c')])).rejects.toBeInstanceOf(OutboxUnavailableError);
      expect(await queued).toEqual([true, true]);
      await closing;
      if (store.reopen) {
        const again = await store.reopen(o);
        open.push(again);
        expect((await again.recent(10)).map((r) => r.event_id).sort()).toEqual(['a', 'b']);
      }
    });
  });
}
