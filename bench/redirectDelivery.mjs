// Section 3: "track, then navigate away at once" (a lead form that redirects to checkout), N times
// per delivery strategy; the share of events that reached the collector.
//  - whopq: the snippet and bundle loaded, `whopq('track', …)` then `location.href = <other site>`
//    in the same task. Storage and cookies are wiped between trials, so no event can ride in on a
//    later page load from the localStorage queue: only what left before or during the unload counts.
//  - the patterns peers use, with a body of the same size: plain fetch, fetch keepalive,
//    sendBeacon, image pixel. These keep no state, so one context serves all their trials.
// The page navigated to is on another origin (another port), like a checkout host, and answers at
// once; the landing site sits behind a proxy that keeps each collector request on the wire for
// HOLD_MS (see lib/startDelayProxy.mjs), so a request the browser cancels at unload is lost as on a
// real network.
import { barChart } from './lib/barChart.mjs';
import { CONTEXT_OPTIONS, launchBrowser } from './lib/launchBrowser.mjs';
import { table, target } from './lib/markdown.mjs';
import { startBenchSite } from './lib/startBenchSite.mjs';
import { startDelayProxy } from './lib/startDelayProxy.mjs';
import { PEERS } from './peers.mjs';

/** How long each request from the landing page stays on the wire (about one RTT on a phone network). */
const HOLD_MS = 80;

const SEND = {
  'plain fetch': (url, body) => fetch(url, { method: 'POST', body, headers: { 'content-type': 'text/plain' } }),
  'fetch keepalive': (url, body) => fetch(url, { method: 'POST', body, keepalive: true, headers: { 'content-type': 'text/plain' } }),
  sendBeacon: (url, body) => navigator.sendBeacon(url, body),
  'image pixel': (url, body) => (new Image().src = `${url}?d=${encodeURIComponent(body)}`),
};

const trialsIn = (hits, path) =>
  new Set(
    hits
      .filter((h) => h.path === path)
      .flatMap((h) => [...(h.body + decodeURIComponent(h.query)).matchAll(/trial_(\d+)/g)].map((m) => Number(m[1]))),
  );

async function whopqTrials(browser, site, via, away, n) {
  const context = await browser.newContext(CONTEXT_OPTIONS);
  try {
    const page = await context.newPage();
    for (let i = 0; i < n; i++) {
      await page.goto(`${via.origin}/r/whopq`, { waitUntil: 'load' });
      await page.evaluate(
        ([id, to]) => {
          window.whopq('track', 'lead', {}, { event_id: id });
          location.href = to;
        },
        [`trial_${i}`, `${away.origin}/away`],
      );
      await page.waitForURL(`${away.origin}/away`);
      // Give the browser's in-flight keepalive/beacon requests up to 3 s, then wipe the site's
      // storage and cookies (on a page without the pixel) so a lost event cannot ride in on the
      // next trial's page load: only what left before or during the unload counts.
      await site.waitFor((h) => trialsIn(h, '/wq/e').has(i), 3_000);
      await page.goto(`${via.origin}/r/empty`, { waitUntil: 'load' });
      await page.evaluate(() => (localStorage.clear(), sessionStorage.clear()));
      await context.clearCookies();
    }
  } finally {
    await context.close();
  }
  return trialsIn(site.hits, '/wq/e').size;
}

async function patternTrials(browser, site, via, away, pattern, n) {
  const context = await browser.newContext(CONTEXT_OPTIONS);
  const path = `/c/${pattern.replace(/\W/g, '')}`;
  try {
    const page = await context.newPage();
    for (let i = 0; i < n; i++) {
      await page.goto(`${via.origin}/r/empty`, { waitUntil: 'load' });
      await page.evaluate(
        ([send, url, body, to]) => {
          // The strategy's code arrives as text so the page runs exactly what is in SEND.
          new Function('url', 'body', `return (${send})(url, body)`)(url, body);
          location.href = to;
        },
        [
          SEND[pattern].toString(),
          path,
          JSON.stringify({ event_id: `trial_${i}`, event_name: 'lead', url: `${via.origin}/r/empty`, pad: 'x'.repeat(220) }),
          `${away.origin}/away`,
        ],
      );
      await page.waitForURL(`${away.origin}/away`);
    }
    // Late arrivals: anything still in flight gets 3 s.
    await site.waitFor((h) => trialsIn(h, path).size >= n, 3_000);
  } finally {
    await context.close();
  }
  return trialsIn(site.hits, path).size;
}

/** Runs the section; `quick` runs 20 trials per strategy instead of 100. */
export async function redirectDelivery({ quick = false } = {}) {
  const n = quick ? 20 : 100;
  const awaySite = await startBenchSite({ pages: { '/away': '<!doctype html><title>Checkout</title><p>Another site.</p>' } });
  const site = await startBenchSite({
    pages: {
      '/r/whopq': `<!doctype html><html><head><meta charset="utf-8"><title>Lead</title>${PEERS[0].head().replace(/whopq\('track','lead'\);/, '')}</head><body><form>…</form></body></html>`,
      '/r/empty': '<!doctype html><html><head><meta charset="utf-8"><title>Lead</title></head><body><form>…</form></body></html>',
    },
  });
  const via = await startDelayProxy({ target: site.origin, holdMs: HOLD_MS, passThrough: /^GET \/(r\/|wq\/p)/ });
  const browser = await launchBrowser();
  const results = [];
  try {
    results.push({ name: 'whopq', got: await whopqTrials(browser, site, via, awaySite, n) });
    for (const pattern of Object.keys(SEND))
      results.push({ name: pattern, got: await patternTrials(browser, site, via, awaySite, pattern, n) });
  } finally {
    await browser.close();
    await via.close();
    await site.close();
    await awaySite.close();
  }
  const pct = (r) => (100 * r.got) / n;
  const whopq = results[0];
  const markdown = [
    `${n} trials per strategy: the page calls track, then sets \`location.href\` to another origin in the same task. Requests to the collector spend ${HOLD_MS} ms on the wire (a proxy holds them; pages, the bundle and the page navigated to are served at once), so a request cancelled at unload is lost. Counted: distinct events that reached the collector (whopq: within 3 s of its trial, after which the site's storage and cookies are wiped, so the localStorage queue cannot deliver it later).`,
    '',
    table(
      ['strategy', 'delivered', 'share'],
      results.map((r) => [r.name, `${r.got}/${n}`, `${pct(r).toFixed(0)}%`]),
    ),
  ].join('\n');
  const chart = barChart({
    title: 'Events delivered when the page navigates away at once, %',
    bars: results.map((r) => ({ label: r.name, value: pct(r), highlight: r === whopq })),
    unit: '%',
  });
  return {
    title: 'Delivery on redirect',
    markdown,
    targets: [target(whopq.got === n, '100% delivery on redirect for whopq', `${whopq.got}/${n}`)],
    charts: { 'redirect.svg': chart },
    data: results,
  };
}
