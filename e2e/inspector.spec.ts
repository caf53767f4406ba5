// The event inspector as a person uses it: after a form submission the event shows up with its
// context and its delivery state; a refused one shows Whop's error; hostile fields stay text.
import { expect, test } from './fixtures';

test('a submitted lead shows up in the inspector, delivered, with its ad context', async ({ page, stack }, info) => {
  await page.goto(`${stack.origin}/?fbclid=IwAR_inspector&utm_source=meta&utm_campaign=spring`);
  await page.fill('#name', 'Ada Lovelace');
  await page.fill('#email', 'ada@example.com');
  await page.click('#lead-form button[type=submit]');
  await page.waitForURL('**/thanks.html');
  await stack.expectConversions([{ event_name: 'lead' }]);

  await page.goto(stack.inspectorUrl);
  const row = page.locator('tr.ev', { hasText: 'lead' });
  await expect(row).toContainText('meta / spring');
  await expect(row).toContainText('fbclid attached');
  await expect(row.locator('.pill')).toHaveText('Delivered');
  await expect(page.locator('#c-delivered b')).toHaveText('1');
  await row.click();
  await expect(page.locator('tr.detail')).toContainText('IwAR_inspector');
  await expect(page.locator('tr.detail')).toContainText('ada@example.com');
  await expect(page.locator('#chart rect[height]:not([height="0"])')).toHaveCount(1);
  await info.attach('inspector', { body: await page.screenshot({ fullPage: true }), contentType: 'image/png' });
});

test('an event Whop refuses is dead-lettered with its error; hostile fields are shown as text', async ({ page, stack }) => {
  stack.whop.setMode('422');
  const dialogs: string[] = [];
  page.on('dialog', (d) => (dialogs.push(d.message()), void d.dismiss()));
  const hostile = '<img src=x onerror=alert(1)>';
  await page.goto(`${stack.origin}/t/blank.html?utm_source=${encodeURIComponent(hostile)}`);
  await page.evaluate(() => whopq('track', 'contact'));
  await expect.poll(() => stack.whop.requests.length, { timeout: 15_000 }).toBeGreaterThan(0);

  await page.goto(stack.inspectorUrl);
  const row = page.locator('tr.ev', { hasText: 'contact' });
  await expect(row.locator('.pill')).toHaveText('Dead-lettered', { timeout: 15_000 });
  await expect(row).toContainText('422');
  await expect(row).toContainText(hostile);
  expect(await page.locator('img').count()).toBe(0);
  expect(dialogs).toEqual([]);
  await expect(page.locator('#c-dead b')).toHaveText('1');
});
