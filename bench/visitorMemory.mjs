// Visitor memory at scale (issue 14): N visitors (default 1,000,000) remembered in the Node
// default store (SQLite, its own visitors.db), a third of them identified by email, as the
// browser endpoint remembers them (createVisitorMemory: batched, merged, hashed keys). Then:
// the store's size on disk and the process's memory, the cost remember() adds to an ingest
// request, and the lookup a server event makes at ingest (recall by anonymous id and by email),
// p50/p99 over random visitors.
// Run: npm run build && node bench/visitorMemory.mjs [visitors=1000000] [lookups=20000]
import { mkdtempSync, readdirSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { num, table } from './lib/markdown.mjs';
import { quantile } from './lib/stats.mjs';

const repo = new URL('..', import.meta.url).pathname;
const DAY = 86_400_000;

/** One visitor's record as the browser endpoint makes it: a Meta click, a touch, fbp, IP, UA, landing URL. */
function record(i, at) {
  const aid = (i * 2654435761).toString(16).padStart(8, '0') + i.toString(16).padStart(24, '0');
  return {
    aid,
    rec: {
      c: { meta: [{ fbclid: `IwAR${i.toString(36)}x2Jk9PqLmN0vB7cD` }, at] },
      t: [{ utm_source: 'facebook', utm_medium: 'paid', utm_campaign: `spring-${i % 40}` }, at],
      b: { fbp: `fb.1.${at}.${1_000_000_000 + i}` },
      ip: `203.0.${(i >> 8) & 255}.${i & 255}`,
      ua: 'Mozilla/5.0 (iPhone; CPU iPhone OS 18_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/18.1 Mobile/15E148 Safari/604.1',
      u: 'https://shop.example/landing/spring-offer',
      aid,
      at,
    },
  };
}

const sizeOf = (dir) => readdirSync(dir).reduce((n, f) => n + statSync(join(dir, f)).size, 0);

/** Section `memory` of bench/run.mjs, and this script's main. */
export async function visitorMemoryBench({ quick = false, visitors, lookups } = {}) {
  const n = visitors ?? (quick ? 100_000 : 1_000_000);
  const probes = lookups ?? (quick ? 5_000 : 20_000);
  const { createVisitorMemory } = await import(join(repo, 'dist/relay/index.js'));
  const { createSqliteVisitorStore } = await import(join(repo, 'dist/relay/node.js'));
  const dir = mkdtempSync(join(tmpdir(), 'whopq-visitors-bench-'));
  const now = Date.now();
  const rssBefore = process.memoryUsage().rss;
  const memory = createVisitorMemory(createSqliteVisitorStore(join(dir, 'visitors.db')), {
    now: () => now,
    maxEntries: 3 * n,
    flushMs: 50,
  });
  try {
    // Fill: what ingest does per accepted browser event (remember, not awaited), flushed in batches.
    const rememberUs = [];
    const started = performance.now();
    for (let i = 0; i < n; i++) {
      const { aid, rec } = record(i, now - (i % 80) * DAY);
      const keys = i % 3 === 0 ? { anonymous_id: aid, email: `visitor${i}@example.com` } : { anonymous_id: aid };
      const t = performance.now();
      const p = memory.remember('biz_bench', keys, rec);
      if (i % 50 === 0) rememberUs.push((performance.now() - t) * 1000);
      if (i % 5000 === 4999) await memory.flush();
      else await p;
    }
    await memory.flush();
    const fillSeconds = (performance.now() - started) / 1000;
    const rows = await memory.size();
    const rssAfter = process.memoryUsage().rss;

    // Lookups as a server event makes them at ingest: by anonymous id, then by email (hashed, then
    // the browser's own record).
    const byAid = [];
    const byEmail = [];
    let found = 0;
    for (let j = 0; j < probes; j++) {
      const i = Math.floor(Math.random() * n);
      const email = i - (i % 3);
      let t = performance.now();
      if (await memory.recall('biz_bench', { anonymous_id: record(i, now).aid })) found++;
      byAid.push((performance.now() - t) * 1000);
      t = performance.now();
      if (await memory.recall('biz_bench', { email: `visitor${email}@example.com` })) found++;
      byEmail.push((performance.now() - t) * 1000);
    }
    const walBytes = sizeOf(dir);
    // Closed: the WAL checkpointed into the file, which is what stays on disk.
    await memory.close();
    const bytes = sizeOf(dir);
    const result = {
      visitors: n,
      rows,
      fillSeconds,
      bytes,
      bytesPerRow: bytes / rows,
      walBytes,
      rssDeltaMb: (rssAfter - rssBefore) / 1e6,
      remember: { p50: quantile(rememberUs, 0.5), p99: quantile(rememberUs, 0.99) },
      aid: { p50: quantile(byAid, 0.5), p99: quantile(byAid, 0.99) },
      email: { p50: quantile(byEmail, 0.5), p99: quantile(byEmail, 0.99) },
      found: found / (2 * probes),
    };
    const us = (v) => `${num(v, v < 100 ? 1 : 0)} µs`;
    const markdown = [
      `${num(n)} visitors remembered in SQLite (\`visitors.db\`, WAL), a third also by hashed email: ${num(rows)} records, written in ${num(fillSeconds, 1)} s through \`createVisitorMemory\` (batches of 5,000). Lookups: ${num(probes)} random visitors each way, the store warm.`,
      '',
      table(
        [
          'store',
          'records',
          'on disk',
          'bytes/record',
          'process RSS growth',
          'remember() on the ingest path p50 / p99',
          'lookup by anonymous id p50 / p99',
          'lookup by email p50 / p99',
        ],
        [
          [
            'SQLite',
            num(rows),
            `${num(bytes / 1e6)} MB`,
            num(result.bytesPerRow),
            `${num(result.rssDeltaMb)} MB`,
            `${us(result.remember.p50)} / ${us(result.remember.p99)}`,
            `${us(result.aid.p50)} / ${us(result.aid.p99)}`,
            `${us(result.email.p50)} / ${us(result.email.p99)}`,
          ],
        ],
      ),
      '',
      `On disk: the closed file (WAL checkpointed); while open, with its WAL, ${num(walBytes / 1e6)} MB. Found: ${num(result.found * 100)} % of lookups (every visitor is within the 90-day window). remember() is what a browser request pays before its answer (the keys hashed, the record merged into the batch; the batch is written on the store's writer thread); a lookup is what a server event pays (the email lookup is two reads: the hashed email's record, then the browser's own).`,
    ].join('\n');
    return { title: 'Visitor memory: 1,000,000 visitors', markdown, targets: [], result };
  } finally {
    await memory.close().catch(() => {});
    rmSync(dir, { recursive: true, force: true });
  }
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const visitors = process.argv[2] ? Number(process.argv[2]) : undefined;
  const lookups = process.argv[3] ? Number(process.argv[3]) : undefined;
  const r = await visitorMemoryBench({ visitors, lookups });
  console.log(r.markdown);
  console.log(JSON.stringify(r.result));
}
