// Property-based fuzzing of the ingest endpoint of the real `whopq relay` process (child process,
// SQLite file, forwarding to the fake Whop API). Every answer must be a 4xx in Whop's error shape,
// or a 200 whose counts add up for bodies that happen to be valid; the store's row count moves by
// exactly the accepted count (no partial writes); the process stays up with bounded memory (RSS
// sampled from /proc); and everything it stored is accepted by Whop's own schema downstream.
import Database from 'better-sqlite3';
import fc from 'fast-check';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { startFakeWhop, type FakeWhop } from '../fakeWhop';
import { COMPANY, until } from './events';
import { fuzzBody, type FuzzBody } from './fuzzBodies';
import { buildRelay, type RelayBuild, type RelayChild } from './relayProcess';
import { recordScenario } from './report';
import { FULL, SCALE } from './scale';

const KEY = 'k_chaos_fuzz_e3a90d';
/** Memory ceiling for the relay process while fuzzed (bodies are capped at 64 KiB). */
const RSS_LIMIT = 300 * 1024 * 1024;
let relayBuild: RelayBuild;
let whop: FakeWhop;
let relay: RelayChild;
let data: string;
let db: Database.Database;

beforeAll(async () => {
  relayBuild = await buildRelay();
  whop = await startFakeWhop({ apiKey: KEY });
  data = mkdtempSync(join(tmpdir(), 'whopq-chaos-fuzz-'));
  // The fuzzer sits "behind a proxy" (127.0.0.1 trusted) and gives each request its own client IP,
  // so the per-IP rate limit, tested on its own elsewhere, does not answer every body with 429.
  relay = await relayBuild.start({
    WHOP_API_KEY: KEY,
    WHOP_COMPANY_ID: COMPANY,
    WHOP_API_BASE_URL: whop.url,
    WHOPQ_DATA_DIR: data,
    WHOPQ_TRUSTED_PROXIES: '127.0.0.1',
  });
  db = new Database(join(data, 'whopq.db'), { readonly: true });
});
afterAll(async () => {
  db?.close();
  relayBuild?.dispose();
  await whop?.close();
  rmSync(data, { recursive: true, force: true });
});

const rows = () => (db.prepare('SELECT count(*) AS n FROM events').get() as { n: number }).n;
const isWhopError = (b: unknown): boolean => {
  const e = (b as { error?: Record<string, unknown> })?.error;
  return (
    !!e &&
    typeof e.type === 'string' &&
    typeof e.message === 'string' &&
    (e.code === null || typeof e.code === 'string') &&
    (e.param === null || typeof e.param === 'string')
  );
};
/** How many events a body holds, when it is JSON we can read (else null). */
function eventCount(body: FuzzBody): number | null {
  try {
    const v = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(body.bytes)) as { events?: unknown };
    return v && typeof v === 'object' && !Array.isArray(v) ? (Array.isArray(v.events) ? v.events.length : 1) : null;
  } catch {
    return null;
  }
}

const NAME = `Ingest fuzzed with ${SCALE.fuzzBodies.toLocaleString('en')} generated bodies`;

