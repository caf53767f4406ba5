// What page views cost the relay's ingest (printed, never asserted). The built relay runs as the
// product runs (`node bin/whopq.mjs relay`, SQLite outbox, an answer only after the durable write,
// dry-run so nothing leaves the machine), once per upstream (WHOPQ_UPSTREAM=conversions stores a
// page view as `skipped`, =events as an event to send), each loaded by autocannon with single-event
// requests as the pixel sends them: leads only, then a funnel of three page views per lead.
// Then the handler alone, in this process (createRelay over a MemoryOutbox, no HTTP, no disk): CPU
// µs per event for a lead and a page view, rounds alternated, the median kept, a figure that moves
// less with the machine's load than rates do.
// Run: npm run build && node bench/pageViews.mjs [seconds=5] [connections=20]
import autocannon from 'autocannon';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startChild } from './lib/startChild.mjs';

const seconds = Number(process.argv[2] ?? 5);
const connections = Number(process.argv[3] ?? 20);
const repo = new URL('..', import.meta.url).pathname;
const ORIGIN = 'https://shop.example';

let next = 0;
const common = () => ({
  company_id: 'biz_bench',
  event_id: `pv_${process.pid}_${++next}`,
  event_time: new Date().toISOString(),
  action_source: 'website',
  url: 'https://shop.example/landing?utm_source=meta&utm_campaign=spring&fbclid=IwAR2bench&msclkid=ms1',
  referrer_url: 'https://l.facebook.com/',
  context: {
    fbclid: 'IwAR2bench',
    msclkid: 'ms1',
    utm_source: 'meta',
    utm_campaign: 'spring',
    fbp: 'fb.1.1700000000000.123456789',
    language: 'en-US',
    timezone: 'Europe/Paris',
    screen_resolution: '1920x1080',
  },
  user: { anonymous_id: '5f0c2a9e-3d8b-4c1e-9a67-0b2d4e6f8a1c', linked_wuid: 'wuid_k3j9x2m1p8q4r7s0t5u6' },
});
const lead = () => JSON.stringify({ events: [{ ...common(), event_name: 'lead' }] });
const page = () =>
  JSON.stringify({ events: [{ ...common(), event_name: 'page', title: 'Spring sale: the landing page', resumed: false }] });
const MIXES = {
  'leads only': () => lead(),
  '3 page views per lead': () => (next % 4 === 3 ? lead() : page()),
};

function cpuSeconds(pid) {
  try {
    const f = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ');
    return (Number(f[11]) + Number(f[12])) / 100;
  } catch {
    return NaN;
  }
}

const load = (url, make, duration) =>
  autocannon({
    url: `${url}/wq/e`,
    connections,
    duration,
    timeout: 10,
    requests: [
      { method: 'POST', headers: { 'content-type': 'text/plain', origin: ORIGIN }, setupRequest: (req) => ({ ...req, body: make() }) },
    ],
  });

const dir = mkdtempSync(join(tmpdir(), 'whopq-bench-pages-'));
const rows = [];
try {
  for (const upstream of ['conversions', 'events']) {
    for (const [mix, make] of Object.entries(MIXES)) {
      const server = await startChild({
        args: [join(repo, 'bin/whopq.mjs'), 'relay'],
        cwd: repo,
        env: {
          PORT: '0',
          HOST: '127.0.0.1',
          WHOPQ_DATA_DIR: join(dir, `${upstream}-${rows.length}`),
          WHOP_COMPANY_ID: 'biz_bench',
          WHOPQ_ORIGINS: ORIGIN,
          WHOPQ_RATE_LIMIT: 'off',
          WHOP_API_KEY: '',
          WHOPQ_UPSTREAM: upstream,
        },
        ready: /listening on (http:\/\/\S+?) /,
      });
      try {
        await load(server.url, make, 1); // warm-up
        const before = cpuSeconds(server.pid);
        const r = await load(server.url, make, seconds);
        const cpu = cpuSeconds(server.pid) - before;
        rows.push({
          upstream,
          mix,
          'events/s': Math.round(r['2xx'] / seconds),
          'p50 ms': r.latency.p50,
          'p99 ms': r.latency.p99,
          'non-2xx+errors': r.non2xx + r.errors + r.timeouts,
          'CPU µs/event': Math.round((cpu / r['2xx']) * 1e6),
        });
      } finally {
        await server.stop();
      }
    }
  }
} finally {
  rmSync(dir, { recursive: true, force: true });
}
console.log(
  `bodies: lead ${lead().length} B, page view ${page().length} B; ${seconds} s per run after a 1 s warm-up, ${connections} connections`,
);
console.table(rows);

const { createRelay, MemoryOutbox } = await import('../dist/relay/index.js');
const cost = [];
for (const upstream of ['conversions', 'events']) {
  const relay = createRelay({ outbox: new MemoryOutbox({ maxEvents: 1e7 }), companies: ['biz_bench'], rateLimit: false, upstream });
  const post = (body) =>
    relay.fetch(
      new Request('http://shop.example/wq/e', {
        method: 'POST',
        headers: { 'content-type': 'text/plain', origin: 'http://shop.example' },
        body,
      }),
      { remoteAddress: '203.0.113.9' },
    );
  for (let i = 0; i < 2000; i++) await post(i % 2 ? lead() : page()); // warm-up
  const per = { lead: [], page: [] };
  for (let round = 0; round < 5; round++) {
    for (const [name, make] of [
      ['lead', lead],
      ['page', page],
    ]) {
      const bodies = Array.from({ length: 3000 }, make);
      const t = process.cpuUsage();
      for (const b of bodies) if ((await post(b)).status !== 200) throw new Error('refused');
      const d = process.cpuUsage(t);
      per[name].push((d.user + d.system) / bodies.length);
    }
  }
  const median = (xs) => xs.sort((a, b) => a - b)[xs.length >> 1];
  cost.push({ upstream, 'lead CPU µs': Math.round(median(per.lead)), 'page view CPU µs': Math.round(median(per.page)) });
}
console.log('handler alone (createRelay + MemoryOutbox, median of 5 rounds of 3,000 single-event requests):');
console.table(cost);
