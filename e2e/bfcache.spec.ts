// Back/forward cache: whopq keeps a page eligible (no `unload` listener), and a page restored from
// the cache goes on tracking. Playwright turns the cache off by default; this file turns it on.
import { chromiumLaunchOptions } from '../scripts/chromium.mjs';
import { expect, type SentEvent, test } from './fixtures';

test.use({ launchOptions: { ...chromiumLaunchOptions(), ignoreDefaultArgs: ['--disable-back-forward-cache'] } });

type Shows = { pageshows: boolean[] };

test('a page restored from the back/forward cache keeps tracking', async ({ page, stack }) => {
  await page.addInitScript(() => {
    (window as unknown as Shows).pageshows = [];
    addEventListener('pageshow', (e) => (window as unknown as Shows).pageshows.push(e.persisted));
  });
  await page.goto(`${stack.origin}/t/blank.html?utm_source=meta&fbclid=IwAR_bfcache`);
  await page.evaluate(() => whopq('track', 'lead'));
  await stack.expectConversions([{ event_name: 'lead' }]);
  await page.click('#next');
  await page.waitForURL('**/t/next.html');
  // A restore fires no `load`, so wait for the commit, then for the restored page's pageshow (or,
  // if the page was not cached, for the fresh load that replaced it).
  await page.goBack({ waitUntil: 'commit' });
  await page.waitForFunction(
    () =>
      location.pathname === '/t/blank.html' &&
      ((window as unknown as Shows).pageshows.length > 1 ||
        ((performance.getEntriesByType('navigation')[0] as PerformanceNavigationTiming).type === 'back_forward' &&
          document.readyState === 'complete')),
  );
  expect(await page.evaluate(() => (window as unknown as Shows).pageshows), 'restored from the back/forward cache').toEqual([false, true]);
  await page.evaluate(() => whopq('track', 'schedule'));
  await stack.expectConversions([{ event_name: 'lead' }, { event_name: 'schedule', context: { fbclid: 'IwAR_bfcache' } }]);
  // The restore is a page view of the same URL, marked resumed (the first load's is not).
  // One entry per event_id: a view sent by fetch and again by the beacon at pagehide is one view.
  const views = [
    ...new Map(
      stack
        .sentEvents()
        .filter((e) => (e.event_name as string) === 'page')
        .map((e) => [e.event_id, e]),
    ).values(),
  ] as (SentEvent & { resumed?: boolean })[];
  expect(views.map((e) => [new URL(e.url!).pathname, e.resumed ?? null])).toEqual([
    ['/t/blank.html', null],
    ['/t/blank.html', true],
  ]);
});
