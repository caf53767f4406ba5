// Ingest throughput and latency (printed, never asserted): the built relay (dist/relay/cli.js,
// SQLite outbox in WAL with synchronous=FULL, dry-run so nothing leaves the machine) against a bare
// node:http server answering 204 and the same relay over a MemoryOutbox (no disk), in the same run, each in its own process, loaded by autocannon
// from this process.
// Two passes: flat out (as fast as `connections` keep-alive clients can go), then at a fixed offered
// rate of `target` events/s (autocannon's overallRate), where the p99 is the figure that matters.
// Run: npm run build && node bench/ingest.mjs [seconds=10] [connections=50] [eventsPerRequest=1,10] [target=5000]
import autocannon from 'autocannon';
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const seconds = Number(process.argv[2] ?? 10);
const connections = Number(process.argv[3] ?? 50);
const sizes = (process.argv[4] ?? '1,10').split(',').map(Number);
const target = Number(process.argv[5] ?? 5000);

const SERVERS = {
  bare: `import { createServer } from 'node:http';
    const s = createServer((req, res) => { req.resume(); req.on('end', () => { res.writeHead(204); res.end(); }); });
    s.listen(0, '127.0.0.1', () => console.log('PORT ' + s.address().port));`,
  relay: `import { startRelay, relayConfigFromEnv } from './dist/relay/cli.js';
    const r = await startRelay({ ...relayConfigFromEnv({}), port: 0, host: '127.0.0.1', dataDir: process.env.DIR, rateLimit: false }, { print: () => {} });
    console.log('PORT ' + new URL(r.url).port);
    setInterval(() => console.log('RSS ' + process.memoryUsage().rss), 1000).unref();
    process.on('SIGTERM', () => r.close().then(() => process.exit(0)));`,
  // The same handler and adapter over a MemoryOutbox: what the relay costs without the durable write.
  memory: `import { createRelay, MemoryOutbox } from './dist/relay/index.js';
    import { serve } from './dist/relay/cli.js';
    const s = serve(createRelay({ outbox: new MemoryOutbox({ maxEvents: 1e7 }), rateLimit: false }), { port: 0, host: '127.0.0.1' });
    s.once('listening', () => console.log('PORT ' + s.address().port));
    setInterval(() => console.log('RSS ' + process.memoryUsage().rss), 1000).unref();
    process.on('SIGTERM', () => process.exit(0));`,
};

/** Starts one server in a child process; resolves with its port and a way to stop it. */
function start(kind, dir) {
  const child = spawn(process.execPath, ['--input-type=module', '-e', SERVERS[kind]], {
    env: { ...process.env, DIR: dir },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  let maxRss = 0;
  return new Promise((resolve, reject) => {
    child.stdout.setEncoding('utf8');
    child.stdout.on('data', (text) => {
      for (const line of text.split('\n')) {
        if (line.startsWith('PORT '))
          resolve({
            port: Number(line.slice(5)),
            pid: child.pid,
            stop: () => (child.kill('SIGTERM'), new Promise((ok) => child.once('exit', ok))),
            maxRss: () => maxRss,
          });
        if (line.startsWith('RSS ')) maxRss = Math.max(maxRss, Number(line.slice(4)));
      }
    });
    child.once('exit', (code) => reject(new Error(`${kind} server exited (${code})`)));
  });
}

/** CPU ms (user + system, all threads) a process has used so far, from /proc (Linux; NaN elsewhere). */
function cpuMs(pid) {
  try {
    const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ');
    return (Number(fields[11]) + Number(fields[12])) * 10; // utime, stime in clock ticks (USER_HZ = 100)
  } catch {
    return NaN;
  }
}

/** Loads `server` and returns autocannon's result with the server's CPU µs per answered request. */
async function measure(server, n, overallRate) {
  const before = cpuMs(server.pid);
  const r = await load(server.port, n, overallRate);
  r.cpuUs = ((cpuMs(server.pid) - before) * 1000) / Math.max(1, r['2xx']);
  return r;
}

let id = 0;
const batch = (n) =>
  JSON.stringify({
    events: Array.from({ length: n }, () => ({
      company_id: 'biz_bench',
      event_name: 'lead',
      event_id: `e${++id}`,
      action_source: 'website',
      url: 'https://shop.example/',
      user: { anonymous_id: 'aid-1' },
    })),
  });

function load(port, n, overallRate) {
  return autocannon({
    url: `http://127.0.0.1:${port}/wq/e`,
    connections,
    ...(overallRate ? { overallRate } : {}),
    duration: seconds,
    requests: [{ method: 'POST', headers: { 'content-type': 'text/plain' }, setupRequest: (req) => ({ ...req, body: batch(n) }) }],
  });
}

const dir = mkdtempSync(join(tmpdir(), 'whopq-ingest-'));
const rows = [];
for (const n of sizes) {
  for (const kind of ['bare', 'relay']) {
    const server = await start(kind, join(dir, `${kind}-${n}`));
    const r = await measure(server, n);
    await server.stop();
    const ok = r['2xx'];
    rows.push({
      kind,
      n,
      rate: 'max',
      reqs: r.requests.average,
      events: (ok / seconds) * n,
      p50: r.latency.p50,
      p99: r.latency.p99,
      non2xx: r.non2xx,
      errors: r.errors,
      rssMB: server.maxRss() / 1e6,
      cpuUs: r.cpuUs,
    });
  }
}
for (const [kind, n] of sizes.flatMap((n) => [
  ['relay', n],
  ['memory', n],
])) {
  const server = await start(kind, join(dir, `rate-${kind}-${n}`));
  const r = await measure(server, n, Math.ceil(target / n));
  await server.stop();
  rows.push({
    kind,
    n,
    rate: `${target}/s`,
    reqs: r.requests.average,
    events: (r['2xx'] / seconds) * n,
    p50: r.latency.p50,
    p99: r.latency.p99,
    non2xx: r.non2xx,
    errors: r.errors,
    rssMB: server.maxRss() / 1e6,
    cpuUs: r.cpuUs,
  });
}
rmSync(dir, { recursive: true, force: true });

console.log(`ingest, ${seconds}s per run, ${connections} connections, autocannon in a second process (${process.version})`);
// CPU µs/req: the server process's user + system time (every thread: the SQLite writer too) per
// answered request. Unlike rates it hardly depends on what else the machine is running.
console.log('server  offered   ev/req  req/s     events/s  p50 ms  p99 ms  non-2xx  errors  max RSS MB  CPU µs/req');
for (const r of rows)
  console.log(
    `${r.kind.padEnd(7)} ${r.rate.padEnd(8)} ${String(r.n).padStart(6)}  ${r.reqs.toFixed(0).padStart(7)}  ${r.events.toFixed(0).padStart(9)}  ${String(r.p50).padStart(6)}  ${String(r.p99).padStart(6)}  ${String(r.non2xx).padStart(7)}  ${String(r.errors).padStart(6)}  ${(r.kind !== 'bare' ? r.rssMB.toFixed(0) : '-').padStart(10)}  ${r.cpuUs.toFixed(0).padStart(10)}`,
  );
for (const n of sizes) {
  const bare = rows.find((r) => r.kind === 'bare' && r.n === n);
  const relay = rows.find((r) => r.kind === 'relay' && r.n === n && r.rate === 'max');
  console.log(
    `${n} event(s)/request: relay handles ${((relay.reqs / bare.reqs) * 100).toFixed(0)}% of the bare server's requests/s, at ${(relay.cpuUs / bare.cpuUs).toFixed(1)}× its CPU per request`,
  );
}