it(NAME, { timeout: FULL ? 900_000 : 120_000 }, async () => {
  const byKind = new Map<string, Record<string, number>>();
  const wrong: string[] = [];
  let accepted = 0;
  let ok200 = 0;
  let ip = 0;
  let maxRss = relay.rss();
  const startRss = maxRss;
  let n = 0;

  await fc
    .assert(
      fc.asyncProperty(fuzzBody, async (body) => {
        const before = rows();
        let status = 0;
        let answer: unknown = null;
        try {
          const res = await fetch(`${relay.base}/e`, {
            method: 'POST',
            headers: { 'content-type': body.contentType, 'x-forwarded-for': `10.${(ip >> 16) & 255}.${(ip >> 8) & 255}.${ip++ & 255}` },
            body: body.bytes,
            signal: AbortSignal.timeout(15_000),
          });
          status = res.status;
          const t = await res.text();
          try {
            answer = JSON.parse(t);
          } catch {
            answer = t;
          }
        } catch (error) {
          answer = String(error);
        }
        const counts = byKind.get(body.kind) ?? {};
        counts[status] = (counts[status] ?? 0) + 1;
        byKind.set(body.kind, counts);
        if (++n % 100 === 0) maxRss = Math.max(maxRss, relay.rss());
        const delta = rows() - before;
        let problem: string | null = null;
        if (status === 200) {
          const a = answer as { accepted?: number; duplicates?: number; rejected?: unknown[] };
          const total = eventCount(body);
          ok200++;
          accepted += a.accepted ?? 0;
          if (typeof a.accepted !== 'number' || typeof a.duplicates !== 'number' || !Array.isArray(a.rejected))
            problem = 'a 200 without counts';
          else if (total !== null && a.accepted + a.duplicates + a.rejected.length !== total) problem = `counts do not add up to ${total}`;
          else if (delta !== a.accepted) problem = `stored ${delta} rows for ${a.accepted} accepted`;
        } else if (status >= 400 && status < 500) {
          if (!isWhopError(answer)) problem = 'a 4xx not in Whop error shape';
          else if (delta !== 0) problem = `a ${status} stored ${delta} rows`;
        } else problem = `answered ${status || 'with a network error'}: ${String(JSON.stringify(answer)).slice(0, 200)}`;
        if (problem) wrong.push(`${body.kind}: ${problem}`);
        return problem === null;
      }),
      { numRuns: SCALE.fuzzBodies, endOnFailure: true },
    )
    .catch((error: Error) => wrong.push(`fast-check: ${error.message.split('\n').slice(0, 3).join(' ')}`));

  maxRss = Math.max(maxRss, relay.rss());
  const alive = relay.child.exitCode === null && (await fetch(`${relay.base}/health`)).status === 200;
  // Everything stored goes to Whop, and Whop's schema (the fake validates with the spec) takes all of it.
  const drained = await until(
    Date.now() + 60_000,
    async () => ((await (await fetch(`${relay.base}/ready`)).json()) as { queue: { pending: number } }).queue.pending === 0,
    100,
  );
  const refusedByWhop = whop.requests.filter((r) => r.status !== 200).map((r) => `${r.status} ${r.errors.join('; ')}`);
  const dead = (db.prepare("SELECT count(*) AS n FROM events WHERE state = 'dead'").get() as { n: number }).n;
  const summary = [...byKind]
    .map(
      ([k, c]) =>
        `${k} ${Object.entries(c)
          .map(([s, x]) => `${s}×${x}`)
          .join('/')}`,
    )
    .join('; ');
  recordScenario({
    scenario: NAME,
    group: 'fuzz',
    sent: n,
    delivered: ok200,
    duplicated: 0,
    lost: wrong.length + (alive ? 0 : 1),
    notes: `${summary}; ${accepted} events stored and all delivered to Whop: ${drained && whop.conversions.length === accepted}; relay RSS ${(startRss / 2 ** 20).toFixed(0)}→max ${(maxRss / 2 ** 20).toFixed(0)} MB; alive: ${alive}`,
  });

  expect(wrong.slice(0, 10)).toEqual([]);
  expect(n).toBeGreaterThanOrEqual(SCALE.fuzzBodies);
  expect(alive).toBe(true);
  expect(maxRss).toBeLessThan(RSS_LIMIT);
  expect(drained).toBe(true);
  expect({ dead, refusedByWhop: refusedByWhop.slice(0, 5), delivered: whop.conversions.length, duplicates: whop.duplicates() }).toEqual({
    dead: 0,
    refusedByWhop: [],
    delivered: accepted,
    duplicates: [],
  });
  expect(relay.output()).not.toContain(KEY);
});
