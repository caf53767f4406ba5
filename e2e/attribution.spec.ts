// Attribution that survives (issue 12) and the careless input of issue 11, through the built relay
// process and the fake Whop API: one visitor with one set of browser ids, every network's click
// kept, SPA route changes, identity carried across pages, forgetting on reset and revoke, and a
// relay on another host name of the same site.
import { test } from './fixtures';
import { type BrowserContext, expect, type Page } from '@playwright/test';
import { CHROMIUM_ARGS, chromiumLaunchOptions } from '../scripts/chromium.mjs';

// www.example.test (the pages) and t.example.test (the relay): two host names of one site.
test.use({ launchOptions: { ...chromiumLaunchOptions(), args: [...CHROMIUM_ARGS, '--host-resolver-rules=MAP *.example.test 127.0.0.1'] } });

const installed = (page: Page) => page.waitForFunction(() => (window as any).whopq?.version);
const track = (page: Page, ...args: unknown[]) => page.evaluate((a) => (window as any).whopq(...a), ['track', ...args]);
const cookie = async (ctx: BrowserContext, name: string) => (await ctx.cookies()).find((c) => c.name == name)?.value;

test('careless values: each event delivered with the field repaired or left out, and listed in dropped', async ({ page, stack }) => {
  const long = 'c'.repeat(1500);
  // Another tag's oversized _fbp, there before the pixel reads the ids.
  await page.context().addCookies([{ name: '_fbp', value: 'fb.1.' + '9'.repeat(1200), url: stack.origin }]);
  await page.goto(`${stack.origin}/t/blank.html?utm_content=${long}&src=news`);
  await installed(page);
  await page.evaluate(() => {
    const w = (window as any).whopq;
    w('init', 'biz_demo', { params: { src: 'source' } });
    w('identify', { phone: 4155550100 });
    w('track', 'lead', { value: '49.00', product_id: 123, colour: 'red' }, { event_id: 'careless-1' });
  });
  const [c] = await stack.expectConversions([{ event_name: 'lead', event_id: 'careless-1', value: 49, product_id: '123' }]);
  expect(c.user!.phone).toBe('4155550100');
  expect(c.context!.utm_content).toMatch(/^c{255}$/);
  expect(c.context).not.toHaveProperty('source');
  expect((c.context!.fbp ?? '').length).toBeLessThanOrEqual(1024);
  // What the relay repaired, as its answer listed it and the inspector shows it.
  const stored = (await stack.inspect()).events.find((e) => (e as { event_id?: string }).event_id == 'careless-1') as unknown as {
    dropped: { param: string }[];
  };
  // `source` is no context field: the init option's mapping to it goes in the event, and the relay leaves it out.
  expect(stored.dropped.map((d) => d.param)).toEqual(expect.arrayContaining(['colour', 'context.fbp', 'context.source']));
});

test('lead and schedule tracked with one event_id are both delivered', async ({ page, stack }) => {
  await page.goto(stack.origin + '/t/blank.html');
  await installed(page);
  await track(page, 'lead', {}, { event_id: 'shared-1' });
  await track(page, 'schedule', {}, { event_id: 'shared-1' });
  await stack.expectConversions([
    { event_name: 'lead', event_id: 'shared-1' },
    { event_name: 'schedule', event_id: 'shared-1' },
  ]);
});

