// What one `whopq('track', …)` costs on the main thread in Chromium, and whether loading the
// snippet + bundle, init and the first track cause a long task (> 50 ms). Prints figures; not part
// of `npm test` (timings are no pass/fail material on a shared machine).
// track() itself only fixes the call's time, URL, user and companies; building the event (context
// cookies, ids, JSON), writing it to localStorage and starting delivery happen in the task the
// pixel schedules right after (setTimeout 0). Both are printed:
// the synchronous cost of the call, and the cost of the pixel's own timer tasks (measured by
// timing every callback the page hands to setTimeout; the bench's own timers bypass that).
//   node esbuild.config.mjs pixel && node bench/track-cost.mjs [calls=1000]
// BUNDLE=path/to/whopq.js measures another build (e.g. an earlier one, for a before/after figure).
import { chromium } from '@playwright/test';
import { readFileSync } from 'node:fs';
import { createServer } from 'node:http';
import { chromiumLaunchOptions } from '../scripts/chromium.mjs';

const CALLS = Number(process.argv[2]) || 1000;
const bundle = readFileSync(process.env.BUNDLE || 'dist/whopq.js');
/** In the page: nothing queued, in either format (one key per event, or the single array of earlier builds). */
const EMPTY =
  "!Object.keys(localStorage).some((k) => k.startsWith('wq_q1:')) && JSON.parse(localStorage.getItem('wq_q1') || '[]').length == 0";
const snippet = readFileSync('dist/snippet.min.js', 'utf8').trim();

// Cross-origin isolation (COOP+COEP) gives performance.now() 5 µs resolution instead of 100 µs.
const isolated = { 'cross-origin-opener-policy': 'same-origin', 'cross-origin-embedder-policy': 'require-corp' };
const observer = `<script>window.__long = []; new PerformanceObserver((l) => window.__long.push(...l.getEntries().map((e) => e.duration))).observe({ type: 'longtask', buffered: true });</script>`;
// Times each setTimeout callback of the page's scripts (the pixel's deferred commit + send).
const timers = `<script>window.__timers = []; window.__st = setTimeout; window.setTimeout = function (f, ms) { return __st(typeof f == 'function' ? function () { var t0 = performance.now(); try { f(); } finally { __timers.push(performance.now() - t0); } } : f, ms); };</script>`;
const page = `<!doctype html><html><head>${observer}${timers}
<script>${snippet}</script>
<script>whopq('init', 'biz_bench'); whopq('track', 'lead');</script>
</head><body>bench</body></html>`;
// The same page without whopq: long tasks seen here come from the machine, not from the pixel.
const baseline = `<!doctype html><html><head>${observer}</head><body>bench</body></html>`;
const LOADS = 5;

let posts = 0;
const server = createServer((req, res) => {
  if (req.method == 'POST') {
    posts++;
    req.resume();
    return req.on('end', () => res.writeHead(200).end('{"accepted":1}'));
  }
  if (req.url.startsWith('/wq/p.js')) return res.writeHead(200, { 'content-type': 'text/javascript', ...isolated }).end(bundle);
  res.writeHead(200, { 'content-type': 'text/html', ...isolated }).end(req.url.startsWith('/baseline') ? baseline : page);
});
await new Promise((r) => server.listen(0, '127.0.0.1', r));
const base = `http://127.0.0.1:${server.address().port}`;

