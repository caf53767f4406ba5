// Crash safety of the real `whopq relay` command: a relay process killed with SIGKILL right after
// acknowledging a batch, restarted on the same data dir, delivers everything it acknowledged, and
// Whop sees no event twice. The CLI is bundled from source into a temp dir (so this test neither
// needs nor races a shared `dist/` build) and run as a child process, exactly as `bin/whopq.mjs` runs it.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it, vi } from 'vitest';
import { buildRelay, type RelayBuild } from './chaos/relayProcess';
import { startFakeWhop, type FakeWhop } from './fakeWhop';

const KEY = 'k_restart_secret_91c';
const COMPANY = 'biz_restart';
let work: string;
let relay: RelayBuild;
let whop: FakeWhop;

beforeAll(async () => {
  work = mkdtempSync(join(tmpdir(), 'whopq-restart-'));
  relay = await buildRelay();
  whop = await startFakeWhop({ apiKey: KEY });
});

afterAll(async () => {
  relay?.dispose();
  await whop?.close();
  rmSync(work, { recursive: true, force: true });
});

/** Starts `whopq relay` on an ephemeral port, forwarding to the fake, on the same data dir each time. */
const startRelay = () =>
  relay.start({ WHOP_API_KEY: KEY, WHOP_COMPANY_ID: COMPANY, WHOP_API_BASE_URL: whop.url, WHOPQ_DATA_DIR: join(work, 'data') });

function batch(from: number, n: number) {
  return Array.from({ length: n }, (_, i) => ({
    company_id: COMPANY,
    event_name: 'lead',
    event_id: `evt_restart_${from + i}`,
    event_time: new Date().toISOString(),
    action_source: 'website',
    url: `https://seller.example/p/${from + i}`,
    user: { anonymous_id: `anon_${from + i}` },
  }));
}

async function ingest(base: string, events: unknown[]) {
  const res = await fetch(`${base}/e`, { method: 'POST', headers: { 'content-type': 'text/plain' }, body: JSON.stringify({ events }) });
  return { status: res.status, body: (await res.json()) as { accepted: number; duplicates: number } };
}

it('delivers, after a SIGKILL and a restart, every event it acknowledged, none twice', async () => {
  const first = await startRelay();
  // First life: 5 events go all the way to Whop and are settled before the crash.
  expect((await ingest(first.base, batch(0, 5))).body).toMatchObject({ accepted: 5 });
  await vi.waitFor(
    async () => expect((await (await fetch(`${first.base}/ready`)).json()).queue).toMatchObject({ delivered: 5, pending: 0 }),
    { timeout: 10_000, interval: 25 },
  );
  // Then Whop stops answering, so the next sends are in flight (leased) when the process dies.
  whop.setMode('hang');
  const acked = await Promise.all([ingest(first.base, batch(100, 20)), ingest(first.base, batch(200, 20))]);
  expect(acked.map((a) => a.body.accepted)).toEqual([20, 20]);
  // Die as soon as a send is in flight (so a lease is held), moments after the 200s.
  await vi.waitFor(() => expect(whop.requests.some((r) => r.status === 0)).toBe(true), { timeout: 10_000, interval: 5 });
  await first.kill();
  expect(first.output()).not.toContain(KEY);

  whop.setMode('ok');
  const second = await startRelay();
  await vi.waitFor(() => expect(whop.conversions).toHaveLength(45), { timeout: 15_000, interval: 25 });
  expect(whop.duplicates()).toEqual([]);
  const delivered = new Set(whop.conversions.map((c) => c.body.event_id));
  for (const e of [...batch(0, 5), ...batch(100, 20), ...batch(200, 20)]) expect(delivered.has(e.event_id)).toBe(true);
  // A resend from the browser after the restart is still recognised as a duplicate.
  expect((await ingest(second.base, batch(100, 3))).body).toMatchObject({ accepted: 0, duplicates: 3 });
  await second.kill();
  expect(whop.conversions).toHaveLength(45);
  expect(second.output()).not.toContain(KEY);
});
