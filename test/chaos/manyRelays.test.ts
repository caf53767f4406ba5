// Many `whopq relay` processes on one Postgres outbox under load, as behind a load balancer: one is
// SIGKILLed and restarted, another killed for good; then the database itself is restarted mid-load.
// Clients post like the pixel (keep their copy, resend until a final answer) and, like a load
// balancer, move on to another relay when one does not answer. Whop counts one conversion per
// (company_id, event_name, event_id): every acknowledged event must be counted exactly once, and
// nothing else. A raw POST may reach Whop twice only when its send was in flight at a kill, or was
// answered by Whop while the database could not record the answer (the same key, which Whop
// deduplicates); each such resend is checked against those moments and bounded.
import { afterAll, beforeAll, expect, it } from 'vitest';
import { startFakeWhop, type FakeWhop } from '../fakeWhop';
import { startTestPostgres, type TestPostgres } from '../postgres/testPostgres';
import { COMPANY, chaosEvent, tally, until, type ChaosEvent } from './events';
import { buildRelay, type RelayBuild, type RelayChild } from './relayProcess';
import { recordScenario } from './report';
import { FULL, SCALE } from './scale';

const KEY = 'k_chaos_many_relays_3c1e';
let relayBuild: RelayBuild;
let whop: FakeWhop;
let pg: TestPostgres;

beforeAll(async () => {
  [relayBuild, whop, pg] = await Promise.all([buildRelay(), startFakeWhop({ apiKey: KEY }), startTestPostgres()]);
}, 60_000);
afterAll(async () => {
  relayBuild?.dispose();
  await whop?.close();
  await pg?.dispose();
});

const TOTAL = FULL ? 3_000 : 240;
/** A send may take this long (s); a dead relay's leases lapse after 2× this + 5 s. */
const TIMEOUT_S = FULL ? 10 : 2;
const env = (schema: string) => ({
  WHOP_API_KEY: KEY,
  WHOP_COMPANY_ID: COMPANY,
  WHOP_API_BASE_URL: whop.url,
  WHOPQ_DATABASE_URL: pg.url,
  WHOPQ_DATABASE_SCHEMA: schema,
  WHOPQ_FORWARD_TIMEOUT_SECONDS: String(TIMEOUT_S),
  WHOPQ_RATE_LIMIT: 'off',
  // A fixed 8 in flight per relay (not the adaptive limit): the bound on resends counts on it.
  WHOPQ_FORWARD_MAX_CONCURRENCY: '8',
});

/** Posts one batch to the relays in turn (a load balancer skipping a dead one) until one gives a final answer. */
async function postToAny(
  relays: () => RelayChild[],
  start: number,
  batch: ChaosEvent[],
  deadline: number,
  seen: Record<number, number>,
): Promise<number> {
  for (let attempt = 0; Date.now() < deadline; attempt++) {
    const list = relays();
    const relay = list[(start + attempt) % list.length]!;
    let status = 0;
    try {
      const res = await fetch(`${relay.base}/e`, {
        method: 'POST',
        headers: { 'content-type': 'text/plain;charset=UTF-8' },
        body: JSON.stringify({ events: batch }),
        signal: AbortSignal.timeout(5_000),
      });
      await res.text();
      status = res.status;
    } catch {
      status = 0;
    }
    seen[status] = (seen[status] ?? 0) + 1;
    if (status !== 0 && status < 500 && status !== 408 && status !== 429) return status;
    await new Promise((r) => setTimeout(r, Math.min(25 * (attempt + 1), 250)));
  }
  return 0;
}

/** The keys Whop counts, one per event, sorted. */
const keysOf = (events: ChaosEvent[]) => events.map((e) => JSON.stringify([e.company_id, e.event_name, e.event_id])).sort();

/**
 * Mean time (ms) from Whop's answer until the relays stored it, over the relays given: the window
 * in which a kill sends an answered event again.
 */
