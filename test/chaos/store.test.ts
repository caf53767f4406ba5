// The store stops taking writes (the disk is full): the relay answers 503 with Retry-After, the
// client keeps its copy and resends, and once space is back everything acknowledged reaches Whop
// once. "Disk full" is real SQLite behaviour: the outbox has a size cap (`maxBytes`, SQLite's
// max_page_count) and the stream itself fills it; space comes back when the relay prunes settled
// events (`prune()`, here with a 1 ms retention), as an operator freeing the disk would.
import Database from 'better-sqlite3';
import { afterEach, expect, it } from 'vitest';
import { chaosEvent, sendUntilFinal, tally, until, type ChaosEvent } from './events';
import { recordScenario } from './report';
import { startStack, type ChaosStack } from './relayStack';
import { SCALE, SCENARIO_TIMEOUT } from './scale';

const CAP = 192 * 1024;
let stack: ChaosStack | undefined;
afterEach(async () => {
  await stack?.close();
  stack = undefined;
});

const NAME = 'Store not writable (disk full): 503, the client resends, nothing acknowledged lost';

it(NAME, { timeout: SCENARIO_TIMEOUT }, async () => {
  stack = await startStack({ outbox: { maxBytes: CAP, retainMs: 1 } });
  const s = stack;
  // Set once the store is full: how long filling takes depends on the machine, not on the relay.
  let deadline = Date.now() + SCENARIO_TIMEOUT;
  const sent: ChaosEvent[] = [];
  const acked = new Set<string>();
  const seen: Record<number, number> = {};
  const count = (status: number, n = 1) => (seen[status] = (seen[status] ?? 0) + n);
  let next = 0;
  const batch = (n: number) => {
    const b = Array.from({ length: n }, () => chaosEvent('full', next++));
    sent.push(...b);
    return b;
  };
  const post = async (b: ChaosEvent[]) => {
    const r = await sendUntilFinal(`${s.base}/e`, b, { deadline });
    for (const [k, n] of Object.entries(r.seen)) count(Number(k), n);
    if (r.status === 200) for (const e of b) acked.add(e.event_id);
    return r;
  };
  const rows = async () => {
    const st = await s.outbox.stats();
    return st.pending + st.delivered + st.dead;
  };

  // Fill: the stream goes in until the store refuses (bounded). The refused batch is the first
  // "during" batch: its client keeps it and resends below.
  let refused: ChaosEvent[] | null = null;
  let probe: { status: number; retryAfter: string | null; body: unknown } | null = null;
  for (let i = 0; i < 500 && !refused; i++) {
    const b = batch(10);
    const res = await fetch(`${s.base}/e`, {
      method: 'POST',
      headers: { 'content-type': 'text/plain' },
      body: JSON.stringify({ events: b }),
    });
    count(res.status);
    const body = await res.json();
    if (res.status === 200) for (const e of b) acked.add(e.event_id);
    else (refused = b), (probe = { status: res.status, retryAfter: res.headers.get('retry-after'), body });
  }
  expect(probe).toMatchObject({
    status: 503,
    retryAfter: '5',
    body: { error: { type: 'service_unavailable', code: 'store_unavailable' } },
  });
  deadline = Date.now() + SCALE.outageMs + SCALE.drainMs;
  const rowsWhenFull = await rows();
  // All or nothing: no event of the refused batch was written.
  const reader = new Database(s.dbPath, { readonly: true });
  const stored = reader
    .prepare(`SELECT count(*) AS n FROM events WHERE event_id IN (${refused!.map(() => '?').join(',')})`)
    .get(...refused!.map((e) => e.event_id)) as { n: number };
  reader.close();
  expect(stored.n).toBe(0);

  // During: the stream keeps coming; every client keeps resending until the store is back.
  const during = [post(refused!)];
  const started = Date.now();
  while (Date.now() - started < SCALE.outageMs) {
    during.push(post(batch(5)));
    await new Promise((r) => setTimeout(r, Math.max(50, SCALE.outageMs / 20)));
  }
  const rowsWhileFull = await rows();
  const pendingWhileFull = (await s.outbox.stats()).pending;
  // Space comes back: what is settled (delivered) is pruned, and pruned again as the forwarder
  // settles more (on a loaded machine little may be delivered yet at the first prune, and a
  // store still full would keep every client at 503 until the deadline).
  let pruned = await s.outbox.prune();
  const healed = Date.now();
  let settled = false;
  const clients = Promise.all(during).finally(() => (settled = true));
  while (!settled && Date.now() < deadline) {
    await new Promise((r) => setTimeout(r, 250));
    pruned += await s.outbox.prune();
  }
  await clients;
  for (let i = 0; i < 4; i++) await post(batch(5));

  const ids = sent.map((e) => e.event_id);
  await until(deadline, async () => tally(s.whop, ids).delivered === ids.length && (await s.outbox.stats()).pending === 0, 100);
  const t = tally(s.whop, ids);
  const drainMs = Date.now() - healed;
  const delivered = new Set(s.whop.conversions.map((c) => c.body.event_id));
  const lostAcked = [...acked].filter((id) => !delivered.has(id));
  recordScenario({
    scenario: NAME,
    group: 'fault',
    sent: t.sent,
    delivered: t.delivered,
    duplicated: t.duplicated,
    lost: t.lost,
    notes: `relay answered ${Object.entries(seen)
      .map(([k, n]) => `${k === '0' ? 'network error' : k}×${n}`)
      .join(
        ', ',
      )}; store full at ${rowsWhenFull} rows (${rowsWhileFull} at the end of the outage, ${pendingWhileFull} of them pending), ${pruned} pruned to make room; drained ${(drainMs / 1000).toFixed(1)} s after`,
  });

  expect(seen[503] ?? 0).toBeGreaterThan(1);
  expect(acked.size).toBe(sent.length);
  expect({ lost: t.lost, lostAcked, duplicated: t.duplicated, unexpected: t.unexpected }).toEqual({
    lost: 0,
    lostAcked: [],
    duplicated: 0,
    unexpected: 0,
  });
});