test('a relay on a second host name of the site, default settings: delivered once, no CORS error, queue empty', async ({ page, stack }) => {
  const port = new URL(stack.origin).port;
  const errors: string[] = [];
  page.on('console', (m) => m.type() == 'error' && errors.push(m.text()));
  const ingest: string[] = [];
  page.on('request', (r) => r.url().includes('/wq/e') && ingest.push(new URL(r.url()).host));
  await page.goto(`http://www.example.test:${port}/t/subdomain.html?gclid=SUB`);
  await installed(page);
  await track(page, 'lead', {}, { event_id: 'sub-1' });
  await stack.expectConversions([{ event_name: 'lead', event_id: 'sub-1', context: { gclid: 'SUB' } }]);
  expect(new Set(ingest)).toEqual(new Set([`t.example.test:${port}`]));
  await expect.poll(() => page.evaluate(() => Object.keys(localStorage).filter((k) => k.startsWith('wq_q1:')).length)).toBe(0);
  // Reload: nothing resent.
  await page.reload();
  await installed(page);
  await page.waitForTimeout(1_000);
  expect(stack.sentEvents().filter((e) => e.event_id == 'sub-1')).toHaveLength(1);
  expect(errors.filter((e) => /CORS|Access-Control/i.test(e))).toEqual([]);
});

test("ten form-submit-then-redirect visits: the lead's fbp and anonymous_id equal the browser's cookies and the next event's", async ({
  browser,
  stack,
}) => {
  const expected = [];
  const ids: { fbp?: string; aid?: string }[] = [];
  for (let v = 0; v < 10; v++) {
    const ctx = await browser.newContext();
    stack.watch(ctx);
    const page = await ctx.newPage();
    await page.goto(`${stack.origin}/t/form.html?visit=${v}`);
    await Promise.all([page.waitForURL('**/t/blank.html**'), page.click('#submit')]);
    await installed(page);
    await track(page, 'contact', {}, { event_id: 'after-' + v });
    expected.push(
      { event_name: 'lead' as const, event_id: 'form-lead-visit' + v },
      { event_name: 'contact' as const, event_id: 'after-' + v },
    );
    await expect.poll(() => stack.whop.conversions.filter((c) => c.body.event_id == 'after-' + v).length, { timeout: 15_000 }).toBe(1);
    ids.push({ fbp: await cookie(ctx, '_fbp'), aid: await cookie(ctx, 'wq_aid') });
    await ctx.close();
  }
  const got = await stack.expectConversions(expected, { timeout: 30_000 });
  for (let v = 0; v < 10; v++) {
    const lead = got.find((c) => c.event_id == 'form-lead-visit' + v)!;
    const next = got.find((c) => c.event_id == 'after-' + v)!;
    expect(ids[v].fbp).toMatch(/^fb\.1\.\d{13}\.\d+$/);
    expect(lead.context!.fbp).toBe(ids[v].fbp);
    expect(next.context!.fbp).toBe(ids[v].fbp);
    expect(lead.user!.anonymous_id).toBe(ids[v].aid);
    expect(next.user!.anonymous_id).toBe(ids[v].aid);
  }
});

test('fbclid landing, then every script-set cookie deleted and the clock 8 days on: the lead still carries the fbclid and UTMs', async ({
  page,
  context,
  stack,
}) => {
  await page.goto(stack.origin + '/t/blank.html?fbclid=FB_ITP&utm_source=meta&utm_campaign=safari');
  await installed(page);
  // The landing's page view brings the click to the relay, which keeps it in its HttpOnly wq_c.
  await expect.poll(async () => (await context.cookies()).map((c) => c.name)).toContain('wq_c');
  // What Safari does after 7 days to cookies a script wrote (here every cookie a script can read goes).
  const scriptSet = (await context.cookies()).filter((c) => !c.httpOnly);
  expect(scriptSet.map((c) => c.name)).toEqual(expect.arrayContaining(['wq_aid', '_fbp']));
  for (const c of scriptSet) await context.clearCookies({ name: c.name });
  expect((await context.cookies()).map((c) => c.name)).toEqual(['wq_c']);
  await page.clock.install({ time: Date.now() + 8 * 864e5 });
  await page.goto(stack.origin + '/t/blank.html?p=later');
  await installed(page);
  await track(page, 'lead', {}, { event_id: 'itp-lead' });
  await stack.expectConversions([
    { event_name: 'lead', event_id: 'itp-lead', context: { fbclid: 'FB_ITP', utm_source: 'meta', utm_campaign: 'safari' } },
  ]);
});