async function outcomeStoreMs(relays: RelayChild[]): Promise<number> {
  let sum = 0;
  let count = 0;
  for (const r of relays) {
    const text = await (await fetch(`${r.base}/metrics`)).text();
    sum += Number(/^whopq_outcome_store_seconds_sum (\S+)$/m.exec(text)?.[1] ?? 0);
    count += Number(/^whopq_outcome_store_seconds_count (\S+)$/m.exec(text)?.[1] ?? 0);
  }
  return count ? (sum / count) * 1000 : NaN;
}

/** Duplicates not explained by a window in which an answered send could go unrecorded. */
function unexplained(windows: Array<[number, number]>): string[] {
  const byId = new Map<string, number[]>();
  for (const c of whop.conversions) byId.set(c.body.event_id!, [...(byId.get(c.body.event_id!) ?? []), c.request.at]);
  return [...byId].filter(([, at]) => at.length > 1 && !windows.some(([from, to]) => at[0]! <= to && at[1]! >= from)).map(([id]) => id);
}

const KILL_NAME = 'Three relays on one Postgres under load: one SIGKILLed and restarted, one killed for good';
it(KILL_NAME, { timeout: FULL ? 300_000 : 90_000 }, async () => {
  whop.reset();
  const schema = 'chaos_kill';
  const relays: RelayChild[] = await Promise.all([0, 1, 2].map(() => relayBuild.start(env(schema))));
  let alive = [...relays];
  const events = Array.from({ length: TOTAL }, (_, i) => chaosEvent('many', i));
  const deadline = Date.now() + (FULL ? 240_000 : 60_000);
  const acked = new Set<string>();
  const seen: Record<number, number> = {};
  let refused = 0;

  const clients = [0, 1, 2, 3, 4, 5].map(async (c) => {
    for (let i = c * 5, n = 0; i < TOTAL; i += 30, n++) {
      const batch = events.slice(i, i + 5);
      const status = await postToAny(() => alive, c + n, batch, deadline, seen);
      if (status === 200) for (const e of batch) acked.add(e.event_id);
      else refused++;
    }
  });
  const kills: Array<[number, number]> = [];
  const outputs: string[] = [];
  const killer = (async () => {
    await until(deadline, () => acked.size >= TOTAL / 3 && whop.conversions.length > 0, 10);
    const victim = relays[1]!;
    alive = alive.filter((r) => r !== victim);
    await victim.kill();
    const at = Date.now();
    outputs.push(victim.output());
    const restarted = await relayBuild.start({ ...env(schema), PORT: String(victim.port) });
    relays[1] = restarted;
    alive.push(restarted);
    kills.push([at, at]);
    await until(deadline, () => acked.size >= (TOTAL * 2) / 3, 10);
    const gone = relays[2]!;
    alive = alive.filter((r) => r !== gone);
    await gone.kill();
    kills.push([Date.now(), Date.now()]);
    outputs.push(gone.output());
  })();
  await Promise.all([...clients, killer]);

  const ids = events.map((e) => e.event_id);
  await until(deadline + 30_000, () => tally(whop, ids).delivered === ids.length, 100);
  await until(
    deadline + 30_000,
    async () => ((await (await fetch(`${alive[0]!.base}/ready`)).json()) as { queue: { pending: number } }).queue.pending === 0,
    100,
  );
  for (const r of alive) outputs.push(r.output());
  const storeMs = await outcomeStoreMs(alive);
  await Promise.all(alive.map((r) => r.kill()));
  const t = tally(whop, ids);
  const odd = unexplained(kills);
  const counted = whop.counted();
  recordScenario({
    scenario: KILL_NAME,
    group: 'fault',
    sent: t.sent,
    delivered: t.delivered,
    duplicated: t.duplicated,
    lost: t.lost,
    notes: `${acked.size} acknowledged across 3 relays; Whop counts ${counted.size} conversions (one per event_name and event_id); ${t.duplicated} raw POSTs resent after a kill (in flight as the process died; Whop counts them once), ${odd.length} otherwise; an answer waited ${storeMs.toFixed(1)} ms on average to be stored; client saw ${JSON.stringify(seen)}`,
  });
  expect(kills).toHaveLength(2);
  expect(refused).toBe(0);
  expect(acked.size).toBe(TOTAL);
  // As Whop counts: every acknowledged event exactly once, nothing else.
  expect([...counted.keys()].sort()).toEqual(keysOf(events));
  expect({ lost: t.lost, unexplained: odd, unexpected: t.unexpected }).toEqual({ lost: 0, unexplained: [], unexpected: 0 });
  // At most the sends in flight at each kill (the forwarder's concurrency, 8) can come back.
  expect(t.duplicated).toBeLessThanOrEqual(kills.length * 8);
  for (const out of outputs) expect(out).not.toContain(KEY);
});

