// Chromium scenarios: the browser offline then online, the relay unreachable for a whole page life
// then the visitor returning, consent revoked (nothing set, stored or sent), PII never in a log
// line, and garbage arguments to `whopq(...)` never throwing into the page. The pixel is the real
// bundle, the relay the real Node relay, Whop the fake; counts are by event_id at the fake.
import fc from 'fast-check';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { tally, until } from './events';
import { BROWSER_KEY, startBrowserStack, type BrowserStack } from './browserStack';
import { recordScenario } from './report';
import { FULL, SCALE } from './scale';

let stack: BrowserStack;
beforeEach(async () => {
  stack = await startBrowserStack();
});
afterEach(async () => {
  await stack?.close();
});

const T = FULL ? 180_000 : 60_000;
const ids = (tag: string, n: number) => Array.from({ length: n }, (_, i) => `evt_${tag}_${i}`);

describe('Chromium', () => {
  it('Browser offline, then online', { timeout: T }, async () => {
    await stack.relayUp();
    const context = await stack.browser.newContext();
    const watch = stack.watch(context);
    const page = await context.newPage();
    const errors: string[] = [];
    page.on('pageerror', (e) => errors.push(e.message));
    await page.goto(`${stack.pages}/offline.html?utm_source=meta&fbclid=IwAR_offline`);
    await page.waitForFunction(() => (window as unknown as { whopq: { version?: string } }).whopq.version);
    // The page view, delivered while online (a page view is never a conversion at Whop).
    await until(Date.now() + 15_000, () => watch.sent() > 0);
    await page.waitForFunction(() => !Object.keys(localStorage).some((k) => k.startsWith('wq_q1:')), undefined, { timeout: 15_000 });
    const before = watch.sent();
    await context.setOffline(true);
    const sent = ids('offline', 5);
    await page.evaluate((list) => list.forEach((id) => whopq('track', 'lead', {}, { event_id: id })), sent);
    await page.waitForFunction(() => Object.keys(localStorage).filter((k) => k.startsWith('wq_q1:')).length === 5, undefined, {
      timeout: 15_000,
    });
    const whileOffline = { requests: watch.sent() - before, atWhop: stack.whop.conversions.length };
    await context.setOffline(false);
    await until(Date.now() + T / 2, () => tally(stack.whop, sent).delivered === sent.length);
    await page.waitForFunction(() => Object.keys(localStorage).filter((k) => k.startsWith('wq_q1:')).length === 0, undefined, {
      timeout: 15_000,
    });
    const t = tally(stack.whop, sent);
    recordScenario({
      scenario: 'Browser offline, then online',
      group: 'fault',
      sent: t.sent,
      delivered: t.delivered,
      duplicated: t.duplicated,
      lost: t.lost,
      notes: `while offline: ${whileOffline.requests} ingest requests, queue held 5; online: ${watch.sent()} requests in all`,
    });
    expect(whileOffline).toEqual({ requests: 0, atWhop: 0 });
    expect({ lost: t.lost, duplicated: t.duplicated, unexpected: t.unexpected }).toEqual({ lost: 0, duplicated: 0, unexpected: 0 });
    expect(stack.whop.conversions.every((c) => c.body.context?.fbclid === 'IwAR_offline')).toBe(true);
    expect(errors).toEqual([]);
    await context.close();
  });

  it('Relay unreachable for the whole page life, then the visitor returns', { timeout: T }, async () => {
    const context = await stack.browser.newContext();
    const watch = stack.watch(context);
    const page = await context.newPage();
    await page.goto(`${stack.pages}/landing.html?gclid=Cj0_unreachable`);
    const sent = ids('unreach', 3);
    await page.evaluate((list) => list.forEach((id) => whopq('track', 'schedule', {}, { event_id: id })), sent);
    // The pixel tried (connection refused) and kept the events.
    await until(Date.now() + 15_000, () => watch.failed() > 0);
    // The three, and the page view (kept too: the relay reads the landing's click from it).
    expect(await page.evaluate(() => Object.keys(localStorage).filter((k) => k.startsWith('wq_q1:') && !k.endsWith(':page')).length)).toBe(
      3,
    );
    // The page ends (pagehide beacons go nowhere either).
    await page.close({ runBeforeUnload: false });
    const failedDuringLife = watch.failed();
    await stack.relayUp();
    // The visitor comes back days later, on any page of the site.
    const again = await context.newPage();
    await again.goto(`${stack.pages}/pricing.html`);
    await until(Date.now() + T / 2, () => tally(stack.whop, sent).delivered === sent.length);
    await again.waitForFunction(() => Object.keys(localStorage).filter((k) => k.startsWith('wq_q1:')).length === 0, undefined, {
      timeout: 15_000,
    });
    await until(Date.now() + 10_000, async () => (await stack.relay!.outbox.stats()).pending === 0);
    const t = tally(stack.whop, sent);
    recordScenario({
      scenario: 'Relay unreachable for the whole page life, then the visitor returns',
      group: 'fault',
      sent: t.sent,
      delivered: t.delivered,
      duplicated: t.duplicated,
      lost: t.lost,
      notes: `${failedDuringLife} sends failed during the page's life; delivered from the next page view`,
    });
    expect(failedDuringLife).toBeGreaterThan(0);
    expect({ lost: t.lost, duplicated: t.duplicated, unexpected: t.unexpected }).toEqual({ lost: 0, duplicated: 0, unexpected: 0 });
    expect(stack.whop.conversions.every((c) => c.body.context?.gclid === 'Cj0_unreachable')).toBe(true);
    await context.close();
  });

  it('Consent revoked: no cookie, nothing stored, nothing sent', { timeout: T }, async () => {
    await stack.relayUp();
    const context = await stack.browser.newContext();
    const watch = stack.watch(context);
    const page = await context.newPage();
    const visit = async (path: string) => {
      await page.goto(`${stack.pages}${path}`);
      await page.waitForFunction(() => (window as unknown as { whopq: { version?: string } }).whopq.version);
      await page.evaluate(() => {
        whopq('consent', 'revoke');
        whopq('identify', { email: 'revoked.visitor@example.com', phone: '+15550002222' });
        for (let i = 0; i < 3; i++) whopq('track', 'lead', {}, { event_id: 'evt_revoked_' + Math.random() });
        whopq('page');
        whopq('flush');
      });
    };
    await visit('/a.html?consent=required&fbclid=IwAR_revoked&utm_source=meta');
    await visit('/b.html?consent=required&gclid=Cj0_revoked');
    // The pixel's own delivery runs in a task after track: let one full round of tasks pass.
    await page.evaluate(() => new Promise((r) => setTimeout(r, 0)));
    const cookies = await context.cookies();
    // The one key left is the refusal itself (`wq_r`, a strictly necessary record holding no identifier).
    const kept = await page.evaluate(() =>
      [...Object.keys(localStorage), ...Object.keys(sessionStorage)].map(
        (k) => `${k}=${localStorage.getItem(k) ?? sessionStorage.getItem(k)}`,
      ),
    );
    expect(kept).toEqual(['wq_r=1']);
    const storage = kept.length - 1;
    const observed = {
      cookies: cookies.map((c) => c.name),
      storage,
      requests: watch.sent(),
      rows: await stack.rows(),
      atWhop: stack.whop.requests.length,
    };
    // The control: the same page after a grant is tracked (so the watch above could have seen something).
    await page.evaluate(() => {
      whopq('consent', 'grant');
      whopq('track', 'contact', {}, { event_id: 'evt_after_grant' });
    });
    await until(Date.now() + 20_000, () => stack.whop.conversions.length > 0);
    recordScenario({
      scenario: 'Consent revoked: no cookie, nothing stored, nothing sent',
      group: 'privacy',
      sent: 6,
      delivered: observed.atWhop,
      duplicated: 0,
      lost: observed.cookies.length + observed.storage + observed.requests + Math.max(observed.rows, 0),
      notes: `revoked: cookies [${observed.cookies.join(', ')}], ${observed.storage} storage keys, ${observed.requests} requests, ${observed.rows} rows; after a grant: ${stack.whop.conversions.map((c) => c.body.event_id).join(', ')}`,
    });
    expect(observed).toEqual({ cookies: [], storage: 0, requests: 0, rows: 0, atWhop: 0 });
    expect(stack.whop.conversions.map((c) => c.body.event_id)).toEqual(['evt_after_grant']);
    await context.close();
  });

  it('PII is never logged (emails and phones sent through retries and dead letters)', { timeout: T }, async () => {
    await stack.relayUp();
    // Echo mode: Whop's error answers repeat the body it was sent (emails, phones), so this check
    // fails if an upstream error body reaches a log line.
    stack.whop.setEcho(true);
    // First send of each event fails (500), one event is refused for good (422): both get logged.
    const failedOnce = new Set<string>();
    stack.whop.setMode((req) => {
      const id = req.body?.event_id ?? '';
      if (id === 'evt_pii_dead') return '422';
      if (!failedOnce.has(id)) return (failedOnce.add(id), '500');
      return 'ok';
    });
    const context = await stack.browser.newContext();
    const page = await context.newPage();
    await page.goto(`${stack.pages}/pii.html?utm_source=meta`);
    const people = Array.from({ length: 4 }, (_, i) => ({
      email: `pii.person${i}@example.com`,
      phone: `+1555000${3000 + i}`,
      first_name: `Zelda${i}Qx`,
      last_name: `Pii${i}Surname`,
    }));
    await page.evaluate((list) => {
      list.forEach((u, i) => whopq('track', 'lead', {}, { event_id: 'evt_pii_' + i, user: u }));
      whopq('track', 'lead', {}, { event_id: 'evt_pii_dead', user: { email: 'pii.dead@example.com', phone: '+15550009999' } });
    }, people);
    const sent = ids('pii', 4);
    await until(Date.now() + T / 2, () => tally(stack.whop, sent).delivered === 4 && stack.whop.requests.some((r) => r.status === 422));
    await until(Date.now() + 10_000, async () => (await stack.relay!.outbox.stats()).dead === 1);
    const text = stack.logs.join('\n');
    const secrets = [...people.flatMap((p) => Object.values(p)), 'pii.dead@example.com', '+15550009999', BROWSER_KEY];
    const found = secrets.filter((s) => text.includes(s) || text.includes(encodeURIComponent(s)));
    const t = tally(stack.whop, sent);
    recordScenario({
      scenario: 'PII is never logged (emails and phones sent through retries and dead letters)',
      group: 'privacy',
      sent: 5,
      delivered: t.delivered,
      duplicated: t.duplicated,
      lost: found.length,
      notes: `${stack.logs.length} log lines scanned for ${secrets.length} values (emails, phones, names, the key): ${found.length} found`,
    });
    // The values did travel (so the scan is meaningful), and the logs did talk about these events.
    expect(stack.whop.conversions.map((c) => c.body.user?.email).sort()).toEqual(people.map((p) => p.email).sort());
    expect(text).toMatch(/will retry/);
    expect(text).toMatch(/dead-lettered/);
    expect(stack.whop.requests.some((r) => r.status >= 400)).toBe(true);
    expect(found).toEqual([]);
    stack.whop.setEcho(false);
    await context.close();
  });

  it(`Garbage arguments to whopq(...) never throw into the page (${SCALE.pixelCalls} calls)`, { timeout: T }, async () => {
    await stack.relayUp();
    const context = await stack.browser.newContext();
    const page = await context.newPage();
    const errors: string[] = [];
    page.on('pageerror', (e) => errors.push(e.message));
    await page.goto(`${stack.pages}/garbage.html`);
    await page.waitForFunction(() => (window as unknown as { whopq: { version?: string } }).whopq.version);
    const marker = fc.constantFrom(
      '$throwGetter',
      '$proxy',
      '$circular',
      '$fn',
      '$symbol',
      '$bigint',
      '$huge',
      '$badDate',
      '$nullProto',
      '$toStringThrows',
    );
    const command = fc.oneof(
      fc.constantFrom(
        'init',
        'track',
        'identify',
        'consent',
        'page',
        'flush',
        'debug',
        'toString',
        '__proto__',
        'constructor',
        'hasOwnProperty',
        'valueOf',
      ),
      fc.string(),
      fc.jsonValue({ maxDepth: 1 }),
      marker,
    );
    const option = fc.record(
      {
        event_id: fc.oneof(fc.string(), fc.jsonValue(), marker),
        user: fc.oneof(fc.dictionary(fc.string(), fc.jsonValue({ maxDepth: 1 })), marker),
        company_id: fc.oneof(fc.string(), marker),
        value: fc.oneof(fc.double(), fc.string(), marker),
        currency: fc.string(),
      },
      { requiredKeys: [] },
    );
    const arg = fc.oneof(
      fc.jsonValue({ maxDepth: 3 }),
      marker,
      option,
      fc.constantFrom('grant', 'revoke', 'lead', 'custom', 'biz_chaos', 'biz_other'),
    );
    const calls = fc.sample(fc.tuple(command, fc.array(arg, { maxLength: 4 })), { numRuns: SCALE.pixelCalls, seed: 42 });
    const thrown = await page.evaluate((list) => {
      const hostile = (v: unknown): unknown => {
        switch (v) {
          case '$throwGetter':
            return Object.defineProperty({}, 'event_id', {
              enumerable: true,
              get() {
                throw new Error('getter');
              },
            });
          case '$proxy':
            return new Proxy(
              {},
              {
                get() {
                  throw new Error('proxy');
                },
                ownKeys() {
                  throw new Error('proxy');
                },
                has() {
                  throw new Error('proxy');
                },
                getOwnPropertyDescriptor() {
                  throw new Error('proxy');
                },
              },
            );
          case '$circular': {
            const o: Record<string, unknown> = { email: 'a@b.c' };
            o.self = o;
            return o;
          }
          case '$fn':
            return () => {
              throw new Error('called');
            };
          case '$symbol':
            return Symbol('x');
          case '$bigint':
            return BigInt(10);
          case '$huge':
            return 'x'.repeat(1_000_000);
          case '$badDate':
            return new Date(NaN);
          case '$nullProto':
            return Object.create(null);
          case '$toStringThrows':
            return {
              toString() {
                throw new Error('toString');
              },
              valueOf() {
                throw new Error('valueOf');
              },
            };
        }
        if (v && typeof v === 'object' && !Array.isArray(v)) return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, hostile(x)]));
        return v;
      };
      const w = window as unknown as { whopq: (...a: unknown[]) => void };
      let n = 0;
      for (const [c, args] of list as Array<[unknown, unknown[]]>) {
        try {
          w.whopq(hostile(c), ...args.map(hostile));
        } catch {
          n++;
        }
      }
      return n;
    }, calls as unknown[]);
    // Let the tasks the calls scheduled (deliveries, timers) run, then use the pixel normally.
    await page.evaluate((relay) => {
      whopq('consent', 'grant');
      whopq('init', 'biz_chaos', { relay, requireConsent: false });
      whopq('track', 'lead', {}, { event_id: 'evt_after_garbage', company_id: 'biz_chaos' });
    }, stack.relayBase);
    const delivered = await until(Date.now() + 30_000, () => stack.whop.conversions.some((c) => c.body.event_id === 'evt_after_garbage'));
    recordScenario({
      scenario: `Garbage arguments to whopq(...) never throw into the page (${SCALE.pixelCalls} calls)`,
      group: 'fuzz',
      sent: calls.length,
      delivered: delivered ? 1 : 0,
      duplicated: stack.whop.duplicates().length,
      lost: thrown + errors.length,
      notes: `${thrown} calls threw, ${errors.length} page errors; a normal track afterwards delivered: ${delivered}`,
    });
    expect(thrown).toBe(0);
    expect(errors).toEqual([]);
    expect(delivered).toBe(true);
    expect(stack.whop.duplicates()).toEqual([]);
    await context.close();
  });
});
