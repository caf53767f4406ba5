// The seller's main path, in the demo site: an ad click lands, the form is submitted and the page
// redirects at once, a booking follows on a page without ad parameters; and the ways a visit ends
// early (navigating away, closing the tab) without losing the event.
import { expect, test } from './fixtures';

const CLICK = 'IwAR2e2e_click.ab-cd';

test('ad-click landing → lead form → redirect → booking: every event carries the click', async ({ page, stack }) => {
  await page.goto(`${stack.origin}/?fbclid=${CLICK}&utm_source=meta&utm_medium=paid&utm_campaign=spring_launch&ad_id=120200000001`);
  await page.fill('#name', 'Ada Lovelace');
  await page.fill('#email', 'ada@example.com');
  await page.fill('#phone', '+14155550100');
  await page.click('#lead-form button[type=submit]');
  await page.waitForURL('**/thanks.html');
  await page.click('#book-call');

  const [lead, schedule] = await stack.expectConversions([
    {
      event_name: 'lead',
      company_id: 'biz_demo',
      action_source: 'website',
      url: new RegExp(`fbclid=${CLICK.replace('.', '\\.')}`),
      context: {
        fbclid: CLICK,
        utm_source: 'meta',
        utm_medium: 'paid',
        utm_campaign: 'spring_launch',
        ad_id: '120200000001',
        ip_address: '127.0.0.1',
        user_agent: /Chrome/,
      },
      user: { email: 'ada@example.com', phone: '+14155550100', name: 'Ada Lovelace', anonymous_id: /.+/ },
    },
    {
      event_name: 'schedule',
      url: /\/thanks\.html$/,
      referrer_url: /fbclid=/,
      context: { fbclid: CLICK, utm_source: 'meta', utm_campaign: 'spring_launch', ip_address: '127.0.0.1' },
    },
  ]);
  // The same visitor on both pages.
  expect(schedule!.user?.anonymous_id ?? lead!.user?.anonymous_id).toBe(lead!.user?.anonymous_id);
});

test('track then immediate navigation to a page without whopq: the event still arrives', async ({ page, stack }) => {
  await page.goto(`${stack.origin}/t/blank.html?utm_source=tiktok&ttclid=E.C.P.e2e`);
  await page.evaluate(() => {
    whopq('track', 'contact', { value: 12.5, currency: 'usd' });
    location.href = '/t/next.html';
  });
  await page.waitForURL('**/t/next.html');
  await stack.expectConversions([
    { event_name: 'contact', value: 12.5, currency: 'usd', context: { ttclid: 'E.C.P.e2e', utm_source: 'tiktok' } },
  ]);
});

test('tab closed right after track: delivered once, by the tab or on the next visit', async ({ context, stack }) => {
  const tab = await context.newPage();
  await tab.goto(`${stack.origin}/t/blank.html?gclid=Cj0e2e`);
  await tab.evaluate(() => whopq('track', 'lead'));
  await tab.close();
  // Whatever the closing tab managed to send, the next visit resends what was not confirmed.
  const next = await context.newPage();
  await next.goto(`${stack.origin}/t/blank.html`);
  await stack.expectConversions([{ event_name: 'lead', context: { gclid: 'Cj0e2e' } }]);
});

test('tab closed while the relay is down: the next visit delivers it', async ({ context, stack }) => {
  const tab = await context.newPage();
  await tab.goto(`${stack.origin}/t/blank.html?utm_source=meta`);
  await stack.relayDown();
  await tab.evaluate(() => whopq('track', 'lead', {}, { event_id: 'closed-tab-1' }));
  await expect.poll(() => stack.failedSends(), { timeout: 10_000 }).toBeGreaterThan(0);
  await tab.close();
  await stack.relayUp();
  const next = await context.newPage();
  await next.goto(`${stack.origin}/t/blank.html`);
  await stack.expectConversions([{ event_name: 'lead', event_id: 'closed-tab-1', context: { utm_source: 'meta' } }]);
});

test('a currency the API does not list costs the conversion nothing: Whop gets the event without it', async ({ page, stack }) => {
  await page.goto(`${stack.origin}/t/blank.html?fbclid=IwAR_currency`);
  await page.evaluate(() => {
    whopq('track', 'lead', { value: 20, currency: 'USD' });
    whopq('track', 'schedule', { value: 30, currency: 'XYZ' });
  });
  const got = await stack.expectConversions([
    { event_name: 'lead', value: 20, currency: 'usd', context: { fbclid: 'IwAR_currency' } },
    { event_name: 'schedule', value: 30, context: { fbclid: 'IwAR_currency' } },
  ]);
  // In the order Whop received them, which two sends in flight at once do not fix.
  const lead = got.find((c) => c.event_name === 'lead');
  const schedule = got.find((c) => c.event_name === 'schedule');
  expect(lead!.currency).toBe('usd');
  expect(schedule).not.toHaveProperty('currency');
});