const DB_NAME = 'Postgres restarted under load: relays answer 503 while it is down and recover by themselves';
it(DB_NAME, { timeout: FULL ? 300_000 : 90_000 }, async () => {
  whop.reset();
  const schema = 'chaos_db';
  const relays: RelayChild[] = await Promise.all([0, 1, 2].map(() => relayBuild.start(env(schema))));
  const events = Array.from({ length: TOTAL }, (_, i) => chaosEvent('dbrestart', i));
  const deadline = Date.now() + (FULL ? 240_000 : 60_000);
  const acked = new Set<string>();
  const seen: Record<number, number> = {};
  let refused = 0;
  let readyWhileDown: number[] = [];

  const clients = [0, 1, 2, 3, 4, 5].map(async (c) => {
    for (let i = c * 5, n = 0; i < TOTAL; i += 30, n++) {
      const batch = events.slice(i, i + 5);
      const status = await postToAny(() => relays, c + n, batch, deadline, seen);
      if (status === 200) for (const e of batch) acked.add(e.event_id);
      else refused++;
    }
  });
  let down: [number, number] = [0, 0];
  const restarter = (async () => {
    await until(deadline, () => acked.size >= TOTAL / 3 && whop.conversions.length > 0, 10);
    const from = Date.now();
    await pg.stop();
    // While it is down the relays say so: /ready and ingest answer 503.
    const downFor = FULL ? 20_000 : 2_000;
    await new Promise((r) => setTimeout(r, downFor / 2));
    readyWhileDown = await Promise.all(relays.map(async (r) => (await fetch(`${r.base}/ready`)).status));
    await new Promise((r) => setTimeout(r, downFor / 2));
    await pg.start();
    // An answer Whop gave while the database was down may be recorded only after it is back.
    down = [from, Date.now() + TIMEOUT_S * 2_000 + 5_000];
  })();
  await Promise.all([...clients, restarter]);

  const ids = events.map((e) => e.event_id);
  await until(deadline + 30_000, () => tally(whop, ids).delivered === ids.length, 100);
  await until(
    deadline + 30_000,
    async () => ((await (await fetch(`${relays[0]!.base}/ready`)).json()) as { queue: { pending: number } }).queue.pending === 0,
    100,
  );
  const readyAfter = await Promise.all(relays.map(async (r) => (await fetch(`${r.base}/ready`)).status));
  const outputs = relays.map((r) => r.output());
  await Promise.all(relays.map((r) => r.kill()));
  const t = tally(whop, ids);
  const odd = unexplained([down]);
  const counted = whop.counted();
  recordScenario({
    scenario: DB_NAME,
    group: 'fault',
    sent: t.sent,
    delivered: t.delivered,
    duplicated: t.duplicated,
    lost: t.lost,
    notes: `${acked.size} acknowledged; Whop counts ${counted.size} conversions; /ready while down ${readyWhileDown.join(',')}; ${t.duplicated} raw POSTs resent (answered while the database was down), ${odd.length} otherwise; client saw ${JSON.stringify(seen)}`,
  });
  expect(refused).toBe(0);
  expect(acked.size).toBe(TOTAL);
  expect(seen[503] ?? 0).toBeGreaterThan(0);
  expect(readyWhileDown).toEqual([503, 503, 503]);
  expect(readyAfter).toEqual([200, 200, 200]);
  expect([...counted.keys()].sort()).toEqual(keysOf(events));
  expect({ lost: t.lost, unexplained: odd, unexpected: t.unexpected }).toEqual({ lost: 0, unexplained: [], unexpected: 0 });
  for (const out of outputs) expect(out).not.toContain(KEY);
});
