// The GTM tag template (gtm/template.tpl) run the way Tag Manager runs it: its sandboxed code in a
// real Chromium page, GTM's APIs provided by small real implementations that enforce the template's
// declared permissions (e2e/gtmSandbox.ts), loading the real built bundle (dist/whopq.js) from a
// first-party path, and the events reaching a real local HTTP endpoint.
import { expect, test, type Page } from '@playwright/test';
import { existsSync, readFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { USER_FIELDS, type Conversion } from '../src/shared/conversion';
import { parse as parseYaml } from 'yaml';
import { installSandbox, readTemplate } from './gtmSandbox';

const template = readTemplate('gtm/template.tpl');
// Generous limits: the machine running CI may be busy; every wait below is a poll on a condition.
test.describe.configure({ timeout: 60_000 });
const SITE = 'https://shop.example';

interface Recorder {
  /** The events received, page views aside. */
  events: Conversion[];
  pages: Conversion[];
  bundleLoads: number;
  server: Server;
  port: number;
}

/** A stand-in relay on 127.0.0.1: serves the built bundle at /wq/p.js and records POST /wq/e. */
async function startRecorder(): Promise<Recorder> {
  const rec = { events: [] as Conversion[], pages: [] as Conversion[], bundleLoads: 0 } as Recorder;
  rec.server = createServer((req, res) => {
    let body = '';
    req.on('data', (d) => (body += d));
    req.on('end', () => {
      if (req.method === 'GET' && req.url === '/wq/p.js') {
        rec.bundleLoads++;
        res.writeHead(200, { 'content-type': 'text/javascript' }).end(readFileSync('dist/whopq.js'));
      } else if (req.method === 'POST' && /^\/wq\/e(\?|$)/.test(req.url ?? '')) {
        const parsed = JSON.parse(body) as { events?: Conversion[] } & Conversion;
        const events = parsed.events ?? [parsed];
        for (const e of events) ((e.event_name as string) === 'page' ? rec.pages : rec.events).push(e);
        res
          .writeHead(200, { 'content-type': 'application/json' })
          .end(JSON.stringify({ accepted: events.length, duplicates: 0, rejected: [] }));
      } else if (req.method === 'GET' && req.url?.startsWith('/landing')) {
        res.writeHead(200, { 'content-type': 'text/html' }).end('<!doctype html><title>Landing</title><h1>Book a call</h1>');
      } else res.writeHead(404).end();
    });
  });
  await new Promise<void>((resolve) => rec.server.listen(0, '127.0.0.1', resolve));
  rec.port = (rec.server.address() as AddressInfo).port;
  return rec;
}

let rec: Recorder;
test.beforeEach(async () => {
  rec = await startRecorder();
});
test.afterEach(async ({ page }) => {
  // A send still routed when the test ends (the page's exit beacon) has nothing left to answer.
  await page.unrouteAll({ behavior: 'ignoreErrors' });
  await new Promise((resolve) => rec.server.close(resolve));
});

/** Serves https://shop.example/* from the local recorder, so the page is first-party HTTPS. */
async function openLanding(page: Page): Promise<void> {
  await page.route(`${SITE}/**`, async (route) => {
    const url = new URL(route.request().url());
    const response = await route.fetch({ url: `http://127.0.0.1:${rec.port}${url.pathname}${url.search}` });
    await route.fulfill({ response });
  });
  await page.goto(`${SITE}/landing?utm_source=meta&fbclid=IwAR123`);
  await page.evaluate(installSandbox, template.permissions);
}

const fire = (page: Page, data: Record<string, unknown>) =>
  page.evaluate(([code, d]) => (window as unknown as { __gtmFire: (c: string, d: unknown) => Promise<string> }).__gtmFire(code, d), [
    template.code,
    data,
  ] as const);

const base = { companyId: 'biz_gtm1', relayUrl: `${SITE}/wq` };

test('a firing installs the pixel and its event reaches the relay with value, currency and user data', async ({ page }) => {
  await openLanding(page);
  const result = await fire(page, {
    ...base,
    eventName: 'lead',
    value: '49.5',
    currency: 'USD',
    userFields: [
      { field: 'email', value: 'ada@example.com' },
      { field: 'first_name', value: '' },
    ],
  });
  expect(result).toBe('success');
  await expect.poll(() => rec.events.length, { timeout: 30_000 }).toBe(1);
  const event = rec.events[0]!;
  expect(event).toMatchObject({ company_id: 'biz_gtm1', event_name: 'lead', value: 49.5, currency: 'usd', action_source: 'website' });
  expect(event.user?.email).toBe('ada@example.com');
  expect(event.user?.first_name).toBeUndefined();
  // The click is on the URL, for the relay to read and keep.
  expect(event.url).toBe(`${SITE}/landing?utm_source=meta&fbclid=IwAR123`);
  expect(rec.pages.map((p) => p.url)).toEqual([`${SITE}/landing?utm_source=meta&fbclid=IwAR123`]);
});

test('several firings and page code share one queue and one bundle: each event sent once', async ({ page }) => {
  await openLanding(page);
  // Two firings back to back, before the bundle has loaded: both are queued and replayed in order.
  const [first, second] = await Promise.all([
    fire(page, { ...base, eventName: 'lead', eventId: 'gtm-ev-1' }),
    fire(page, { ...base, eventName: 'book_call', eventId: 'gtm-ev-2' }),
  ]);
  expect([first, second]).toEqual(['success', 'success']);
  await page.evaluate(() =>
    (window as unknown as { whopq: (...a: unknown[]) => void }).whopq('track', 'contact', {}, { event_id: 'page-ev-3' }),
  );
  await expect.poll(() => rec.events.length, { timeout: 30_000 }).toBe(3);
  expect(rec.events.map((e) => [e.event_id, e.event_name, e.custom_name ?? null])).toEqual([
    ['gtm-ev-1', 'lead', null],
    // Any name goes as itself; the relay sends a name /conversions lacks as custom + custom_name.
    ['gtm-ev-2', 'book_call', null],
    ['page-ev-3', 'contact', null],
  ]);
  expect(rec.bundleLoads).toBe(1);
  // A pixel-only firing (no event name) sends nothing more.
  expect(await fire(page, base)).toBe('success');
  await page.evaluate(() => (window as unknown as { whopq: (...a: unknown[]) => void }).whopq('flush'));
  expect(rec.events).toHaveLength(3);
});

test('a relay URL outside the declared inject_script permission fails the tag and loads nothing', async ({ page }) => {
  await openLanding(page);
  expect(await fire(page, { ...base, relayUrl: `http://127.0.0.1:${rec.port}/wq`, eventName: 'lead' })).toBe('failure');
  expect(await page.evaluate(() => typeof (window as unknown as { whopq?: unknown }).whopq)).toBe('undefined');
  expect(rec.bundleLoads).toBe(0);
});

test('the template offers exactly the API user fields and declares only what its code uses', () => {
  const table = template.parameters.find((p) => p.name === 'userFields') as {
    simpleTableColumns: Array<{ name: string; selectItems?: Array<{ value: string }> }>;
  };
  const field = table.simpleTableColumns.find((c) => c.name === 'field')!;
  // anonymous_id is the pixel's own (its cookie): the pixel ignores one passed in, so it is not offered.
  expect(field.selectItems!.map((i) => i.value)).toEqual(USER_FIELDS.filter((f) => f !== 'anonymous_id'));
  const required = [...template.code.matchAll(/require\('([A-Za-z]+)'\)/g)].map((m) => m[1]);
  expect(required.sort()).toEqual([
    'callInWindow',
    'createArgumentsQueue',
    'getType',
    'injectScript',
    'logToConsole',
    'makeNumber',
    'makeString',
    'queryPermission',
    'templateStorage',
  ]);
  expect(Object.keys(template.permissions.globals).sort()).toEqual(['whopq', 'whopq.q']);
});

const runScenario = (page: Page, scenario: string) =>
  page.evaluate(
    ([code, setup, sc]) =>
      (window as unknown as { __gtmScenario: (c: string, s: string, sc: string) => string | null }).__gtmScenario(code, setup, sc),
    [template.code, template.tests.setup ?? '', scenario] as const,
  );

test('the ___TESTS___ scenarios pass, as in the template editor (and a wrong expectation fails)', async ({ page }) => {
  await openLanding(page);
  expect(template.tests.scenarios.length).toBeGreaterThanOrEqual(4);
  for (const scenario of template.tests.scenarios) expect(await runScenario(page, scenario.code), scenario.name).toBeNull();
  const wrong = template.tests.scenarios[0]!.code.replace("'usd'", "'eur'");
  expect(await runScenario(page, wrong)).toMatch(/^expected .*eur/);
});

test('laid out as the Community Template Gallery reads a repository: template.tpl, metadata.yaml, LICENSE, brand', () => {
  for (const f of ['gtm/template.tpl', 'gtm/metadata.yaml', 'gtm/LICENSE', 'gtm/README.md']) expect(existsSync(f), f).toBe(true);
  expect(readFileSync('gtm/LICENSE', 'utf8')).toContain('Apache License');
  const meta = parseYaml(readFileSync('gtm/metadata.yaml', 'utf8')) as {
    homepage: string;
    documentation: string;
    versions: Array<{ sha: string; changeNotes: string }>;
  };
  expect(meta.homepage).toMatch(/^https:\/\//);
  expect(meta.documentation).toMatch(/^https:\/\//);
  expect(meta.versions.length).toBeGreaterThan(0);
  for (const v of meta.versions) {
    expect(v.sha).toMatch(/^[0-9a-f]{40}$/);
    expect(v.changeNotes).toBeTruthy();
  }
  const info = JSON.parse(template.sections.get('INFO')!) as {
    brand: { id: string; displayName: string; thumbnail: string };
    categories: string[];
    containerContexts: string[];
  };
  expect(info.brand.id).not.toBe('brand_dummy');
  expect(info.brand.thumbnail).toMatch(/^data:image\/png;base64,/);
  expect(info.containerContexts).toEqual(['WEB']);
  expect(template.sections.get('TERMS_OF_SERVICE')).toContain('gallery-tos');
});
