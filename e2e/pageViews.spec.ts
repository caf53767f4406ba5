// Page views (issue 13) through the built relay forwarding to the fake Whop's `POST /events`: a
// three-page visit with an SPA route change, Whop's own visitor cookie present, then a lead. And
// Google Consent Mode v2 followed in a real browser (issue 12).
import type { Page } from '@playwright/test';
import type { FakeWhopEvent } from '../test/fakeWhop';
import { expect, test } from './fixtures';

test.use({ stackEnv: { WHOPQ_UPSTREAM: 'events' } });

const installed = (page: Page) => page.waitForFunction(() => (window as any).whopq?.version);

/** What the fake Whop accepted on /events, once `n` events arrived and nothing more came. */
async function eventsAtWhop(whop: { events: FakeWhopEvent[] }, n: number) {
  await expect.poll(() => whop.events.length, { timeout: 30_000 }).toBe(n);
  await new Promise((r) => setTimeout(r, 500));
  expect(whop.events).toHaveLength(n);
  return whop.events.map((e) => e.body as Record<string, any>);
}

test("a three-page visit with an SPA route change: each page view and the lead at /events, with its URL, title and clicks, and Whop's visitor id", async ({
  page,
  context,
  stack,
}) => {
  await context.addCookies([{ name: '_wuid', value: 'wuid_from_whop_pixel', url: stack.origin }]);
  await page.goto(stack.origin + '/t/blank.html?fbclid=FB_3P&utm_source=meta&utm_campaign=launch');
  await installed(page);
  await page.click('#next');
  await page.goto(stack.origin + '/t/spa.html');
  await installed(page);
  await page.click('#pricing');
  await page.waitForURL('**/t/spa.html?route=pricing&gclid=G_SPA');
  await page.goto(stack.origin + '/t/blank.html?p=3');
  await installed(page);
  await page.evaluate(() => (window as any).whopq('track', 'lead', {}, { event_id: 'three-page-lead' }));

  const got = await eventsAtWhop(stack.whop, 5);
  const pages = got.filter((e) => e.event_name == 'page');
  expect(pages.map((e) => [new URL(e.url).pathname + new URL(e.url).search, e.title])).toEqual([
    ['/t/blank.html?fbclid=FB_3P&utm_source=meta&utm_campaign=launch', 'whopq e2e: a page with the snippet'],
    ['/t/spa.html', "whopq e2e: an app's first route"],
    ['/t/spa.html?route=pricing&gclid=G_SPA', 'whopq e2e: pricing'],
    ['/t/blank.html?p=3', 'whopq e2e: a page with the snippet'],
  ]);
  // Each view carries the clicks known by then: the landing's fbclid from the start, the SPA's gclid from its route on.
  expect(pages.map((e) => [e.context?.fbclid ?? null, e.context?.gclid ?? null])).toEqual([
    ['FB_3P', null],
    ['FB_3P', null],
    ['FB_3P', 'G_SPA'],
    ['FB_3P', 'G_SPA'],
  ]);
  const lead = got.find((e) => e.event_name == 'lead')!;
  expect(lead).toMatchObject({
    account_id: 'biz_demo',
    event_id: 'three-page-lead',
    context: { fbclid: 'FB_3P', gclid: 'G_SPA', utm_source: 'meta', utm_campaign: 'launch' },
  });
  expect(lead.context.fbc).toMatch(/^fb\.1\.\d{13}\.FB_3P$/);
  for (const e of got) {
    expect(e.user, e.event_name).toMatchObject({ linked_wuid: 'wuid_from_whop_pixel' });
    expect(e.context, e.event_name).toMatchObject({ screen_resolution: expect.stringMatching(/^\d+x\d+$/) });
  }
  // Whop counts each (event_name, event_id) once; the relay sent each once, keyed by its id.
  for (const e of stack.whop.events) expect(e.idempotencyKey).toBe(e.body.event_id);
  expect(stack.whop.eventDuplicates()).toEqual([]);
  // The page never lost the cookie to the pixel: it is Whop's, read only.
  expect((await context.cookies()).find((c) => c.name == '_wuid')?.value).toBe('wuid_from_whop_pixel');
});

test.describe('Google Consent Mode v2', () => {
  test("a consent manager's default denial holds every event and cookie until its update grants; a later denial revokes", async ({
    page,
    context,
    stack,
  }) => {
    // What a consent manager's tag does before anything else on the page.
    await page.addInitScript(() => {
      const w = window as any;
      w.dataLayer = w.dataLayer || [];
      w.gtag = function () {
        // biome-ignore lint/complexity/noArguments: gtag pushes its arguments object.
        w.dataLayer.push(arguments);
      };
      w.gtag('consent', 'default', {
        ad_storage: 'denied',
        ad_user_data: 'denied',
        ad_personalization: 'denied',
        analytics_storage: 'denied',
      });
    });
    await page.goto(stack.origin + '/t/blank.html?gclid=G_CM');
    await installed(page);
    await page.evaluate(() => (window as any).whopq('track', 'lead', {}, { event_id: 'cm-lead' }));
    await page.waitForTimeout(500);
    expect(stack.sentEvents()).toEqual([]);
    expect((await context.cookies()).map((c) => c.name)).toEqual([]);
    expect(await page.evaluate(() => Object.keys(localStorage))).toEqual([]);
    // The visitor accepts in the banner.
    await page.evaluate(() => (window as any).gtag('consent', 'update', { ad_storage: 'granted', ad_user_data: 'granted' }));
    const got = await eventsAtWhop(stack.whop, 2);
    expect(got.find((e) => e.event_name == 'lead')).toMatchObject({ event_id: 'cm-lead', context: { gclid: 'G_CM' } });
    expect((await context.cookies()).map((c) => c.name)).toEqual(expect.arrayContaining(['wq_aid', '_fbp', 'wq_c']));
    // And withdraws it later: every whopq and relay cookie goes, and nothing more is sent.
    await page.evaluate(() => (window as any).gtag('consent', 'update', { ad_storage: 'denied', ad_user_data: 'denied' }));
    await expect.poll(async () => (await context.cookies()).map((c) => c.name).filter((n) => /^(wq_|_fbp$)/.test(n))).toEqual([]);
    await page.evaluate(() => (window as any).whopq('track', 'contact'));
    await page.waitForTimeout(500);
    expect(stack.sentEvents().filter((e) => e.event_name == 'contact')).toEqual([]);
  });
});