const browser = await chromium.launch(chromiumLaunchOptions());
try {
  // Long tasks during load + init + first track, over fresh tabs, with and without the pixel.
  const longTasks = { pixel: [], baseline: [] };
  for (let i = 0; i < LOADS; i++) {
    for (const kind of ['pixel', 'baseline']) {
      const t = await browser.newPage();
      await t.goto(base + (kind == 'pixel' ? '/?fbclid=bench&utm_source=bench' : '/baseline'));
      if (kind == 'pixel') await t.waitForFunction(`${EMPTY} && window.whopq.version`, null, { timeout: 10_000 });
      await t.waitForTimeout(200);
      longTasks[kind].push(...(await t.evaluate(() => window.__long)));
      await t.close();
    }
  }
  const tab = await browser.newPage();
  await tab.goto(base + '/');
  await tab.waitForFunction(() => window.whopq && window.whopq.version);
  const load = { isolated: await tab.evaluate(() => crossOriginIsolated) };

  const pct = (xs, p) => xs[Math.min(xs.length - 1, Math.floor((p / 100) * xs.length))];
  const figures = async (label, drain) => {
    const ms = await tab.evaluate(
      async ({ n, drain }) => {
        const out = [];
        window.__timers.length = 0;
        for (let i = 0; i < n; i++) {
          const t0 = performance.now();
          whopq('track', 'lead', { value: i, currency: 'usd' });
          out.push(performance.now() - t0);
          // Let the sender deliver between calls (the usual case: one conversion per user action).
          if (drain) await new Promise((r) => window.__st(r, 0));
        }
        // The burst's deferred task runs once the loop yields.
        await new Promise((r) => window.__st(r, 50));
        return [out, window.__timers.slice()];
      },
      { n: CALLS, drain },
    );
    const [calls, deferred] = ms;
    const line = (what, xs) => {
      xs.sort((a, b) => a - b);
      return `${what.padEnd(52)} p50 ${pct(xs, 50).toFixed(3)} ms  p95 ${pct(xs, 95).toFixed(3)} ms  max ${xs.at(-1).toFixed(3)} ms`;
    };
    console.log(line(label + ': track() call', calls));
    console.log(line(`  then the pixel's timer tasks (${deferred.length})`, deferred));
    await tab.waitForFunction(EMPTY, null, { timeout: 60_000 });
  };

  // What the same page's primitives cost after a yield, in the same run: the floor any track()
  // sits on while the machine is loaded (a timed empty block catches preemption), a cookie read
  // (the context's _fbp/_fbc/_ga/_ttp) and the localStorage.setItem that track() no longer does.
  const reference = async () => {
    const r = await tab.evaluate(
      async (n) => {
        const value = JSON.stringify({ e: { event_name: 'lead', pad: 'x'.repeat(600) }, t: Date.now() });
        const out = { 'nothing (timer floor)': [], 'document.cookie read': [], 'localStorage.setItem, event-sized': [] };
        for (let i = 0; i < n; i++) {
          for (const k in out) {
            await new Promise((r) => window.__st(r, 0));
            const t0 = performance.now();
            if (k[0] == 'd') document.cookie;
            else if (k[0] == 'l') localStorage.setItem('bench_ref:' + i, value);
            out[k].push(performance.now() - t0);
          }
        }
        for (let i = 0; i < n; i++) localStorage.removeItem('bench_ref:' + i);
        return out;
      },
      Math.min(CALLS, 500),
    );
    for (const k in r) {
      const xs = r[k].sort((a, b) => a - b);
      console.log(`  ${k.padEnd(50)} p50 ${pct(xs, 50).toFixed(3)} ms  p95 ${pct(xs, 95).toFixed(3)} ms  max ${xs.at(-1).toFixed(3)} ms`);
    }
  };

  console.log(`whopq track cost, Chromium ${browser.version()}, ${CALLS} calls each, crossOriginIsolated=${load.isolated}`);
  await figures('track, sender drains between calls', true);
  await figures('track, back-to-back burst (queue fills to 100)', false);
  console.log('same page, same run, each after a yield (not whopq code):');
  await reference();
  const list = (xs) => `${xs.length}${xs.length ? ' (' + xs.map((d) => d.toFixed(0) + ' ms').join(', ') + ')' : ''}`;
  console.log(
    `long tasks over ${LOADS} loads + init + first track: ${list(longTasks.pixel)}; same page without whopq: ${list(longTasks.baseline)}`,
  );
  console.log(`batches POSTed to the relay stand-in: ${posts}`);
} finally {
  await browser.close();
  server.close();
}
