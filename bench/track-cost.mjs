// What one `whopq('track', …)` costs on the main thread in Chromium, and whether loading the
// snippet + bundle, init and the first track cause a long task (> 50 ms). Prints figures; not part
// of `npm test` (timings are no pass/fail material on a shared machine).
//   node esbuild.config.mjs pixel && node bench/track-cost.mjs [calls=1000]
import { chromium } from '@playwright/test';
import { readFileSync } from 'node:fs';
import { createServer } from 'node:http';
import { chromiumLaunchOptions } from '../scripts/chromium.mjs';

const CALLS = Number(process.argv[2]) || 1000;
const bundle = readFileSync('dist/whopq.js');
const snippet = readFileSync('dist/snippet.min.js', 'utf8').trim();

// Cross-origin isolation (COOP+COEP) gives performance.now() 5 µs resolution instead of 100 µs.
const isolated = { 'cross-origin-opener-policy': 'same-origin', 'cross-origin-embedder-policy': 'require-corp' };
const page = `<!doctype html><html><head>
<script>window.__long = []; new PerformanceObserver((l) => window.__long.push(...l.getEntries().map((e) => e.duration))).observe({ type: 'longtask', buffered: true });</script>
<script>${snippet}</script>
<script>whopq('init', 'biz_bench'); whopq('track', 'lead'); window.__firstTrackQueued = performance.now();</script>
</head><body>bench</body></html>`;

let posts = 0;
const server = createServer((req, res) => {
  if (req.method == 'POST') {
    posts++;
    req.resume();
    return req.on('end', () => res.writeHead(200).end('{"accepted":1}'));
  }
  if (req.url.startsWith('/wq/p.js')) return res.writeHead(200, { 'content-type': 'text/javascript', ...isolated }).end(bundle);
  res.writeHead(200, { 'content-type': 'text/html', ...isolated }).end(page);
});
await new Promise((r) => server.listen(0, '127.0.0.1', r));
const base = `http://127.0.0.1:${server.address().port}`;

const browser = await chromium.launch(chromiumLaunchOptions());
try {
  const tab = await browser.newPage();
  await tab.goto(base + '/?fbclid=bench&utm_source=bench');
  await tab.waitForFunction(() => window.whopq && window.whopq.version);
  // Let the first event go out and any long task be reported.
  await tab.waitForFunction(() => JSON.parse(localStorage.getItem('wq_q1') || '[]').length == 0, null, { timeout: 10_000 });
  await tab.waitForTimeout(200);
  const load = await tab.evaluate(() => ({
    longTasks: window.__long,
    isolated: crossOriginIsolated,
    bundleEnd: performance.getEntriesByName(location.origin + '/wq/p.js')[0]?.responseEnd,
  }));

  const pct = (xs, p) => xs[Math.min(xs.length - 1, Math.floor((p / 100) * xs.length))];
  const figures = async (label, drain) => {
    const ms = await tab.evaluate(
      async ({ n, drain }) => {
        const out = [];
        for (let i = 0; i < n; i++) {
          const t0 = performance.now();
          whopq('track', 'lead', { value: i, currency: 'usd' });
          out.push(performance.now() - t0);
          // Let the sender deliver between calls (the usual case: one conversion per user action).
          if (drain) await new Promise((r) => setTimeout(r, 0));
        }
        return out;
      },
      { n: CALLS, drain },
    );
    ms.sort((a, b) => a - b);
    console.log(`${label.padEnd(44)} p50 ${pct(ms, 50).toFixed(3)} ms  p95 ${pct(ms, 95).toFixed(3)} ms  max ${ms.at(-1).toFixed(3)} ms`);
    await tab.waitForFunction(() => JSON.parse(localStorage.getItem('wq_q1') || '[]').length == 0, null, { timeout: 60_000 });
  };

  console.log(`whopq track cost, Chromium ${browser.version()}, ${CALLS} calls each, crossOriginIsolated=${load.isolated}`);
  await figures('track, sender drains between calls', true);
  await figures('track, back-to-back burst (queue fills to 100)', false);
  console.log(`long tasks during load + init + first track: ${load.longTasks.length}${load.longTasks.length ? ' (' + load.longTasks.map((d) => d.toFixed(0) + ' ms').join(', ') + ')' : ''}`);
  console.log(`batches POSTed to the relay stand-in: ${posts}`);
} finally {
  await browser.close();
  server.close();
}
