// Outbox and forwarder figures (printed, never asserted):
//   1. SqliteOutbox appends/s with synchronous=FULL vs NORMAL, for 1, 16 and 128 concurrent callers
//      per turn (how many ingest requests land in one event-loop turn: the group-commit batch).
//   2. Drain time of a backlog through the forwarder to the fake Whop API (same process).
// Run: node bench/outbox.mjs [events=20000] [backlog=5000]
// The database lives on the real disk (os.tmpdir()), so FULL pays a real fsync per commit.
import { build } from 'esbuild';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';

const total = Number(process.argv[2] ?? 20_000);
const backlog = Number(process.argv[3] ?? 5_000);
const work = mkdtempSync(join(tmpdir(), 'whopq-bench-'));

// Bundle the TypeScript sources once (packages stay external) and import the result.
const entry = join(work, 'entry.mjs');
await build({
  stdin: {
    contents: `export { SqliteOutbox } from './src/relay/node/sqliteOutbox.ts';
               export { createForwarder } from './src/relay/lib/forwarder.ts';
               export { startFakeWhop } from './test/fakeWhop.ts';`,
    resolveDir: process.cwd(),
    loader: 'ts',
  },
  bundle: true,
  platform: 'node',
  format: 'esm',
  packages: 'external',
  outfile: entry,
  logLevel: 'warning',
  // fakeWhop reads the spec relative to its own URL; point it at the repo's test/ folder.
  define: { 'import.meta.url': JSON.stringify(pathToFileURL(join(process.cwd(), 'test/fakeWhop.ts')).href) },
});
// Bare specifiers resolve from the bundle's folder; link node_modules next to it.
const { symlinkSync } = await import('node:fs');
symlinkSync(join(process.cwd(), 'node_modules'), join(work, 'node_modules'));
const { SqliteOutbox, createForwarder, startFakeWhop } = await import(pathToFileURL(entry).href);

const body = (i) => ({
  company_id: 'biz_bench',
  event_id: `evt_${i}`,
  event_name: 'lead',
  action_source: 'website',
  event_time: new Date().toISOString(),
  url: 'https://seller.example/landing?utm_source=meta&utm_campaign=spring',
  referrer_url: 'https://l.facebook.com/',
  context: {
    ip_address: '203.0.113.7',
    user_agent: 'Mozilla/5.0 (X11; Linux x86_64) Chrome/130',
    fbclid: `IwAR${i}`,
    fbp: `fb.1.1700000000000.${i}`,
  },
  user: { anonymous_id: `anon_${i}` },
});
const event = (i) => ({ company_id: 'biz_bench', event_name: 'lead', event_id: `evt_${i}`, received_at: Date.now(), body: body(i) });

async function appends(synchronous, perTurn) {
  const path = join(work, `a-${synchronous}-${perTurn}.db`);
  const outbox = new SqliteOutbox({ path, synchronous });
  const started = performance.now();
  for (let i = 0; i < total; i += perTurn) {
    const calls = [];
    for (let j = i; j < Math.min(i + perTurn, total); j++) calls.push(outbox.append([event(j)]));
    await Promise.all(calls);
  }
  const seconds = (performance.now() - started) / 1000;
  await outbox.close();
  return Math.round(total / seconds);
}

console.log(`SqliteOutbox appends/s (${total} single-event appends; N callers per event-loop turn share one commit)`);
console.log('callers/turn  FULL      NORMAL');
for (const perTurn of [1, 16, 128]) {
  const full = await appends('FULL', perTurn);
  const normal = await appends('NORMAL', perTurn);
  console.log(`${String(perTurn).padEnd(13)} ${String(full).padEnd(9)} ${normal}`);
}

// 3. claim() and stats() on a 100k-row store (the indices keep both off a full sort).
{
  const outbox = new SqliteOutbox({ path: join(work, 'big.db') });
  const now = Date.now();
  for (let i = 0; i < 100_000; i += 5_000)
    await outbox.append(Array.from({ length: 5_000 }, (_, j) => ({ ...event(i + j), received_at: now - 100_000 + i + j })));
  const time = async (fn, n = 50) => {
    const t = performance.now();
    for (let i = 0; i < n; i++) await fn(i);
    return ((performance.now() - t) / n).toFixed(2);
  };
  const claim = await time((i) => outbox.claim(now, 8, 60_000));
  const stats = await time(() => outbox.stats(), 10);
  console.log(`\n100k pending rows: claim(8) ${claim} ms, stats() ${stats} ms (mean)`);
  await outbox.close();
}

async function drain(concurrency) {
  const whop = await startFakeWhop({ apiKey: 'k_bench' });
  const outbox = new SqliteOutbox({ path: join(work, `d-${concurrency}.db`) });
  await outbox.append(Array.from({ length: backlog }, (_, i) => event(i)));
  const forwarder = createForwarder({ outbox, apiKey: 'k_bench', baseURL: whop.url, concurrency });
  const started = performance.now();
  forwarder.start();
  while ((await outbox.stats()).delivered < backlog) await new Promise((r) => setTimeout(r, 20));
  const seconds = (performance.now() - started) / 1000;
  await forwarder.stop();
  const dupes = whop.duplicates().length;
  await outbox.close();
  await whop.close();
  return { seconds, dupes };
}

console.log(`\nForwarder drain of a ${backlog}-event backlog to the fake Whop API (same process, loopback)`);
for (const concurrency of [8, 32]) {
  const { seconds, dupes } = await drain(concurrency);
  console.log(
    `concurrency ${String(concurrency).padEnd(3)} ${seconds.toFixed(2)} s  (${Math.round(backlog / seconds)} events/s, duplicates at Whop: ${dupes})`,
  );
}

rmSync(work, { recursive: true, force: true });
