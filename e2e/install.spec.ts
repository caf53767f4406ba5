// The ways whopq gets onto a page besides a plain paste: a tag manager injecting it after load
// (sometimes twice), a single-page app changing routes, a page with a strict nonce-based CSP.
import { expect, test } from './fixtures';

test('tag-manager injection after load: init from the tag, contact tracked from a second tag', async ({ page, stack }) => {
  await page.goto(`${stack.origin}/gtm.html?utm_source=meta&fbclid=IwAR_gtm`);
  await page.waitForFunction(() => (window as unknown as { gtmFired(): number }).gtmFired() === 1);
  await page.waitForFunction(() => !!(window as unknown as { whopq: { version?: string } }).whopq.version);
  await page.click('#contact');
  await stack.expectConversions([{ event_name: 'contact', url: /\/gtm\.html/, context: { fbclid: 'IwAR_gtm', utm_source: 'meta' } }]);
});

test('double injection: one pixel running, one init, no duplicate event', async ({ page, stack }) => {
  await page.goto(`${stack.origin}/gtm.html?tags=2&utm_source=meta`);
  await page.waitForFunction(() => (window as unknown as { gtmFired(): number }).gtmFired() === 2);
  await page.waitForFunction(() => !!(window as unknown as { whopq: { version?: string } }).whopq.version);
  // Each copy brings the bundle's tag (the snippet's second tag): the second load finds the pixel
  // running and does nothing. Both loads are done before the clicks.
  await expect(page.locator('script[src^="/wq/p"]')).toHaveCount(2);
  await page.waitForLoadState('networkidle');
  await page.click('#contact');
  await page.click('#contact');
  // Two clicks are two contacts; two injections of the base tag add nothing: one init, one page view.
  await stack.expectConversions([{ event_name: 'contact' }, { event_name: 'contact' }]);
  const views = new Set(
    stack
      .sentEvents()
      .filter((e) => e.event_name === 'page')
      .map((e) => e.event_id),
  );
  expect(views.size).toBe(1);
});

test('SPA route changes re-read UTMs: each event has the context of its route', async ({ page, stack }) => {
  await page.goto(`${stack.origin}/spa?utm_source=meta&utm_campaign=launch&fbclid=IwAR_spa`);
  await page.evaluate(() => whopq('track', 'contact'));
  await page.click('text=See the spring offer');
  await page.waitForURL(/\/spa\/pricing\?utm_source=newsletter/);
  await page.click('text=Apply for the cohort');
  await page.waitForURL('**/spa/apply');
  await page.fill('#a-email', 'grace@example.com');
  await page.click('#apply button[type=submit]');
  await stack.expectConversions([
    { event_name: 'contact', url: /\/spa\?utm_source=meta/, context: { utm_source: 'meta', utm_campaign: 'launch', fbclid: 'IwAR_spa' } },
    // The newsletter link was a new touch: it replaced the ad click's UTMs.
    {
      event_name: 'submit_application',
      url: /\/spa\/apply$/,
      context: { utm_source: 'newsletter', utm_medium: 'email', utm_campaign: 'spring' },
      user: { email: 'grace@example.com' },
    },
  ]);
  // Back/forward between routes keeps working (popstate → whopq('page')).
  await page.goBack();
  await page.waitForURL(/\/spa\/pricing/);
});

test('strict CSP with a nonce and no unsafe-inline: the snippet passes its nonce on, nothing is blocked', async ({ page, stack }) => {
  const res = await page.goto(`${stack.origin}/t/csp.html?utm_source=meta`);
  const csp = res!.headers()['content-security-policy'] ?? '';
  expect(csp).toMatch(/script-src 'nonce-[^']+'/);
  expect(csp).not.toContain('unsafe-inline');
  await page.waitForFunction(() => !!(window as unknown as { whopq: { version?: string } }).whopq.version);
  await page.click('#book');
  await stack.expectConversions([{ event_name: 'schedule', context: { utm_source: 'meta' } }]);
  expect(await page.evaluate(() => (window as unknown as { cspViolations: string[] }).cspViolations)).toEqual([]);
});
