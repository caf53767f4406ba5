// Nothing lost at the edges (issue 11), through the built relay process and the fake Whop API: a
// flood of events in one task, a relay unreachable across pages, prototype-named URL parameters,
// track before init, and calls made before the bundle arrived on a page that was left.
import { test } from './fixtures';
import { expect, type Page } from '@playwright/test';
import { readFileSync } from 'node:fs';

const installed = (page: Page) => page.waitForFunction(() => (window as any).whopq?.version);
/** Events in the page's queue (keys `wq_q1:<time>:<company>:<id>:<name>`), page views aside. */
const queued = (page: Page) =>
  page.evaluate(() => Object.keys(localStorage).filter((k) => k.startsWith('wq_q1:') && !k.endsWith(':page')).length);

test('120 events tracked in one task are all delivered, once each', async ({ page, stack }) => {
  await page.goto(stack.origin + '/t/blank.html');
  await installed(page);
  await page.evaluate(() => {
    for (let i = 0; i < 120; i++) (window as any).whopq('track', 'lead', {}, { event_id: 'burst-' + i });
  });
  await stack.expectConversions(
    Array.from({ length: 120 }, (_, i) => ({ event_name: 'lead', event_id: 'burst-' + i })),
    { timeout: 45_000 },
  );
  await expect.poll(() => queued(page)).toBe(0);
});

test('the relay down over 3 pages with 60 events, then back: all 60 delivered once', async ({ page, stack }) => {
  // The relay process is stopped; the pages and the bundle come from a CDN-like stand-in.
  await stack.relayDown();
  const html = `<!doctype html><html><head>${readFileSync('dist/snippet.html', 'utf8')}<script>whopq('init', 'biz_demo')</script></head><body>down</body></html>`;
  await page.route('**/t/down.html*', (route) => route.fulfill({ contentType: 'text/html', body: html }));
  await page.route('**/wq/p.js', (route) => route.fulfill({ contentType: 'text/javascript', body: readFileSync('dist/whopq.js') }));
  for (let p = 0; p < 3; p++) {
    await page.goto(stack.origin + '/t/down.html?p=' + p);
    await installed(page);
    await page.evaluate((p) => {
      for (let i = 0; i < 20; i++) (window as any).whopq('track', 'lead', {}, { event_id: `down-${p}-${i}` });
    }, p);
    await expect.poll(() => queued(page)).toBe(20 * (p + 1));
  }
  await page.unrouteAll();
  await stack.relayUp();
  expect(stack.whop.conversions).toHaveLength(0);
  await page.goto(stack.origin + '/t/blank.html?back');
  const want = [0, 1, 2].flatMap((p) =>
    Array.from({ length: 20 }, (_, i) => ({ event_name: 'lead' as const, event_id: `down-${p}-${i}` })),
  );
  await stack.expectConversions(want, { timeout: 45_000 });
  await expect.poll(() => queued(page)).toBe(0);
});

test('?constructor=1&gclid=x delivers with the gclid (prototype names are no parameters of ours)', async ({ page, stack }) => {
  await page.goto(stack.origin + '/t/blank.html?constructor=1&valueOf=x&toString=&gclid=x');
  await installed(page);
  await page.evaluate(() => (window as any).whopq('track', 'lead'));
  const [c] = await stack.expectConversions([{ event_name: 'lead', context: { gclid: 'x' } }]);
  for (const k of ['constructor', 'valueOf', 'toString']) expect(Object.keys(c.context!)).not.toContain(k);
  expect(c.context).not.toHaveProperty('utm_source');
});

test('track before init waits for it and is delivered', async ({ page, stack }) => {
  await page.goto(stack.origin + '/t/early.html');
  await stack.expectConversions([{ event_name: 'lead', event_id: 'early-lead', company_id: 'biz_demo' }]);
});

test('a submit and redirect before p.js arrives: delivered on the next page, once, with its own time', async ({ page, stack }) => {
  // The bundle is held back on the form page (a slow network) and served normally afterwards.
  let release!: () => void;
  const held = new Promise<void>((r) => (release = r));
  let first = true;
  await page.route('**/wq/p.js', async (route) => {
    if (!first) return route.continue();
    first = false;
    await held;
    await route.abort().catch(() => {});
  });
  await page.goto(stack.origin + '/t/form.html?v=1', { waitUntil: 'domcontentloaded' });
  const clicked = Date.now();
  await Promise.all([page.waitForURL('**/t/blank.html**'), page.click('#submit')]);
  release();
  const [c] = await stack.expectConversions([{ event_name: 'lead', event_id: 'form-lead-v1', user: { email: 'ada@example.com' } }]);
  // The call's time, not the next page's.
  expect(Math.abs(Date.parse(c.event_time!) - clicked)).toBeLessThan(3_000);
  expect(c.url).toContain('/t/form.html?v=1');
  await expect.poll(() => page.evaluate(() => localStorage.getItem('wq_s'))).toBeNull();
});

test('a first visit while p.js cannot load, then a return visit: delivered once', async ({ page, stack }) => {
  await page.route('**/wq/p.js', (route) => route.fulfill({ status: 502, body: 'bad gateway' }));
  await page.goto(stack.origin + '/t/form.html?v=2');
  await Promise.all([page.waitForURL('**/t/blank.html**'), page.click('#submit')]);
  await page.goto(stack.origin + '/t/next.html');
  expect(stack.whop.conversions).toHaveLength(0);
  await page.unroute('**/wq/p.js');
  await page.goto(stack.origin + '/t/blank.html?return');
  await installed(page);
  await stack.expectConversions([{ event_name: 'lead', event_id: 'form-lead-v2' }]);
  // A further page replays nothing again.
  await page.goto(stack.origin + '/t/blank.html?again');
  await installed(page);
  await page.waitForTimeout(1_000);
  await stack.expectConversions([{ event_name: 'lead', event_id: 'form-lead-v2' }]);
});
