// Section 4: relay ingest. The relay runs as the product runs (`node bin/whopq.mjs relay`: SQLite
// outbox in WAL mode, an answer only after the durable write; dry-run, so nothing is forwarded),
// the bare node:http server in the same run as the ceiling, each in its own process. autocannon
// loads them from this process, on 127.0.0.1, for a fixed time; every request carries new event
// ids, a browser-sized body, the Origin a page would send.
import autocannon from 'autocannon';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { barChart } from './lib/barChart.mjs';
import { num, table, target } from './lib/markdown.mjs';
import { startChild } from './lib/startChild.mjs';

const repo = new URL('..', import.meta.url).pathname;
/** Concurrent connections: a busy landing page's worth of browsers posting at once. */
const CONNECTIONS = 10;
const ORIGIN = 'https://shop.example';

let next = 0;
const event = () => ({
  company_id: 'biz_bench',
  event_name: 'lead',
  event_id: `bench_${process.pid}_${++next}`,
  event_time: new Date().toISOString(),
  action_source: 'website',
  url: 'https://shop.example/landing?utm_source=meta&utm_campaign=spring&fbclid=IwAR2bench',
  referrer_url: 'https://l.facebook.com/',
  context: { fbclid: 'IwAR2bench', utm_source: 'meta', utm_campaign: 'spring', fbp: 'fb.1.1700000000000.123456789' },
  user: { anonymous_id: '5f0c2a9e-3d8b-4c1e-9a67-0b2d4e6f8a1c' },
});
const body = (n) => JSON.stringify({ events: Array.from({ length: n }, event) });

function startServer(kind, dir) {
  return kind === 'bare'
    ? startChild({ args: [join(repo, 'bench/servers/bareServer.mjs')], ready: /listening on (http:\/\/\S+)/ })
    : startChild({
        args: [join(repo, 'bin/whopq.mjs'), 'relay'],
        cwd: repo,
        env: { PORT: '0', HOST: '127.0.0.1', WHOPQ_DATA_DIR: dir, WHOP_COMPANY_ID: 'biz_bench', WHOPQ_ORIGINS: ORIGIN, WHOPQ_RATE_LIMIT: 'off', WHOP_API_KEY: '' },
        ready: /listening on (http:\/\/\S+?) /,
      });
}

function load(url, n, seconds) {
  return autocannon({
    url: `${url}/wq/e`,
    connections: CONNECTIONS,
    duration: seconds,
    timeout: 10,
    requests: [{ method: 'POST', headers: { 'content-type': 'text/plain', origin: ORIGIN }, setupRequest: (req) => ({ ...req, body: body(n) }) }],
  });
}

/** Runs the section; `quick` loads each server for 3 s instead of 10. */
export async function relayIngest({ quick = false } = {}) {
  const seconds = quick ? 3 : 10;
  const dir = mkdtempSync(join(tmpdir(), 'whopq-bench-ingest-'));
  const rows = [];
  try {
    for (const n of [1, 10]) {
      for (const kind of ['bare', 'relay']) {
        const server = await startServer(kind, join(dir, `${kind}-${n}`));
        try {
          await load(server.url, n, 1); // warm-up: JIT, SQLite pages, sockets
          const r = await load(server.url, n, seconds);
          const ok = r['2xx'];
          rows.push({ kind, n, reqs: ok / seconds, events: (ok / seconds) * n, p50: r.latency.p50, p99: r.latency.p99, bad: r.non2xx + r.errors + r.timeouts });
        } finally {
          await server.stop();
        }
      }
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  const at = (kind, n) => rows.find((r) => r.kind === kind && r.n === n);
  const ratio = (n) => at('relay', n).events / at('bare', n).events;
  const targets = [];
  for (const n of [1, 10]) {
    const r = at('relay', n);
    const label = `${n} event${n > 1 ? 's' : ''}/request`;
    targets.push(target(r.events >= 5000, `relay ingest ≥ 5,000 events/s (${label})`, `${num(r.events)} events/s`));
    targets.push(target(ratio(n) >= 0.5, `relay ≥ 0.5 of the bare server's rate (${label})`, `${ratio(n).toFixed(2)}`));
    targets.push(target(r.p99 <= 20, `relay p99 ≤ 20 ms (${label})`, `${r.p99} ms`));
  }
  const markdown = [
    `autocannon, ${CONNECTIONS} connections, ${seconds} s per run after a 1 s warm-up, servers in child processes on 127.0.0.1. ` +
      'Relay: `node bin/whopq.mjs relay` (dry-run, company and origin allow-lists on, rate limit off), each answer after the SQLite WAL commit (synchronous=FULL) on the machine\'s disk. ' +
      'Bare: node:http reading the body and answering 204. Same bodies for both (~420 B per event). Ratio = relay events/s ÷ bare events/s at the same batch size.',
    '',
    table(
      ['server', 'events/request', 'requests/s', 'events/s', 'p50 ms', 'p99 ms', 'errors + non-2xx', 'relay ÷ bare'],
      rows.map((r) => [r.kind, r.n, num(r.reqs), num(r.events), r.p50, r.p99, r.bad, r.kind === 'relay' ? ratio(r.n).toFixed(2) : '']),
    ),
  ].join('\n');
  const chart = barChart({
    title: 'Ingest, events/s (relay with durable write vs bare node:http)',
    bars: rows.map((r) => ({ label: `${r.kind}, batch ${r.n}`, value: Math.round(r.events), highlight: r.kind === 'relay' })),
    unit: '/s',
  });
  return { title: 'Relay ingest', markdown, targets, charts: { 'ingest.svg': chart }, data: rows };
}
