// The outside security review's findings (issue 17), replayed against the real `whopq relay`
// process: foreign companies cannot take the relay out of readiness, one refused event does not stop
// a company, slow and idle clients from one address do not block others, /ready stays cheap on a
// big store, a client's own forwarding header is not believed behind a proxy, and relays starting
// at once on one data directory cannot both win. Loopback only.
import { mkdtempSync, rmSync } from 'node:fs';
import { connect, type Socket } from 'node:net';
import { availableParallelism, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SqliteOutbox } from '../../src/relay/node/sqliteOutbox';
import { startFakeWhop, type FakeWhop } from '../fakeWhop';
import { COMPANY, chaosEvent, until } from './events';
import { rawRequest } from './rawRequest';
import { buildRelay, type RelayBuild, type RelayChild } from './relayProcess';
import { recordScenario } from './report';
import { FULL } from './scale';

const KEY = 'k_chaos_hardening_2b9d';
const PROXY = '127.0.0.9';
let relayBuild: RelayBuild;
let whop: FakeWhop;
const dirs: string[] = [];
const dir = () => (dirs.push(mkdtempSync(join(tmpdir(), 'whopq-chaos-hard-'))), dirs.at(-1)!);
const post = (base: string, body: unknown, opts: { headers?: Record<string, string>; from?: string } = {}) =>
  rawRequest(`${base}/e`, {
    method: 'POST',
    headers: { 'content-type': 'text/plain', ...opts.headers },
    body: JSON.stringify(body),
    from: opts.from,
  });
const common = () => ({
  WHOP_API_KEY: KEY,
  WHOP_COMPANY_ID: COMPANY,
  WHOP_API_BASE_URL: whop.url,
  WHOPQ_PRODUCTION: '1',
  WHOPQ_ADMIN_TOKEN: 'tok_hard',
  WHOPQ_TRUSTED_PROXIES: PROXY,
});
const percentile = (values: number[], p: number) =>
  [...values].sort((a, b) => a - b)[Math.min(values.length - 1, Math.floor(values.length * p))] ?? 0;

