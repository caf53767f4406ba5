// drainOutbox (what the Next.js drain route runs) over a lazily opened Postgres outbox and the fake
// Whop: it sends what is due with the forwarder's policy, returns once nothing is due, and a later
// run picks up the events of a run that died holding their leases.
import { randomBytes } from 'node:crypto';
import { afterEach, describe, expect, inject, it } from 'vitest';
import { drainOutbox } from '../src/relay/lib/drainOutbox';
import { lazyOutbox } from '../src/relay/lib/lazyOutbox';
import type { OutboxInput } from '../src/relay/lib/outbox';
import { createPostgresOutbox, type PostgresOutbox } from '../src/relay/postgres/postgresOutbox';
import { startFakeWhop, type FakeWhop } from './fakeWhop';

const KEY = 'k_test_drain';
const closing: Array<{ close(): Promise<void> }> = [];
afterEach(async () => {
  for (const c of closing.splice(0)) await c.close();
});

function events(n: number, prefix: string): OutboxInput[] {
  return Array.from({ length: n }, (_, i) => ({
    company_id: 'biz_a',
    event_name: 'lead',
    event_id: `${prefix}_${i}`,
    received_at: Date.now(),
    body: {
      company_id: 'biz_a',
      event_id: `${prefix}_${i}`,
      event_name: 'lead',
      action_source: 'website',
      event_time: new Date().toISOString(),
      url: 'https://seller.example/',
    },
  }));
}

describe('drainOutbox', () => {
  it("sends every due event once and stops when nothing is due; a later run takes over a dead run's leases", {
    timeout: 30_000,
  }, async () => {
    const whop: FakeWhop = await startFakeWhop({ apiKey: KEY });
    closing.push(whop);
    const schema = `drain_${randomBytes(5).toString('hex')}`;
    let opens = 0;
    const outbox = lazyOutbox(() => (opens++, createPostgresOutbox({ connectionString: inject('postgresUrl'), schema, poolSize: 2 })));
    closing.push(outbox);
    await outbox.append(events(30, 'd'));
    // A run that claimed two events and died before sending them: their lease lapses in 2 s.
    const claimedAt = Date.now();
    expect(await outbox.claim(claimedAt, 2, 2_000)).toHaveLength(2);
    const first = await drainOutbox({ outbox, apiKey: KEY, baseURL: whop.url, timeoutMs: 5_000, budgetMs: 10_000 });
    // Everything due went out (the leased two too, if the run outlasted their lease).
    expect(first).toMatchObject({ dead_lettered: 0, stopped: 'idle', paused: [] });
    expect(first.delivered).toBeGreaterThanOrEqual(28);
    await new Promise((r) => setTimeout(r, Math.max(0, claimedAt + 2_100 - Date.now())));
    const second = await drainOutbox({ outbox, apiKey: KEY, baseURL: whop.url, timeoutMs: 5_000, budgetMs: 10_000 });
    expect(second).toMatchObject({ delivered: 30 - first.delivered, stopped: 'idle', next_due_at: null });
    expect(whop.conversions).toHaveLength(30);
    expect(whop.duplicates()).toEqual([]);
    expect(await ((await outbox.opened()) as PostgresOutbox).stats()).toMatchObject({ pending: 0, delivered: 30 });
    expect(opens).toBe(1);
  });

  it('lazyOutbox tries to open again after a failed open', async () => {
    let tries = 0;
    const outbox = lazyOutbox(() =>
      ++tries === 1
        ? Promise.reject(new Error('database down'))
        : createPostgresOutbox({ connectionString: inject('postgresUrl'), schema: `lazy_${randomBytes(5).toString('hex')}` }),
    );
    closing.push(outbox);
    await expect(outbox.append(events(1, 'l'))).rejects.toThrow(/database down/);
    expect(await outbox.append(events(1, 'l'))).toEqual([true]);
    expect(tries).toBe(2);
  });
});
