// Section 4: relay ingest. The relay runs as the product runs (`node bin/whopq.mjs relay`: SQLite
// outbox in WAL mode, an answer only after the durable write; dry-run, so nothing is forwarded),
// the bare node:http server in the same run as the ceiling, each in its own process. autocannon
// loads them from this process, on 127.0.0.1, for a fixed time; every request carries new event
// ids, a browser-sized body, the Origin a page would send.
import autocannon from 'autocannon';
import { closeSync, fsyncSync, mkdtempSync, openSync, readFileSync, rmSync, writeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { barChart } from './lib/barChart.mjs';
import { num, table, target } from './lib/markdown.mjs';
import { median, quantile } from './lib/stats.mjs';
import { startChild } from './lib/startChild.mjs';

const repo = new URL('..', import.meta.url).pathname;
/**
 * Concurrent connections. At 5,000 events/s the posts come from thousands of browsers, each sending
 * a few events per visit, so many requests are in flight at once: 50 is that load (and where the
 * targets are judged). 10 is also run: with few clients each waiting on a commit, commits stay
 * small, which shows what the per-commit cost (thread hand-off, fsync) does to the rate.
 */
const CONNECTIONS = [50, 10];
/** The load the targets are judged at. */
const JUDGED = 50;
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
        env: {
          PORT: '0',
          HOST: '127.0.0.1',
          WHOPQ_DATA_DIR: dir,
          WHOP_COMPANY_ID: 'biz_bench',
          WHOPQ_ORIGINS: ORIGIN,
          WHOPQ_RATE_LIMIT: 'off',
          WHOP_API_KEY: '',
        },
        ready: /listening on (http:\/\/\S+?) /,
      });
}

/** CPU seconds (user + system) a process has used so far, from /proc (Linux; NaN elsewhere). */
function cpuSeconds(pid) {
  try {
    const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ');
    return (Number(fields[11]) + Number(fields[12])) / 100; // utime, stime in clock ticks (USER_HZ = 100)
  } catch {
    return NaN;
  }
}

/** What one fsync costs on the disk the store lives on: the floor under every durable answer. */
function fsyncProbe(dir, times = 100) {
  const fd = openSync(join(dir, 'fsync-probe'), 'w');
  const page = Buffer.alloc(4096, 1);
  const ms = [];
  try {
    for (let i = 0; i < times; i++) {
      const t = performance.now();
      writeSync(fd, page, 0, page.length, (i % 16) * 4096);
      fsyncSync(fd);
      ms.push(performance.now() - t);
    }
  } finally {
    closeSync(fd);
  }
  return { p50: median(ms), p99: quantile(ms, 0.99) };
}

function load(url, n, seconds, connections) {
  return autocannon({
    url: `${url}/wq/e`,
    connections,
    duration: seconds,
    timeout: 10,
    requests: [
      { method: 'POST', headers: { 'content-type': 'text/plain', origin: ORIGIN }, setupRequest: (req) => ({ ...req, body: body(n) }) },
    ],
  });
}