beforeAll(async () => {
  relayBuild = await buildRelay();
  whop = await startFakeWhop({ apiKey: KEY });
});
afterAll(async () => {
  relayBuild?.dispose();
  await whop?.close();
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

describe('hardening', () => {
  it('Anonymous posts for foreign companies cannot pause the relay or reach Whop', { timeout: 60_000 }, async () => {
    // Whop refuses every company but ours, as it would with our key.
    whop.setMode((req) => (req.body?.company_id === COMPANY ? 'ok' : '403'));
    const before = whop.requests.length;
    let refusedStart = '';
    try {
      await relayBuild.start({ ...common(), WHOP_COMPANY_ID: '', WHOPQ_DATA_DIR: dir() });
    } catch (error) {
      refusedStart = (error as Error).message;
    }
    const relay = await relayBuild.start({ ...common(), WHOPQ_DATA_DIR: dir() });
    const n = FULL ? 200 : 20;
    const answers = await Promise.all(
      Array.from({ length: n }, (_, i) =>
        post(
          relay.base,
          { events: Array.from({ length: 5 }, (_, k) => chaosEvent('foreign', i * 5 + k, { company_id: `biz_foreign_${i}_${k}` })) },
          { from: `127.0.1.${(i % 200) + 1}` },
        ),
      ),
    );
    const own = await post(relay.base, chaosEvent('foreign_own', 0));
    await until(Date.now() + 15_000, () => whop.conversions.some((c) => c.body.event_id === 'evt_foreign_own_0'));
    const ready = await rawRequest(`${relay.base}/ready`);
    const foreignAtWhop = whop.requests.slice(before).filter((r) => r.body && r.body.company_id !== COMPANY).length;
    const wrong = answers.filter((a) => a.status !== 403).length + foreignAtWhop + (ready.status === 200 ? 0 : 1) + (refusedStart ? 0 : 1);
    recordScenario({
      scenario: 'Anonymous posts for foreign companies cannot pause the relay or reach Whop',
      group: 'abuse',
      sent: n * 5,
      delivered: 0,
      duplicated: 0,
      lost: wrong,
      notes: `production without WHOP_COMPANY_ID: ${refusedStart ? 'refused to start' : 'STARTED'}; ${n} posts of 5 foreign companies each: ${answers.filter((a) => a.status === 403).length} answered 403; ${foreignAtWhop} reached Whop; /ready ${ready.status}, ${ready.text.length} B; own event ${own.status}`,
    });
    expect(refusedStart).toMatch(/WHOP_COMPANY_ID is not set/);
    expect(answers.every((a) => a.status === 403)).toBe(true);
    expect(foreignAtWhop).toBe(0);
    expect(ready.status).toBe(200);
    expect(own.status).toBe(200);
    whop.setMode('ok');
    await relay.kill();
  });

  it('One event Whop refuses with a 404 does not stop the company’s other conversions', { timeout: 120_000 }, async () => {
    // The review's case: 404 for one event's unknown product, naming no parameter.
    whop.setMode((req) => (req.body?.event_id === 'evt_p404_bad' ? '404' : 'ok'));
    const relay = await relayBuild.start({
      ...common(),
      WHOPQ_DATA_DIR: dir(),
      WHOPQ_PAUSE_PROBE_SECONDS: '2',
      WHOPQ_FORWARD_CONCURRENCY: '1',
    });
    const started = Date.now();
    const bad = await post(relay.base, chaosEvent('p404', 0, { event_id: 'evt_p404_bad', product_id: 'prod_unknown' }));
    await until(Date.now() + 10_000, () => whop.requests.some((r) => r.body?.event_id === 'evt_p404_bad'));
    const ids = Array.from({ length: 15 }, (_, i) => `evt_p404_${i + 1}`);
    for (let i = 1; i <= 15; i++) await post(relay.base, chaosEvent('p404', i));
    await until(Date.now() + 60_000, () => ids.every((id) => whop.conversions.some((c) => c.body.event_id === id)), 100);
    const seconds = (Date.now() - started) / 1000;
    // The refused event comes back once more after the company resumed, and is dead-lettered then.
    await until(Date.now() + 30_000, async () => JSON.parse((await rawRequest(`${relay.base}/ready`)).text).queue?.dead === 1, 200);
    const delivered = ids.filter((id) => whop.conversions.some((c) => c.body.event_id === id)).length;
    const badTries = whop.requests.filter((r) => r.body?.event_id === 'evt_p404_bad').length;
    await until(Date.now() + 15_000, async () => JSON.parse((await rawRequest(`${relay.base}/ready`)).text).ready === true, 200);
    const ready = JSON.parse((await rawRequest(`${relay.base}/ready`)).text) as { ready: boolean; queue: { dead: number } };
    recordScenario({
      scenario: 'One event Whop refuses with a 404 does not stop the company’s other conversions',
      group: 'fault',
      sent: 16,
      delivered,
      duplicated: whop.duplicates().length,
      lost: 15 - delivered,
      notes: `${delivered} of 15 delivered within ${seconds.toFixed(1)} s (probe every 2 s); the refused event tried ${badTries}×, then dead (${ready.queue.dead} dead); ready again: ${ready.ready}; first answer ${bad.status}`,
    });
    expect(delivered).toBe(15);
    expect(ready.ready).toBe(true);
    expect(ready.queue.dead).toBe(1);
    expect(whop.duplicates()).toEqual([]);
    await relay.kill();
  });

  it('Slow uploads and idle sockets from one address do not block other visitors', { timeout: 120_000 }, async () => {
    const relay = await relayBuild.start({ ...common(), WHOPQ_DATA_DIR: dir() });
    const idleCount = FULL ? 1_100 : 200;
    const slowCount = FULL ? 200 : 40;
    const sockets: Socket[] = [];
    const lifetimes: number[] = [];
    const open = (write?: (s: Socket) => void) =>
      new Promise<void>((ok) => {
        const t = Date.now();
        let up = false;
        const s = connect({ port: relay.port, host: '127.0.0.1', localAddress: '127.0.0.5' }, () => ((up = true), write?.(s), ok()));
        s.on('error', () => ok());
        s.on('data', () => {});
        s.on('close', () => {
          lifetimes.push(Date.now() - t);
          if (!up) ok();
        });
        sockets.push(s);
      });
    const started = Date.now();
    for (let i = 0; i < idleCount; i++) await open();
    for (let i = 0; i < slowCount; i++) {
      await open((s) => {
        s.write('POST /wq/e HTTP/1.1\r\nHost: x\r\nContent-Type: text/plain\r\nTransfer-Encoding: chunked\r\n\r\n1\r\n{\r\n');
        const drip = setInterval(() => s.writable && s.write('1\r\n \r\n'), 1_000);
        s.on('close', () => clearInterval(drip));
      });
    }
    // Real visitors from another address meanwhile.
    const real: number[] = [];
    const latencies: number[] = [];
    for (let i = 0; i < 20; i++) {
      const t = Date.now();
      real.push((await post(relay.base, chaosEvent('slowclients', i), { from: '127.0.0.6' })).status);
      latencies.push(Date.now() - t);
    }
    await until(Date.now() + 40_000, () => sockets.every((s) => s.destroyed || s.closed), 200);
    for (const s of sockets) s.destroy();
    // Held: still open 2 s after connecting (the rest were closed by the per-address cap at once).
    const held = lifetimes.filter((ms) => ms >= 2_000);
    const longest = held.length ? Math.max(...held) : 0;
    recordScenario({
      scenario: 'Slow uploads and idle sockets from one address do not block other visitors',
      group: 'abuse',
      sent: idleCount + slowCount,
      delivered: real.filter((s) => s === 200).length,
      duplicated: 0,
      lost: real.filter((s) => s !== 200).length + (longest > 25_000 ? 1 : 0),
      notes: `${idleCount} idle + ${slowCount} dripping uploads from one address: ${idleCount + slowCount - held.length} closed at once (64 per address), ${held.length} held, the longest ${(longest / 1000).toFixed(1)} s (deadlines 10 s headers / 10 s body); another address: ${real.filter((s) => s === 200).length}/20 stored, p95 ${percentile(latencies, 0.95)} ms; ${((Date.now() - started) / 1000).toFixed(0)} s`,
    });
    expect(real).toEqual(Array(20).fill(200));
    expect(held.length).toBeLessThanOrEqual(64);
    expect(longest).toBeLessThan(25_000);
    await relay.kill();
  });

  it('/ready stays cheap on a big store under parallel readiness loops', { timeout: 180_000 }, async () => {
    const rows = FULL ? 1_000_000 : 100_000;
    const data = dir();
    // A big store of delivered events, written straight into the relay's schema.
    await new SqliteOutbox({ path: join(data, 'whopq.db'), retainMs: 0 }).close();
    const db = new Database(join(data, 'whopq.db'));
    const insert = db.prepare(
      "INSERT INTO events (company_id, event_name, event_id, body, received_at, state) VALUES (?, 'lead', ?, '{}', ?, 'delivered')",
    );
    const now = Date.now();
    db.transaction(() => {
      for (let i = 0; i < rows; i++) insert.run(COMPANY, `seed_${i}`, now - (i % 3_600_000));
    })();
    db.close();
    // The per-IP limit (burst 60, 20/s) is not this scenario's subject: 80 posts from one address in
    // a second on a quiet machine would meet it.
    const relay = await relayBuild.start({ ...common(), WHOPQ_DATA_DIR: data, WHOPQ_RATE_LIMIT: 'off' });
    const ingest = async (tag: string, n: number) => {
      const ms: number[] = [];
      for (let i = 0; i < n; i++) {
        const t = Date.now();
        const a = await post(relay.base, chaosEvent(tag, i), { from: '127.0.0.7' });
        if (a.status === 200) ms.push(Date.now() - t);
      }
      return ms;
    };
    const quiet = await ingest('ready_quiet', 40);
    let loops = true;
    let readyCalls = 0;
    const loopers = Array.from({ length: FULL ? 32 : 8 }, async () => {
      while (loops) {
        await rawRequest(`${relay.base}/ready`);
        readyCalls++;
      }
    });
    const started = Date.now();
    const loaded = await ingest('ready_loaded', 40);
    loops = false;
    await Promise.all(loopers);
    const seconds = (Date.now() - started) / 1000;
    const ready = await rawRequest(`${relay.base}/ready`);
    const p95 = percentile(loaded, 0.95);
    const cpus = availableParallelism();
    recordScenario({
      scenario: '/ready stays cheap on a big store under parallel readiness loops',
      group: 'abuse',
      sent: readyCalls,
      delivered: loaded.length,
      duplicated: 0,
      lost: (loaded.length < 40 ? 1 : 0) + (p95 > 1_500 ? 1 : 0),
      notes: `${rows.toLocaleString('en')} stored rows (load average ${loadavg()[0]!.toFixed(1)} on ${cpus} cores), ${FULL ? 32 : 8} /ready loops (${readyCalls} calls in ${seconds.toFixed(1)} s): ingest p50 ${percentile(loaded, 0.5)} ms / p95 ${p95} ms, quiet p50 ${percentile(quiet, 0.5)} ms / p95 ${percentile(quiet, 0.95)} ms; /ready body ${ready.text.length} B`,
    });
    expect(loaded).toHaveLength(40);
    // What is left is the HTTP work of hundreds of /ready calls a second on a shared machine; the
    // review measured 1.9 s (8 loops) and 9–10 s (32 loops) when each call counted the rows.
    expect(p95).toBeLessThan(1_500);
    expect(ready.text.length).toBeLessThan(2_048);
    await relay.kill();
  });

  it('Behind a trusted proxy only its header is believed, not a client-sent Forwarded', { timeout: 60_000 }, async () => {
    const relay = await relayBuild.start({ ...common(), WHOPQ_DATA_DIR: dir(), WHOPQ_RATE_LIMIT: '5,5' });
    // nginx appends the peer to X-Forwarded-For and passes the client's Forwarded through untouched.
    const spoof = await post(relay.base, chaosEvent('fwd', 0), {
      from: PROXY,
      headers: { forwarded: 'for=198.51.100.66', 'x-forwarded-for': '203.0.113.50' },
    });
    await until(Date.now() + 15_000, () => whop.conversions.some((c) => c.body.event_id === 'evt_fwd_0'));
    const ip = whop.conversions.find((c) => c.body.event_id === 'evt_fwd_0')?.body.context?.ip_address;
    // A changing Forwarded from one client must not reset its rate limit.
    // Sent at once, and the bound follows the time they took: a loaded machine stretches the window,
    // and the limit refills 5 a second over it.
    const floodStart = Date.now();
    const flood = (
      await Promise.all(
        Array.from({ length: 30 }, (_, k) =>
          post(relay.base, chaosEvent('fwd', k + 1), {
            from: PROXY,
            headers: { forwarded: `for=198.51.100.${k + 1}`, 'x-forwarded-for': '203.0.113.51' },
          }),
        ),
      )
    ).map((r) => r.status);
    const allowed = 5 + Math.ceil(5 * ((Date.now() - floodStart) / 1000)) + 1;
    const passed = flood.filter((s) => s === 200).length;
    recordScenario({
      scenario: 'Behind a trusted proxy only its header is believed, not a client-sent Forwarded',
      group: 'abuse',
      sent: 31,
      delivered: passed,
      duplicated: 0,
      lost: (ip === '203.0.113.50' ? 0 : 1) + (passed > allowed ? 1 : 0),
      notes: `ip_address ${ip} (X-Forwarded-For), not the Forwarded value; 30 posts at once with 30 different Forwarded values from one client: ${passed} passed the 5/s limit (at most ${allowed} in the time they took), ${flood.filter((s) => s === 429).length} answered 429; first ${spoof.status}`,
    });
    expect(ip).toBe('203.0.113.50');
    // The bound must stay below 30, or the check could not tell a believed Forwarded from the limit.
    expect(allowed).toBeLessThan(30);
    expect(passed).toBeLessThanOrEqual(allowed);
    await relay.kill();
  });

  it('Relays starting at once on one data directory: exactly one runs', { timeout: 180_000 }, async () => {
    const trials = FULL ? 10 : 3;
    const perTrial = 3;
    const winners: number[] = [];
    for (let t = 0; t < trials; t++) {
      const data = dir();
      // A stale lock: a relay that ran here and was killed.
      const first = await relayBuild.start({ ...common(), WHOPQ_DATA_DIR: data });
      await first.kill();
      const starts = await Promise.allSettled(
        Array.from({ length: perTrial }, () => relayBuild.start({ ...common(), WHOPQ_DATA_DIR: data })),
      );
      const up = starts.filter((s): s is PromiseFulfilledResult<RelayChild> => s.status === 'fulfilled');
      winners.push(up.length);
      for (const s of starts) if (s.status === 'rejected') expect(String(s.reason)).toMatch(/in use by another relay/);
      for (const s of up) await s.value.kill();
    }
    const wrong = winners.filter((w) => w !== 1).length;
    recordScenario({
      scenario: 'Relays starting at once on one data directory: exactly one runs',
      group: 'fault',
      sent: trials * perTrial,
      delivered: winners.reduce((a, b) => a + b, 0),
      duplicated: 0,
      lost: wrong,
      notes: `${trials} trials of ${perTrial} relays started together on a killed relay's directory: ${winners.join('/')} running`,
    });
    expect(winners).toEqual(Array(trials).fill(1));
  });
});
