// Section 5: how long the forwarder takes to drain a backlog into Whop. The backlog is written to a
// SqliteOutbox first; the fake Whop API (spec-validating, in its own process) answers each
// conversion after 20 ms; the forwarder runs at its default concurrency, as `whopq relay` starts it.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { bundleSources } from './lib/bundleSources.mjs';
import { num, table } from './lib/markdown.mjs';
import { startChild } from './lib/startChild.mjs';

const LATENCY_MS = 20;
const API_KEY = 'k_bench_forwarder';

const body = (i) => ({
  company_id: 'biz_bench',
  event_id: `drain_${i}`,
  event_name: 'lead',
  action_source: 'website',
  event_time: new Date().toISOString(),
  url: 'https://shop.example/landing?utm_source=meta&utm_campaign=spring',
  referrer_url: 'https://l.facebook.com/',
  context: { ip_address: '203.0.113.7', user_agent: 'Mozilla/5.0 (X11; Linux x86_64) Chrome/140', fbclid: `IwAR${i}`, utm_source: 'meta' },
  user: { anonymous_id: `anon_${i}` },
});

/** Runs the section; `quick` drains 1,000 events instead of 10,000. */
export async function forwarderDrain({ quick = false } = {}) {
  const backlog = quick ? 1_000 : 10_000;
  const src = await bundleSources(
    "export { SqliteOutbox } from './src/relay/node/sqliteOutbox.ts'; export { createForwarder } from './src/relay/lib/forwarder.ts';",
  );
  const { SqliteOutbox, createForwarder } = await import(src.url);
  const dir = mkdtempSync(join(tmpdir(), 'whopq-bench-drain-'));
  const whop = await startChild({
    args: [new URL('servers/fakeWhopServer.mjs', import.meta.url).pathname],
    env: { API_KEY, LATENCY_MS: String(LATENCY_MS) },
    ready: /listening on (http:\/\/\S+)/,
  });
  const outbox = new SqliteOutbox({ path: join(dir, 'drain.db') });
  let forwarder;
  try {
    for (let i = 0; i < backlog; i += 1000)
      await outbox.append(
        Array.from({ length: Math.min(1000, backlog - i) }, (_, k) => ({
          company_id: 'biz_bench',
          event_name: 'lead',
          event_id: `drain_${i + k}`,
          received_at: Date.now(),
          body: body(i + k),
        })),
      );
    // Defaults except the key and the base URL: that is what is measured.
    forwarder = createForwarder({ outbox, apiKey: API_KEY, baseURL: whop.url });
    const started = performance.now();
    forwarder.start();
    const deadline = started + (quick ? 60_000 : 180_000);
    let stats = await outbox.stats();
    while (stats.delivered + stats.dead < backlog && performance.now() < deadline) {
      await new Promise((r) => setTimeout(r, 25));
      stats = await outbox.stats();
    }
    const seconds = (performance.now() - started) / 1000;
    await forwarder.stop();
    forwarder = undefined;
    const report = JSON.parse((await whop.ask('report', /REPORT (\{.*\})/))[1]);
    const floor = (backlog * LATENCY_MS) / 1000 / 8;
    const drained = stats.delivered + stats.dead >= backlog;
    const markdown = [
      `${num(backlog)} events written to a SqliteOutbox, then drained by \`createForwarder\` at its default concurrency into the fake Whop API (own process, spec-validating, ${LATENCY_MS} ms per answer). ` +
        `With the default 8 requests in flight and ${LATENCY_MS} ms each, Whop's latency alone bounds a drain at ${num(floor, 1)} s (${num(8000 / LATENCY_MS)} events/s).` +
        (drained ? '' : ` **Not drained within the ${quick ? 60 : 180} s limit**: the figures are for what was delivered by then.`),
      '',
      table(
        ['backlog', 'drain time s', 'events/s', 'of the latency bound', 'delivered', 'dead', 'conversions at Whop', 'duplicates at Whop'],
        [
          [
            num(backlog),
            num(seconds, 2),
            num(stats.delivered / seconds),
            `${Math.round((100 * stats.delivered) / seconds / (8000 / LATENCY_MS))}%`,
            num(stats.delivered),
            num(stats.dead),
            num(report.conversions),
            num(report.duplicates),
          ],
        ],
      ),
    ].join('\n');
    return { title: 'Forwarder drain', markdown, targets: [], data: { backlog, seconds, stats, report, floor } };
  } finally {
    await forwarder?.stop();
    await outbox.close();
    await whop.stop();
    rmSync(dir, { recursive: true, force: true });
    rmSync(src.dir, { recursive: true, force: true });
  }
}
