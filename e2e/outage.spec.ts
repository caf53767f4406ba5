// Outages on either side of the relay: the relay itself down while a page is open, and Whop
// failing before it recovers. Nothing is lost and nothing reaches Whop twice.
import { expect, test } from './fixtures';

test('relay down while the page is open, then up: the pixel retries and the event arrives once', async ({ page, stack }) => {
  await page.goto(`${stack.origin}/t/blank.html?fbclid=IwAR_outage`);
  await stack.relayDown();
  await page.evaluate(() => whopq('track', 'lead'));
  // The pixel has tried and failed at least once (connection refused) before the relay returns.
  await expect.poll(() => stack.failedSends(), { timeout: 10_000 }).toBeGreaterThan(0);
  await stack.relayUp();
  await stack.expectConversions([{ event_name: 'lead', context: { fbclid: 'IwAR_outage' } }], { timeout: 20_000 });
});

test('Whop answers 500 twice, then 200: the relay retries and delivers once', async ({ page, stack }) => {
  stack.whop.setMode((_req, n) => (n <= 2 ? '500' : 'ok'));
  await page.goto(`${stack.origin}/t/blank.html?utm_source=google&gclid=Cj0_whop500`);
  await page.evaluate(() => whopq('track', 'schedule'));
  await stack.expectConversions([{ event_name: 'schedule', context: { gclid: 'Cj0_whop500' } }], { timeout: 20_000 });
  const statuses = stack.whop.requests.map((r) => r.status);
  expect(statuses).toEqual([500, 500, 200]);
  // Every attempt carried the same event: one event_id, retried.
  expect(new Set(stack.whop.requests.map((r) => r.body?.event_id)).size).toBe(1);
});