/** Runs the section; `quick` loads each server for 3 s instead of 10. */
export async function relayIngest({ quick = false } = {}) {
  const seconds = quick ? 3 : 10;
  const dir = mkdtempSync(join(tmpdir(), 'whopq-bench-ingest-'));
  const rows = [];
  let fsync;
  try {
    fsync = fsyncProbe(dir);
    for (const c of CONNECTIONS)
      for (const n of [1, 10]) {
        for (const kind of ['bare', 'relay']) {
          const server = await startServer(kind, join(dir, `${kind}-${n}-${c}`));
          try {
            await load(server.url, n, 1, c); // warm-up: JIT, SQLite pages, sockets
            const cpuBefore = cpuSeconds(server.pid);
            const r = await load(server.url, n, seconds, c);
            const cpu = cpuSeconds(server.pid) - cpuBefore;
            const ok = r['2xx'];
            rows.push({
              kind,
              n,
              c,
              reqs: ok / seconds,
              events: (ok / seconds) * n,
              p50: r.latency.p50,
              p99: r.latency.p99,
              bad: r.non2xx + r.errors + r.timeouts,
              cpuPerEventUs: (cpu / (ok * n)) * 1e6,
              cpuShare: cpu / seconds,
            });
          } finally {
            await server.stop();
          }
        }
      }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  const at = (kind, n, c = JUDGED) => rows.find((r) => r.kind === kind && r.n === n && r.c === c);
  const ratio = (n, c = JUDGED) => at('relay', n, c).events / at('bare', n, c).events;
  const targets = [];
  for (const n of [1, 10]) {
    const label = `${n} event${n > 1 ? 's' : ''}/request`;
    // The pair, ≥ 5,000 events/s with p99 ≤ 20 ms, holds when some load tested gives both
    // at once (a p99 at full saturation measures the queue in front of the relay, not the relay).
    const relays = rows.filter((r) => r.kind === 'relay' && r.n === n);
    const both = relays.filter((r) => r.events >= 5000 && r.p99 <= 20).sort((x, y) => y.events - x.events)[0];
    const shown = both ?? at('relay', n);
    targets.push(
      target(
        !!both,
        `relay ingest ≥ 5,000 events/s with p99 ≤ 20 ms (${label})`,
        `${num(shown.events)} events/s, p99 ${shown.p99} ms at ${shown.c} connections`,
      ),
    );
    targets.push(
      target(ratio(n) >= 0.5, `relay ≥ 0.5 of the bare server's rate (${label}, ${JUDGED} connections)`, `${ratio(n).toFixed(2)}`),
    );
  }
  const markdown = [
    `autocannon, ${CONNECTIONS.join(' and ')} connections (at thousands of events/s the posts come from many browsers at once; the ratio is judged at ${JUDGED}, events/s with p99 at whichever load gives both), ${seconds} s per run after a 1 s warm-up, servers in child processes on 127.0.0.1. ` +
      "Relay: `node bin/whopq.mjs relay` (dry-run, company and origin allow-lists on, rate limit off), each answer after the SQLite WAL commit (synchronous=FULL) on the machine's disk. " +
      'Bare: node:http reading the body and answering 204. Same bodies for both (~420 B per event). Ratio = relay events/s ÷ bare events/s at the same batch size. ' +
      "Server CPU = the server process's user + system time during the run (/proc), per event and as a share of one core: unlike rates, it hardly moves with the machine's load. " +
      `One 4 KiB write + fsync on the store's disk took ${num(fsync.p50, 2)} ms median, ${num(fsync.p99, 2)} ms p99 in this run.`,
    '',
    table(
      [
        'server',
        'connections',
        'events/request',
        'requests/s',
        'events/s',
        'p50 ms',
        'p99 ms',
        'errors + non-2xx',
        'server CPU µs/event',
        'server CPU busy',
        'relay ÷ bare',
      ],
      rows.map((r) => [
        r.kind,
        r.c,
        r.n,
        num(r.reqs),
        num(r.events),
        r.p50,
        r.p99,
        r.bad,
        num(r.cpuPerEventUs),
        `${Math.round(r.cpuShare * 100)}%`,
        r.kind === 'relay' ? ratio(r.n, r.c).toFixed(2) : '',
      ]),
    ),
  ].join('\n');
  const chart = barChart({
    title: 'Ingest, events/s (relay with durable write vs bare node:http)',
    bars: rows.map((r) => ({ label: `${r.kind}, batch ${r.n}, ${r.c} conn.`, value: Math.round(r.events), highlight: r.kind === 'relay' })),
    unit: '/s',
  });
  const relay1 = at('relay', 1);
  const busy = Math.round(relay1.cpuShare * 100);
  const limits =
    `the relay spends ${num(relay1.cpuPerEventUs)} µs of CPU per single-event request against the bare server's ${num(at('bare', 1).cpuPerEventUs)} µs (parsing, validation, enrichment, the SQLite transaction, logging); ` +
    (busy >= 80
      ? `its process was busy ${busy}% of a core, so its rate is bound by that CPU cost (Node runs the handler on one thread). `
      : `its process was busy only ${busy}% of a core, so it also waits: on the commits and on a 2-core machine shared with autocannon and other work. `) +
    `Each answer waits for a SQLite WAL commit with synchronous=FULL, an fsync (${num(fsync.p50, 2)} ms median, ${num(fsync.p99, 2)} ms p99 on this disk in this run); requests landing in the same event-loop turn share one commit. ` +
    `At 10 connections the relay does ${num(at('relay', 1, 10).events)} events/s (${ratio(1, 10).toFixed(2)} of the bare server) at ${num(at('relay', 1, 10).cpuPerEventUs)} µs of CPU per event: with few clients each waiting on its answer, fewer requests share each commit, and each commit costs two thread hand-offs. ` +
    'The bare server does no I/O and no validation. bench/outbox.mjs measures the store alone, FULL vs NORMAL.';
  return { title: 'Relay ingest', markdown, targets, limits, charts: { 'ingest.svg': chart }, data: { rows, fsync } };
}