test('fbclid landing, a UTM-only visit, a gclid landing: the lead carries both click ids and the latest UTMs', async ({ page, stack }) => {
  await page.goto(stack.origin + '/t/blank.html?fbclid=FB_A&utm_source=meta&utm_campaign=c1');
  await installed(page);
  await page.goto(stack.origin + '/t/blank.html?utm_source=newsletter&utm_medium=email');
  await installed(page);
  await page.goto(stack.origin + '/t/blank.html?gclid=G_B&utm_source=google&utm_campaign=c3');
  await installed(page);
  await track(page, 'lead', {}, { event_id: 'multi-1' });
  const [c] = await stack.expectConversions([
    { event_name: 'lead', event_id: 'multi-1', context: { fbclid: 'FB_A', gclid: 'G_B', utm_source: 'google', utm_campaign: 'c3' } },
  ]);
  expect(c.context).not.toHaveProperty('utm_medium');
});

test('pushState to ?gclid=NEW without calling page: the next event carries NEW', async ({ page, stack }) => {
  await page.goto(stack.origin + '/t/blank.html?gclid=OLD');
  await installed(page);
  await page.evaluate(() => history.pushState(null, '', '/t/blank.html?gclid=NEW'));
  await track(page, 'lead', {}, { event_id: 'spa-1' });
  await stack.expectConversions([{ event_name: 'lead', event_id: 'spa-1', context: { gclid: 'NEW' } }]);
});

test('identify on page 1, track on page 3: the event carries the email, normalised', async ({ page, stack }) => {
  await page.goto(stack.origin + '/t/blank.html?p=1');
  await installed(page);
  await page.evaluate(() => (window as any).whopq('identify', { email: '  Ada@Example.COM ' }));
  await page.goto(stack.origin + '/t/blank.html?p=2');
  await page.goto(stack.origin + '/t/blank.html?p=3');
  await installed(page);
  await track(page, 'schedule', {}, { event_id: 'id-3' });
  await stack.expectConversions([{ event_name: 'schedule', event_id: 'id-3', user: { email: 'ada@example.com' } }]);
});

for (const how of ['reset', 'revoke'] as const)
  test(`${how} leaves no whopq or relay cookie and no stored identity`, async ({ page, context, stack }) => {
    await page.goto(stack.origin + '/t/blank.html?fbclid=FB_F&utm_source=meta');
    await installed(page);
    await page.evaluate(() => (window as any).whopq('identify', { email: 'ada@example.com' }));
    await track(page, 'lead', {}, { event_id: how + '-1' });
    await stack.expectConversions([{ event_name: 'lead', event_id: how + '-1' }]);
    expect((await context.cookies()).map((c) => c.name)).toEqual(expect.arrayContaining(['wq_aid', '_fbp']));
    const aid = (await context.cookies()).find((c) => c.name == 'wq_aid')!.value;
    const forgot = page.waitForResponse((r) => /\/wq\/forget(\?|$)/.test(r.url()));
    await page.evaluate((how) => (how == 'reset' ? (window as any).whopq('reset') : (window as any).whopq('consent', 'revoke')), how);
    expect((await forgot).status()).toBe(204);
    // The pixel names the visitor in the body (its cookie is gone by then) for the relay's visitor memory.
    expect(JSON.parse((await forgot).request().postData()!)).toEqual({ anonymous_id: aid });
    await expect.poll(async () => (await context.cookies()).map((c) => c.name).filter((n) => /^(wq_|_fbp$)/.test(n))).toEqual([]);
    expect(await page.evaluate(() => Object.keys(localStorage).filter((k) => /^wq_(aid|fbp|u|q1:.*)$/.test(k)))).toEqual([]);
    // The next page: revoked stays revoked; after a reset the visitor is a new one.
    await page.goto(stack.origin + '/t/blank.html');
    await installed(page);
    expect(await page.evaluate(() => localStorage.getItem('wq_u'))).toBeNull();
  });
