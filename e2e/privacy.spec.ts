// Consent and storage: a visitor who refuses leaves no trace (nothing sent, no cookie, nothing
// stored), one who accepts later is tracked from then on, and a browser that blocks storage
// still delivers.
import { expect, test } from './fixtures';

test('consent revoked: nothing sent, no cookies, nothing stored; granted: tracked from then on', async ({ page, context, stack }) => {
  await page.goto(`${stack.origin}/t/consent.html?fbclid=IwAR_consent&utm_source=meta`);
  await page.click('#reject');
  await page.evaluate(() => {
    whopq('identify', { email: 'no@example.com' });
    whopq('track', 'lead');
    whopq('flush');
  });
  // Reload: a refusal leaves nothing behind to pick up either.
  await page.reload();
  await page.click('#reject');
  await page.evaluate(() => whopq('track', 'lead'));
  expect(await context.cookies()).toEqual([]);
  // Only the refusal itself is kept (a strictly necessary record), so the next page starts refused.
  expect(await page.evaluate(() => Object.keys(localStorage))).toEqual(['wq_r']);

  await page.click('#accept');
  await page.evaluate(() => whopq('track', 'schedule'));
  // Exactly one conversion: the schedule after consent; neither refused lead ever left the page.
  await stack.expectConversions([{ event_name: 'schedule' }]);
  expect(stack.sentEvents().map((e) => e.event_name)).not.toContain('lead');
  // Consent granted: the visitor id is kept now.
  await expect.poll(async () => (await context.cookies()).length).toBeGreaterThan(0);
});

test('consent pending: events wait in memory, nothing is written, and go out once granted', async ({ page, context, stack }) => {
  await page.goto(`${stack.origin}/t/consent.html?utm_source=meta&utm_campaign=pending`);
  await page.evaluate(() => whopq('track', 'contact'));
  expect(await context.cookies()).toEqual([]);
  expect(await page.evaluate(() => localStorage.length)).toBe(0);
  expect(stack.sentEvents()).toEqual([]);
  await page.click('#accept');
  await stack.expectConversions([{ event_name: 'contact', context: { utm_source: 'meta', utm_campaign: 'pending' } }]);
});

test('localStorage disabled: no error reaches the page, the event is delivered', async ({ browser, stack }) => {
  const context = await browser.newContext();
  // What Chrome does when site data is blocked: touching localStorage throws a SecurityError.
  await context.addInitScript(() => {
    Object.defineProperty(window, 'localStorage', {
      configurable: true,
      get() {
        throw new DOMException('Access is denied for this document.', 'SecurityError');
      },
    });
  });
  const page = await context.newPage();
  stack.watch(context);
  const errors: string[] = [];
  page.on('pageerror', (e) => errors.push(e.message));
  await page.goto(`${stack.origin}/t/blank.html?utm_source=meta&fbclid=IwAR_nostorage`);
  await page.evaluate(() => whopq('track', 'lead'));
  await stack.expectConversions([{ event_name: 'lead', context: { fbclid: 'IwAR_nostorage' } }]);
  expect(errors).toEqual([]);
  await context.close();
});
