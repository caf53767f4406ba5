// Several forwarders (as several relay processes would run them) on one Postgres outbox and one fake
// Whop: each event is sent once; a relay that dies mid-send leaves leases another takes over; a
// refused key and a Retry-After stop every relay, and one probe per round tests the key again.
import { randomBytes } from 'node:crypto';
import { afterEach, beforeEach, describe, expect, inject, it, vi } from 'vitest';
import { createForwarder, type Forwarder, type ForwarderOptions } from '../src/relay/lib/forwarder';
import type { OutboxInput } from '../src/relay/lib/outbox';
import { createPostgresHolds } from '../src/relay/postgres/postgresHolds';
import { createPostgresOutbox, type PostgresOutbox } from '../src/relay/postgres/postgresOutbox';
import { startFakeWhop, type FakeWhop } from './fakeWhop';

const KEY = 'k_test_many_relays';
let whop: FakeWhop;
let schema: string;
const outboxes: PostgresOutbox[] = [];
const forwarders: Forwarder[] = [];

beforeEach(async () => {
  whop = await startFakeWhop({ apiKey: KEY, retryAfter: '1' });
  schema = `many_${randomBytes(5).toString('hex')}`;
});
afterEach(async () => {
  for (const f of forwarders.splice(0)) await f.stop();
  for (const o of outboxes.splice(0)) await o.close();
  await whop.close();
});

async function relay(options: Partial<ForwarderOptions> = {}): Promise<{ outbox: PostgresOutbox; forwarder: Forwarder }> {
  const outbox = await createPostgresOutbox({ connectionString: inject('postgresUrl'), schema, poolSize: 3 });
  outboxes.push(outbox);
  const forwarder = createForwarder({
    outbox,
    apiKey: KEY,
    baseURL: whop.url,
    timeoutMs: 5_000,
    backoff: { baseMs: 20, maxMs: 100 },
    pauseProbeMs: 400,
    idlePollMs: 100,
    holds: createPostgresHolds(outbox, { cacheMs: 50 }),
    ...options,
  });
  forwarders.push(forwarder);
  return { outbox, forwarder };
}

function events(n: number, prefix: string, company_id = 'biz_a'): OutboxInput[] {
  return Array.from({ length: n }, (_, i) => {
    const event_id = `${prefix}_${i}`;
    return {
      company_id,
      event_name: 'lead',
      event_id,
      received_at: Date.now(),
      body: {
        company_id,
        event_id,
        event_name: 'lead',
        action_source: 'website',
        event_time: new Date().toISOString(),
        url: 'https://seller.example/',
        user: { anonymous_id: `anon_${i}` },
      },
    };
  });
}

const delivered = () => new Set(whop.conversions.map((c) => c.body.event_id)).size;

describe('many relays on one Postgres outbox', () => {
  it('forward each event once between them, whichever relay stored it', { timeout: 45_000 }, async () => {
    const relays = await Promise.all([relay({ concurrency: 4 }), relay({ concurrency: 4 }), relay({ concurrency: 4 })]);
    for (const r of relays) r.forwarder.start();
    for (let i = 0; i < 6; i++) await relays[i % 3]!.outbox.append(events(50, `b${i}`));
    await vi.waitFor(() => expect(delivered()).toBe(300), { timeout: 30_000, interval: 50 });
    expect(whop.duplicates()).toEqual([]);
    expect(whop.conversions).toHaveLength(300);
    await vi.waitFor(async () => expect(await relays[0]!.outbox.stats()).toMatchObject({ pending: 0, delivered: 300 }), {
      timeout: 10_000,
      interval: 50,
    });
  });

  it("take over a dead relay's leases once they lapse", async () => {
    const a = await relay({ concurrency: 2, leaseMs: 1_000 });
    // Relay A claims two events and dies before sending: its leases are left in the table.
    await a.outbox.append(events(2, 'orphan'));
    const claimedAt = Date.now();
    expect(await a.outbox.claim(claimedAt, 10, 1_000)).toHaveLength(2);
    await a.outbox.close();
    outboxes.splice(outboxes.indexOf(a.outbox), 1);
    const b = await relay({ concurrency: 2, leaseMs: 1_000 });
    b.forwarder.start();
    await vi.waitFor(() => expect(delivered()).toBe(2), { timeout: 10_000, interval: 20 });
    // Not before the lease lapsed (no send while the dead relay might still be sending).
    expect(whop.requests[0]!.at).toBeGreaterThanOrEqual(claimedAt + 1_000);
    expect(whop.duplicates()).toEqual([]);
  });

  it('pause every relay when Whop refuses the key, probe with one event per round, and resume all', { timeout: 40_000 }, async () => {
    const relays = await Promise.all([relay(), relay(), relay()]);
    await relays[0]!.outbox.append(events(30, 'p'));
    whop.setMode('401');
    for (const r of relays) r.forwarder.start();
    await vi.waitFor(() => expect(relays.every((r) => r.forwarder.status().paused.length === 1)).toBe(true), {
      timeout: 10_000,
      interval: 20,
    });
    // Sends already in flight when the pause began come back first; then probes only.
    await new Promise((r) => setTimeout(r, 600));
    const from = whop.requests.length;
    await new Promise((r) => setTimeout(r, 2_000));
    const probes = whop.requests.length - from;
    // One probe per 400 ms round across the three relays: about 5 in 2 s (each relay probing on
    // its own would make about 15).
    expect(probes).toBeGreaterThanOrEqual(1);
    expect(probes).toBeLessThanOrEqual(8);
    expect(relays.every((r) => r.forwarder.status().paused[0]?.company_id === 'biz_a')).toBe(true);
    whop.setMode('ok');
    await vi.waitFor(() => expect(delivered()).toBe(30), { timeout: 15_000, interval: 20 });
    await vi.waitFor(() => expect(relays.every((r) => r.forwarder.status().paused.length === 0)).toBe(true), {
      timeout: 5_000,
      interval: 20,
    });
    expect(whop.duplicates()).toEqual([]);
  });

  it("hold every relay's sends while Whop's Retry-After runs", async () => {
    const [a, b] = await Promise.all([relay({ concurrency: 1 }), relay({ concurrency: 1 })]);
    whop.setMode((_req, n) => (n === 1 ? '429' : 'ok'));
    await a.outbox.append(events(1, 'first'));
    a.forwarder.start();
    await vi.waitFor(() => expect(whop.requests).toHaveLength(1), { timeout: 5_000, interval: 10 });
    // B has events of its own and never met the 429 itself.
    await b.outbox.append(events(3, 'later'));
    await new Promise((r) => setTimeout(r, 100));
    b.forwarder.start();
    await vi.waitFor(() => expect(delivered()).toBe(4), { timeout: 10_000, interval: 20 });
    const limitedAt = whop.requests[0]!.at;
    expect(whop.requests.slice(1).every((r) => r.at - limitedAt >= 1000 - 5)).toBe(true);
  });
});
