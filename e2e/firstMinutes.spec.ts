// The first five minutes of a newcomer: every demo page and the inspector load without a console
// error or a failed request (a favicon 404 included), and the inspector is usable on a phone.
// With WHOPQ_SHOTS_DIR set, the inspector is also saved as screenshots at 390 and 1280 px.
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import type { Page } from '@playwright/test';
import { expect, test } from './fixtures';

const DEMO_PAGES = ['/', '/thanks.html', '/gtm.html', '/spa', '/spa/pricing'];

/** Console errors, uncaught exceptions and failed responses while `visit` runs. */
async function problems(page: Page, visit: () => Promise<void>): Promise<string[]> {
  const seen: string[] = [];
  page.on('console', (m) => m.type() === 'error' && seen.push(`console: ${m.text()}`));
  page.on('pageerror', (e) => seen.push(`exception: ${e.message}`));
  page.on('response', (r) => r.status() >= 400 && seen.push(`${r.status()} ${r.url()}`));
  page.on('requestfailed', (r) => seen.push(`failed: ${r.url()} ${r.failure()?.errorText}`));
  await visit();
  return seen;
}

async function shot(page: Page, name: string): Promise<void> {
  const dir = process.env.WHOPQ_SHOTS_DIR;
  if (!dir) return;
  mkdirSync(dir, { recursive: true });
  await page.screenshot({ path: join(dir, name), fullPage: true });
}

test('no demo page and not the inspector logs a console error or fails a request (favicon included)', async ({ page, stack }) => {
  for (const path of DEMO_PAGES) {
    const seen = await problems(page, async () => {
      // Every demo page sends its page view: delivered before the next page, since Chromium reports
      // a keepalive fetch still in flight at a navigation as aborted, though the request goes on.
      const viewed = page.waitForResponse((r) => /\/wq\/e(\?|$)/.test(r.url()) && r.request().postData()!.includes('"event_name":"page"'));
      await page.goto(`${stack.origin}${path}`, { waitUntil: 'load' });
      await page.waitForTimeout(300); // the favicon and the snippet's script load after `load` starts
      expect((await viewed).status(), path).toBe(200);
      expect(await (await viewed).finished(), path).toBeNull();
    });
    expect(seen, path).toEqual([]);
    page.removeAllListeners();
  }
  const seen = await problems(page, async () => {
    await page.goto(stack.inspectorUrl, { waitUntil: 'load' });
    await expect(page.locator('#status')).toContainText('updated');
  });
  expect(seen, 'inspector').toEqual([]);
});

test('the inspector at 390 px: says what it shows when empty, no sideways scroll, rows say they open, and open by keyboard', async ({
  browser,
  stack,
}) => {
  for (const width of [390, 1280]) {
    const context = await browser.newContext({ viewport: { width, height: 844 } });
    stack.watch(context);
    const page = await context.newPage();
    await page.goto(stack.inspectorUrl);
    if (width === 390) {
      await expect(page.locator('.intro')).toContainText('This page lists every conversion this relay receives');
      await shot(page, 'inspector-empty-390.png');
      await page.goto(
        `${stack.origin}/?fbclid=IwAR_phone_width_click&utm_source=meta&utm_medium=paid&utm_campaign=spring_launch_with_a_long_name`,
      );
      await page.fill('#name', 'Ada Lovelace');
      await page.fill('#email', 'ada@example.com');
      await page.click('#lead-form button[type=submit]');
      await page.waitForURL('**/thanks.html');
      await stack.expectConversions([{ event_name: 'lead' }]);
      await page.goto(stack.inspectorUrl);
    }
    const row = page.locator('tr.ev', { hasText: 'lead' });
    await expect(row.locator('.pill')).toHaveText('Delivered');
    await page.click('#pause'); // the page re-renders its rows every two seconds; measure a still one
    await expect(page.locator('.hint')).toContainText('click an event');
    await expect(row.locator('.more')).toHaveText('▸ details');
    // Nothing wider than the screen, and the page URL keeps to one line instead of a column of characters.
    expect(await page.evaluate(() => document.documentElement.scrollWidth)).toBeLessThanOrEqual(width);
    const urlCell = row.locator('td.url');
    const lines = () =>
      page.evaluate(() => {
        const td = document.querySelector('tr.ev td.url')!;
        const range = document.createRange();
        range.selectNodeContents(td);
        return Math.round(range.getBoundingClientRect().height / Number.parseFloat(getComputedStyle(td).lineHeight));
      });
    await expect.poll(lines, { message: 'the page URL takes one line' }).toBe(1);
    expect((await urlCell.boundingBox())!.width).toBeGreaterThan(width === 390 ? 250 : 150);
    await row.focus();
    await page.keyboard.press('Enter');
    await expect(page.locator('tr.detail')).toContainText('IwAR_phone_width_click');
    await expect(page.locator('tr.ev', { hasText: 'lead' })).toHaveAttribute('aria-expanded', 'true');
    expect(await page.evaluate(() => document.documentElement.scrollWidth)).toBeLessThanOrEqual(width);
    await shot(page, `inspector-${width}.png`);
    await context.close();
  }
});
