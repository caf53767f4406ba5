// The pixel in a real Chromium, loaded through the snippet from a tiny first-party server that also
// stands in for the relay's ingest (POST /wq/e) and records every body it receives.
// Needs the built pixel: `node esbuild.config.mjs pixel && npx playwright test e2e/pixel.spec.ts`.
import { expect, type Page, test } from '@playwright/test';
import { CHROMIUM_ARGS, chromiumLaunchOptions } from '../scripts/chromium.mjs';
import { readFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

interface Received {
  status: number;
  events: Record<string, any>[];
}

interface Site {
  base: string;
  received: Received[];
  /** The query of each ingest request (the pixel's cookie domain hint). */
  hints: string[];
  /** Statuses the ingest answers in turn; 200 once empty. */
  statuses: number[];
  /** Answer 404 for the debug build, like a relay that serves only p.js. */
  noDebugBuild?: boolean;
  server: Server;
}

const bundle = readFileSync('dist/whopq.js');
const debugBundle = readFileSync('dist/whopq.debug.js');
const NONCE = 'r4nd0mN0nce';
/** The snippet as sellers paste it, each of its tags given the page's nonce. */
const snippet = readFileSync('dist/snippet.html', 'utf8')
  .trim()
  .replace(/<script\b/g, `<script nonce="${NONCE}"`);

/**
 * The snippet sellers pasted before it carried the bundle's tag: one script that inserts the tag
 * itself, passing its nonce on. Pages keep it for years; the bundle must keep working behind it.
 */
const LEGACY_SNIPPET = `<script nonce="${NONCE}">(function(r,n,i,o){if(!r.whopq){var e=r.whopq=function(){e.q.push([[].slice.call(arguments),Date.now(),location.href])};e.q=[];var c=n.currentScript||n.querySelector("script[nonce]"),t=n.createElement("script");t.async=!0,t.src=i,c&&c.nonce&&(t.nonce=c.nonce),n.head.appendChild(t),addEventListener("pagehide",function(){try{var a=JSON.stringify(e.q);r.whopq==e&&e.q[0]&&!localStorage.wq_r&&(!/requireConsent":true/.test(a)||/"consent","grant"/.test(a))&&(localStorage[o]=JSON.stringify(JSON.parse(localStorage[o]||"[]").concat(e.q)),e.q=[])}catch{}})}})(window,document,"/wq/p.js","wq_s");</script>`;

/** The page's Content Security Policy reports on the console, as they come. */
function cspReports(page: Page): string[] {
  const seen: string[] = [];
  page.on('console', (m) => m.text().includes('Content Security Policy') && seen.push(m.text()));
  return seen;
}

/** A landing page: the snippet (twice when asked) and init. CSP allows only the nonce. */
function landing(opts: { twice?: boolean; extraBundle?: boolean; legacy?: boolean }): string {
  const tag = opts.legacy ? LEGACY_SNIPPET : snippet;
  return `<!doctype html><html><head>${tag}${opts.twice ? tag : ''}
<script nonce="${NONCE}">whopq('init', 'biz_e2eTest');</script>
${opts.extraBundle ? `<script nonce="${NONCE}" src="/wq/p.js"></script>` : ''}
</head><body><h1>Landing</h1><a id="next" href="/thanks">next</a></body></html>`;
}

async function startSite(): Promise<Site> {
  const site = { received: [], hints: [], statuses: [] } as unknown as Site;
  site.server = createServer((req, res) => {
    const url = new URL(req.url!, 'http://x');
    if (req.method == 'POST' && url.pathname == '/wq/e') {
      let body = '';
      req.on('data', (c) => (body += c));
      req.on('end', () => {
        const status = site.statuses.shift() ?? 200;
        site.received.push({ status, events: JSON.parse(body).events });
        site.hints.push(url.search);
        res.writeHead(status, status == 503 ? { 'retry-after': '1' } : {}).end('{}');
      });
      return;
    }
    const csp = { 'content-security-policy': `script-src 'nonce-${NONCE}'`, 'content-type': 'text/html' };
    if (url.pathname == '/wq/p.js') return res.writeHead(200, { 'content-type': 'text/javascript' }).end(bundle);
    if (url.pathname == '/wq/p.debug.js' && !site.noDebugBuild)
      return res.writeHead(200, { 'content-type': 'text/javascript' }).end(debugBundle);
    if (url.pathname == '/landing') return res.writeHead(200, csp).end(landing({}));
    if (url.pathname == '/legacy') return res.writeHead(200, csp).end(landing({ legacy: true }));
    if (url.pathname == '/twice') return res.writeHead(200, csp).end(landing({ twice: true, extraBundle: true }));
    // A page without the pixel: whatever arrives after navigating here was sent by the page before.
    if (url.pathname == '/thanks') return res.writeHead(200, { 'content-type': 'text/html' }).end('<!doctype html><p>Thanks</p>');
    res.writeHead(404).end();
  });
  await new Promise<void>((r) => site.server.listen(0, '127.0.0.1', r));
  site.base = `http://127.0.0.1:${(site.server.address() as AddressInfo).port}`;
  return site;
}

/** The queue in a page's localStorage: one `wq_q1:<time>:<company>:<event_id>` key per event, oldest first. */
const queued = (p: Page) =>
  p.evaluate(() =>
    Object.keys(localStorage)
      .filter((k) => k.startsWith('wq_q1:'))
      .sort()
      .map((k) => JSON.parse(localStorage.getItem(k)!)),
  );

/** The events the relay accepted (2xx) so far, page views aside. */
const accepted = (site: Site) =>
  site.received
    .filter((r) => r.status == 200)
    .flatMap((r) => r.events)
    .filter((e) => e.event_name != 'page');

/** The page views the relay accepted (2xx) so far. */
const pageViews = (site: Site) =>
  site.received
    .filter((r) => r.status == 200)
    .flatMap((r) => r.events)
    .filter((e) => e.event_name == 'page');

/**
 * Waits until the relay has accepted an event matching `partial` and returns it; on timeout the
 * failure shows everything the relay received.
 */
async function expectEvent(site: Site, partial: Record<string, unknown>, timeout = 15_000): Promise<Record<string, any>> {
  let found: Record<string, any> | undefined;
  await expect
    .poll(
      () => {
        found = accepted(site).find((e) => {
          try {
            expect(e).toMatchObject(partial);
            return true;
          } catch {
            return false;
          }
        });
        return found ? 'found' : JSON.stringify(site.received, null, 1);
      },
      { timeout, message: `no accepted event matching ${JSON.stringify(partial)}` },
    )
    .toBe('found');
  return found!;
}

// Chromium resolves *.whopq-test.co.uk to the test server, so the cookie-domain probe meets a real
// public suffix (co.uk) from the browser's own list. Other hosts resolve as usual.
test.use({
  launchOptions: { ...chromiumLaunchOptions(), args: [...CHROMIUM_ARGS, '--host-resolver-rules=MAP *.whopq-test.co.uk 127.0.0.1'] },
});

let site: Site;
test.beforeEach(async () => {
  site = await startSite();
});
test.afterEach(() => {
  site.server.close();
});

test('a page opened from an ad: a page view on load, and an event carrying the click on its URL for the relay', async ({ page }) => {
  await page.goto(site.base + '/landing?fbclid=IwAR_e2e&utm_source=meta&utm_campaign=spring');
  await page.waitForFunction(() => (window as any).whopq?.version);
  await page.evaluate(() => (window as any).whopq('track', 'lead', { value: 5, currency: 'usd' }));
  const e = await expectEvent(site, { event_name: 'lead' });
  expect(e).toMatchObject({
    company_id: 'biz_e2eTest',
    action_source: 'website',
    value: 5,
    currency: 'usd',
    context: { screen_resolution: expect.stringMatching(/^\d+x\d+$/) },
  });
  // The relay reads the click from the URL and keeps it in its own cookie (the pixel no longer parses it).
  expect(e.url).toBe(site.base + '/landing?fbclid=IwAR_e2e&utm_source=meta&utm_campaign=spring');
  expect(e.context.fbclid).toBeUndefined();
  expect(e.context.ip_address).toBeUndefined();
  expect(e.user.anonymous_id).toMatch(/^[0-9a-f]{32}$/);
  expect(pageViews(site)).toEqual([
    expect.objectContaining({ url: e.url, title: '', user: expect.objectContaining({ anonymous_id: e.user.anonymous_id }) }),
  ]);
  const cookies = await page.context().cookies();
  expect(cookies.map((c) => c.name)).toEqual(expect.arrayContaining(['wq_aid', '_fbp']));
  expect(cookies.map((c) => c.name)).not.toContain('wq_t');
});

test('an event tracked right before navigating away still arrives', async ({ page }) => {
  await page.goto(site.base + '/landing?gclid=G_e2e');
  await page.waitForFunction(() => (window as any).whopq?.version);
  await Promise.all([
    page.waitForURL('**/thanks'),
    page.evaluate(() => {
      (window as any).whopq('track', 'submit_application');
      location.href = '/thanks';
    }),
  ]);
  const e = await expectEvent(site, { event_name: 'submit_application' });
  expect(e.url).toBe(site.base + '/landing?gclid=G_e2e');
});

test('an event tracked in a submit handler, the form then navigating, still arrives', async ({ page }) => {
  await page.goto(site.base + '/landing?utm_source=form');
  await page.waitForFunction(() => (window as any).whopq?.version);
  await Promise.all([
    page.waitForURL('**/thanks?'),
    page.evaluate(() => {
      const form = document.createElement('form');
      form.action = '/thanks';
      form.addEventListener('submit', () => (window as any).whopq('track', 'complete_registration'));
      document.body.append(form);
      form.requestSubmit();
    }),
  ]);
  await expectEvent(site, { event_name: 'complete_registration', url: site.base + '/landing?utm_source=form' });
});

test('an event tracked right before navigating away, its sends refused, is in storage and goes on the next load', async ({ page }) => {
  // The fetch (if the sender's task ran before the page left) and the beacon at pagehide both get 503.
  site.statuses.push(503, 503);
  await page.goto(site.base + '/landing');
  await page.waitForFunction(() => (window as any).whopq?.version);
  const id = 'nav-' + Date.now();
  await Promise.all([
    page.waitForURL('**/thanks'),
    page.evaluate((id) => {
      (window as any).whopq('track', 'contact', {}, { event_id: id });
      location.href = '/thanks';
    }, id),
  ]);
  await expect.poll(() => site.received.length).toBeGreaterThan(0);
  await page.goto(site.base + '/landing');
  await expectEvent(site, { event_id: id });
  expect(accepted(site).filter((e) => e.event_id == id)).toHaveLength(1);
});

test("an event tracked by the page's own last listener (visibilitychange, after the pixel's) is stored, and goes on the next load", async ({
  page,
}) => {
  await page.goto(site.base + '/landing');
  await page.waitForFunction(() => (window as any).whopq?.version);
  const id = 'late-' + Date.now();
  // Leaving fires pagehide, then visibilitychange: this listener runs after every one of the
  // pixel's, and no task of the page runs after it.
  await page.evaluate(
    (id) =>
      document.addEventListener('visibilitychange', () => document.hidden && (window as any).whopq('track', 'lead', {}, { event_id: id })),
    id,
  );
  await page.click('#next');
  await page.waitForURL('**/thanks');
  await page.goto(site.base + '/landing');
  await expectEvent(site, { event_id: id });
});

test('a relay answering 503 gets the event again, same event_id, once it recovers', async ({ page }) => {
  await page.goto(site.base + '/landing');
  await page.waitForFunction(() => (window as any).whopq?.version);
  await expect.poll(() => pageViews(site).length).toBe(1);
  site.statuses.push(503);
  await page.evaluate(() => (window as any).whopq('track', 'schedule'));
  const e = await expectEvent(site, { event_name: 'schedule' });
  expect(site.received[1]).toMatchObject({ status: 503, events: [{ event_id: e.event_id }] });
  expect(accepted(site).filter((x) => x.event_name == 'schedule')).toHaveLength(1);
});

test('snippet pasted twice and the bundle loaded twice, under a nonce-only CSP: one pixel, one event', async ({ page }) => {
  const csp = cspReports(page);
  await page.goto(site.base + '/twice?ttclid=TT1');
  await page.waitForFunction(() => (window as any).whopq?.version);
  await page.evaluate(() => (window as any).whopq('track', 'contact'));
  await expectEvent(site, { event_name: 'contact', url: site.base + '/twice?ttclid=TT1' });
  expect(pageViews(site)).toHaveLength(1);
  // A later event on the same page arriving means anything sent before it has arrived too.
  await page.evaluate(() => (window as any).whopq('track', 'lead'));
  await expectEvent(site, { event_name: 'lead' });
  expect(accepted(site).filter((x) => x.event_name == 'contact')).toHaveLength(1);
  expect(csp).toEqual([]);
});

test('a page with the earlier one-script snippet, under a nonce-only CSP: the bundle it inserts sends the page view and the event', async ({
  page,
}) => {
  const csp = cspReports(page);
  await page.goto(site.base + '/legacy?gclid=OLD1');
  await page.waitForFunction(() => (window as any).whopq?.version);
  await page.evaluate(() => (window as any).whopq('track', 'lead'));
  await expectEvent(site, { event_name: 'lead', url: site.base + '/legacy?gclid=OLD1' });
  expect(pageViews(site)).toHaveLength(1);
  expect(await page.locator('script[src="/wq/p.js"]').count()).toBe(1);
  expect(csp).toEqual([]);
});

test('the next page load confirms beaconed events by fetch, with the same event_id', async ({ page }) => {
  await page.goto(site.base + '/landing');
  await page.waitForFunction(() => (window as any).whopq?.version);
  // Offline: fetch pauses, so the event waits in the queue.
  await page.context().setOffline(true);
  await page.evaluate(() => (window as any).whopq('track', 'complete_registration'));
  const held = await queued(page);
  expect(held).toHaveLength(1);
  await page.context().setOffline(false);
  await page.goto(site.base + '/landing');
  const e = await expectEvent(site, { event_name: 'complete_registration' });
  expect(e.event_id).toBe(held[0].e.event_id);
  await expect.poll(async () => (await queued(page)).length).toBe(0);
});

test('two tabs sharing one queue deliver each event once (Web Locks)', async ({ context }) => {
  const [a, b] = [await context.newPage(), await context.newPage()];
  for (const p of [a, b]) {
    await p.goto(site.base + '/landing');
    await p.waitForFunction(() => (window as any).whopq?.version);
  }
  await context.setOffline(true);
  // No waiting for one tab's write to reach the other: each event has a key of its own.
  await Promise.all([
    a.evaluate(() => (window as any).whopq('track', 'lead', {}, { event_id: 'tab-a' })),
    b.evaluate(() => (window as any).whopq('track', 'lead', {}, { event_id: 'tab-b' })),
  ]);
  // Both tabs see both events in the shared queue; going online wakes both senders at once.
  for (const p of [a, b]) await expect.poll(async () => (await queued(p)).map((i) => i.e.event_id).sort()).toEqual(['tab-a', 'tab-b']);
  await context.setOffline(false);
  await expectEvent(site, { event_id: 'tab-a' });
  await expectEvent(site, { event_id: 'tab-b' });
  for (const p of [a, b]) await expect.poll(async () => (await queued(p)).length).toBe(0);
  const ids = accepted(site).map((e) => e.event_id);
  expect(ids.sort()).toEqual(['tab-a', 'tab-b']);
});

test('two tabs tracking 20 events each at the same moment: every event arrives, each once', async ({ context }) => {
  const N = 20;
  const [a, b] = [await context.newPage(), await context.newPage()];
  for (const p of [a, b]) {
    await p.goto(site.base + '/landing');
    await p.waitForFunction(() => (window as any).whopq?.version);
  }
  // Both tabs enqueue in the same instants, interleaved, no waiting for one call before the next,
  // while both senders drain the shared queue: a read-modify-write of one shared array lost events here.
  const track = (p: Page, id: string) => p.evaluate((id) => (window as any).whopq('track', 'lead', {}, { event_id: id }), id);
  await Promise.all(Array.from({ length: N }, (_, i) => [track(a, 'a-' + i), track(b, 'b-' + i)]).flat());
  const want = ['a', 'b'].flatMap((t) => Array.from({ length: N }, (_, i) => t + '-' + i)).sort();
  await expect
    .poll(() => [...new Set(accepted(site).map((e) => e.event_id))].sort(), { timeout: 30_000, message: 'every event reaches the relay' })
    .toEqual(want);
  for (const p of [a, b]) await expect.poll(async () => (await queued(p)).length).toBe(0);
  // Exactly once each: no event was sent twice either (one sender at a time through Web Locks).
  const ids = accepted(site).map((e) => e.event_id);
  expect(ids.length).toBe(want.length);
});

test('?whopq_debug=1 loads the debug build, which says each step in plain words', async ({ page }) => {
  const logs: string[] = [];
  page.on('console', (m) => logs.push(m.text()));
  await page.goto(site.base + '/landing?whopq_debug=1&fbclid=dbg');
  await page.waitForFunction(() => (window as any).whopq?.version);
  await page.evaluate(() => {
    (window as any).whopq('track', 'lead');
    (window as any).whopq('track', 'lead', { currency: 'xyz' });
  });
  // A currency off the API list: a warning, and both events go (the relay leaves the currency out).
  await expect.poll(() => accepted(site).filter((e) => e.event_name == 'lead').length).toBe(2);
  await expect.poll(() => logs.filter((l) => l.startsWith('[whopq] delivered')).length).toBeGreaterThan(0);
  expect(logs.some((l) => l.startsWith('[whopq] queued page for biz_e2eTest'))).toBe(true);
  await expect.poll(() => logs.some((l) => l.startsWith('[whopq] queued lead for biz_e2eTest'))).toBe(true);
  expect(logs.filter((l) => l.includes('currency has a bad value "xyz": the relay repairs it or leaves it out'))).toHaveLength(1);
});

test('a relay without the debug build: the snippet falls back to the lean bundle', async ({ page }) => {
  site.noDebugBuild = true;
  await page.goto(site.base + '/landing?whopq_debug=1');
  await page.waitForFunction(() => (window as any).whopq?.version);
  await page.evaluate(() => (window as any).whopq('track', 'contact'));
  await expectEvent(site, { event_name: 'contact' });
});

test.describe('on a real domain name', () => {
  test('the id cookies go on the registrable domain, not the public suffix, and the relay is told it', async ({ page }) => {
    const port = new URL(site.base).port;
    await page.goto(`http://www.shop.whopq-test.co.uk:${port}/landing?ttclid=TT_dom`);
    await page.waitForFunction(() => (window as any).whopq?.version);
    await page.evaluate(() => (window as any).whopq('track', 'lead'));
    await expectEvent(site, { event_name: 'lead', url: `http://www.shop.whopq-test.co.uk:${port}/landing?ttclid=TT_dom` });
    const cookies = await page.context().cookies();
    const ours = cookies.filter((c) => c.name.startsWith('wq_') || c.name == '_fbp');
    expect(ours.map((c) => [c.name, c.domain]).sort()).toEqual([
      ['_fbp', '.whopq-test.co.uk'],
      ['wq_aid', '.whopq-test.co.uk'],
    ]);
    expect(new Set(site.hints)).toEqual(new Set(['?d=whopq-test.co.uk']));
  });
});
