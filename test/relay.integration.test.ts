// The full Node path in one process: node:http (serve) → createRelay → SqliteOutbox (a real file)
// → forwarder → the fake Whop API. A batch posted like the pixel posts it arrives at Whop enriched,
// once; a refused key shows on /ready and heals by itself.
import { once } from 'node:events';
import { mkdtempSync, rmSync } from 'node:fs';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { createRelay } from '../src/relay/createRelay';
import { createForwarder, type Forwarder } from '../src/relay/lib/forwarder';
import { createLogger } from '../src/relay/lib/logger';
import { createMetrics } from '../src/relay/lib/metrics';
import { serve } from '../src/relay/node/serve';
import { SqliteOutbox } from '../src/relay/node/sqliteOutbox';
import { startFakeWhop, type FakeWhop } from './fakeWhop';

const KEY = 'k_integration_secret_4f2a';
const COMPANY = 'biz_integration';
let dir: string;
let whop: FakeWhop;
let outbox: SqliteOutbox;
let forwarder: Forwarder;
let server: Server;
let base: string;
const logs: string[] = [];

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'whopq-relay-'));
  whop = await startFakeWhop({ apiKey: KEY });
  outbox = new SqliteOutbox({ path: join(dir, 'outbox.db') });
  const metrics = createMetrics();
  // No `secrets` redaction here: the test checks that the key is never handed to the logger at all.
  const logger = createLogger({ write: (line) => logs.push(line) });
  forwarder = createForwarder({
    outbox,
    apiKey: KEY,
    baseURL: whop.url,
    metrics,
    logger,
    timeoutMs: 5000,
    backoff: { baseMs: 20, maxMs: 200 },
    pauseProbeMs: 200,
  });
  const relay = createRelay({ outbox, companies: [COMPANY], hasApiKey: true, forwarder, metrics, logger, rateLimit: false });
  server = serve(relay, { port: 0 });
  await once(server, 'listening');
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}/wq`;
  forwarder.start();
});

afterAll(async () => {
  await forwarder.stop();
  server.closeAllConnections();
  await new Promise((r) => server.close(r));
  await outbox.close();
  await whop.close();
  rmSync(dir, { recursive: true, force: true });
});

function pixelEvent(i: number, extra: Record<string, unknown> = {}) {
  return {
    company_id: COMPANY,
    event_name: i % 2 ? 'lead' : 'schedule',
    event_id: `evt_int_${i}`,
    event_time: new Date().toISOString(),
    action_source: 'website',
    url: `https://seller.example/landing?utm_source=meta&fbclid=IwAR${i}`,
    referrer_url: 'https://l.facebook.com/',
    context: { fbclid: `IwAR${i}`, utm_source: 'meta' },
    user: { anonymous_id: `anon_${i}` },
    ...extra,
  };
}

async function ingest(events: unknown[]): Promise<{ status: number; body: Record<string, unknown>; text: string }> {
  const res = await fetch(`${base}/e`, {
    method: 'POST',
    // What sendBeacon and a preflight-free fetch send.
    headers: {
      'content-type': 'text/plain;charset=UTF-8',
      'user-agent': 'Mozilla/5.0 (integration) Chrome/130',
      cookie: '_fbp=fb.1.1700000000000.42; _ga=GA1.1.111.222',
    },
    body: JSON.stringify({ events }),
  });
  const text = await res.text();
  return { status: res.status, body: JSON.parse(text) as Record<string, unknown>, text };
}

async function get(path: string) {
  const res = await fetch(`${base}${path}`);
  return { status: res.status, text: await res.text() };
}

describe('relay + SqliteOutbox + forwarder + Whop', () => {
  it('takes a batch at /wq/e and delivers each event once to Whop, enriched and spec-valid', async () => {
    const batch = Array.from({ length: 12 }, (_, i) => pixelEvent(i));
    const first = await ingest(batch);
    expect(first.status).toBe(200);
    expect(first.body).toMatchObject({ accepted: 12, duplicates: 0, rejected: [] });
    // The browser resends (it never saw the answer): dropped at ingest.
    expect((await ingest(batch)).body).toMatchObject({ accepted: 0, duplicates: 12 });

    await vi.waitFor(() => expect(whop.conversions).toHaveLength(12), { timeout: 10_000, interval: 25 });
    expect(whop.duplicates()).toEqual([]);
    for (const { body, request } of whop.conversions) {
      expect(request.headers.authorization).toBe(`Bearer ${KEY}`);
      expect(request.errors).toEqual([]);
      expect(body.company_id).toBe(COMPANY);
      expect(body.context).toMatchObject({
        ip_address: '127.0.0.1',
        user_agent: 'Mozilla/5.0 (integration) Chrome/130',
        fbp: 'fb.1.1700000000000.42',
      });
      const sent = batch.find((e) => e.event_id === body.event_id)!;
      expect(body).toMatchObject({ event_name: sent.event_name, url: sent.url, user: sent.user });
    }
    await vi.waitFor(async () => expect((await outbox.stats()).delivered).toBe(12), { timeout: 5000, interval: 25 });
    const metrics = await get('/metrics');
    expect(metrics.text).toMatch(/^whopq_delivered_total 12$/m);
    expect(metrics.text).toMatch(/^whopq_upstream_latency_seconds_count 12$/m);
    expect((await get('/ready')).status).toBe(200);
  });

  it('takes a lead and a schedule that share one event_id as two events and delivers both', async () => {
    const before = whop.conversions.length;
    const lead = pixelEvent(200, { event_name: 'lead', event_id: 'evt_shared_200' });
    const schedule = pixelEvent(201, { event_name: 'schedule', event_id: 'evt_shared_200' });
    expect((await ingest([lead])).body).toMatchObject({ accepted: 1, duplicates: 0 });
    expect((await ingest([schedule])).body).toMatchObject({ accepted: 1, duplicates: 0 });
    // Resends of either are duplicates.
    expect((await ingest([schedule, lead])).body).toMatchObject({ accepted: 0, duplicates: 2 });
    await vi.waitFor(() => expect(whop.conversions.length - before).toBe(2), { timeout: 10_000, interval: 25 });
    const sent = whop.conversions
      .slice(before)
      .map((c) => `${c.body.event_name}/${c.body.event_id}`)
      .sort();
    expect(sent).toEqual(['lead/evt_shared_200', 'schedule/evt_shared_200']);
    expect(whop.duplicates()).toEqual([]);
  });

  it('keeps careless events, forwards each as a valid conversion, never forwards a page view', async () => {
    const before = whop.conversions.length;
    const res = await fetch(`${base}/e`, {
      method: 'POST',
      headers: { 'content-type': 'text/plain;charset=UTF-8', 'accept-language': 'de-CH,de;q=0.9,en;q=0.8' },
      body: JSON.stringify({
        events: [
          pixelEvent(300, { event_name: 'page', event_id: 'evt_page_300', title: 'Landing' }),
          pixelEvent(301, { event_name: 'purchase', event_id: 'evt_purchase_301', value: '49.00', currency: 'EUR' }),
          pixelEvent(302, {
            event_id: 'evt_careless_302',
            product_id: 123,
            src: 'ad',
            context: { utm_content: 'u'.repeat(2000), gbraid: 'gb_302' },
            user: { phone: 4155550100, email: ' Ada@Example.com ' },
          }),
        ],
      }),
    });
    expect(res.status).toBe(200);
    const answer = (await res.json()) as { accepted: number; dropped: Array<{ index: number; param: string }> };
    expect(answer.accepted).toBe(3);
    expect(answer.dropped.map((d) => `${d.index}:${d.param}`)).toEqual(['2:context.utm_content', '2:src']);
    await vi.waitFor(() => expect(whop.conversions.length - before).toBe(2), { timeout: 10_000, interval: 25 });
    const sent = whop.conversions.slice(before);
    for (const c of sent) expect(c.request.errors).toEqual([]);
    const purchase = sent.find((c) => c.body.event_id === 'evt_purchase_301')!;
    expect(purchase.body).toMatchObject({ event_name: 'custom', custom_name: 'purchase', value: 49, currency: 'eur' });
    const careless = sent.find((c) => c.body.event_id === 'evt_careless_302')!;
    expect(careless.body).toMatchObject({ product_id: '123', user: { phone: '4155550100', email: 'ada@example.com' } });
    expect(careless.body.context!.utm_content).toHaveLength(1024);
    expect(careless.body.context).not.toHaveProperty('gbraid');
    expect(careless.body.context).not.toHaveProperty('language');
    // Stored as the relay's event: the page view kept in its terminal state, the extras kept.
    const stored = await outbox.recent(10);
    const page = stored.find((r) => r.event_id === 'evt_page_300')!;
    expect(page).toMatchObject({ state: 'skipped', attempts: 0 });
    expect(page.body).toMatchObject({ title: 'Landing', context: { language: 'de-CH' } });
    expect(stored.find((r) => r.event_id === 'evt_careless_302')).toMatchObject({
      body: { context: { gbraid: 'gb_302' } },
      dropped: [{ param: 'context.utm_content' }, { param: 'src' }],
    });
    expect(whop.conversions.some((c) => c.body.event_id === 'evt_page_300')).toBe(false);
    expect((await outbox.stats()).skipped).toBe(1);
    const metrics = await get('/metrics');
    expect(metrics.text).toMatch(/^whopq_dropped_fields_total\{param="\(unknown\)"\} 1$/m);
    // gbraid is kept (the relay fills it into the batch's other events too), never sent to /conversions.
    expect(metrics.text).toMatch(/^whopq_forward_left_out_total\{param="context.gbraid"\} [1-9]\d*$/m);
    // The gauges read stats at most once a second.
    await vi.waitFor(async () => expect((await get('/metrics')).text).toMatch(/^whopq_outbox_events\{state="skipped"\} 1$/m), {
      timeout: 5000,
      interval: 200,
    });
  });

  it('reports a refused key on /ready, keeps the events, and resumes when Whop accepts again', async () => {
    whop.setMode('401');
    expect((await ingest([pixelEvent(100), pixelEvent(101)])).body).toMatchObject({ accepted: 2 });
    await vi.waitFor(
      async () => {
        const ready = await get('/ready');
        expect(ready.status).toBe(503);
        expect(JSON.parse(ready.text)).toMatchObject({ ready: false, paused: [{ company_id: COMPANY }] });
      },
      { timeout: 10_000, interval: 25 },
    );
    expect((await outbox.stats()).pending).toBe(2);
    whop.setMode('ok');
    await vi.waitFor(async () => expect((await get('/ready')).status).toBe(200), { timeout: 10_000, interval: 25 });
    await vi.waitFor(() => expect(whop.conversions).toHaveLength(18), { timeout: 10_000, interval: 25 });
    expect(whop.duplicates()).toEqual([]);
  });

  it('two host names: a page on localhost reads the answer of the relay on 127.0.0.1, a cross-site form post sets no cookie', async () => {
    const page = base.replace('127.0.0.1', 'localhost').replace(/\/wq$/, '');
    const send = (headers: Record<string, string>, id: string) =>
      fetch(`${base}/e`, {
        method: 'POST',
        headers: { 'content-type': 'text/plain', ...headers },
        body: JSON.stringify({
          events: [pixelEvent(400, { event_id: id, context: { fbp: 'fb.1.1700000000000.77' }, user: { anonymous_id: 'attacker' } })],
        }),
      });
    // Another site (what a cross-site form post or fetch looks like): stored, readable with CORS, no cookie.
    const cross = await send({ origin: page, 'sec-fetch-site': 'cross-site' }, 'evt_cross_400');
    expect(cross.status).toBe(200);
    expect(cross.headers.get('access-control-allow-origin')).toBe(page);
    expect(cross.headers.get('access-control-allow-credentials')).toBe('true');
    expect(cross.headers.getSetCookie()).toEqual([]);
    const oldBrowser = await send({ origin: page }, 'evt_cross_401');
    expect(oldBrowser.headers.getSetCookie()).toEqual([]);
    // The relay's own site: the cookies the events carry.
    const own = await send({ origin: base.replace(/\/wq$/, ''), 'sec-fetch-site': 'same-origin' }, 'evt_own_402');
    expect(
      own.headers
        .getSetCookie()
        .map((c) => c.split(';')[0])
        .slice(0, 2),
    ).toEqual(['wq_aid=attacker', '_fbp=fb.1.1700000000000.77']);
    expect(own.headers.getSetCookie()[2]).toMatch(/^wq_c=[\w-]+;.*HttpOnly/);
    expect((await outbox.recent(50)).filter((r) => ['evt_cross_400', 'evt_cross_401', 'evt_own_402'].includes(r.event_id))).toHaveLength(3);
    // Forget, from the other host name: 204, every cookie expired, readable.
    const forget = await fetch(`${base}/forget`, { method: 'POST', headers: { 'content-type': 'text/plain', origin: page } });
    expect(forget.status).toBe(204);
    expect(forget.headers.get('access-control-allow-origin')).toBe(page);
    expect(forget.headers.getSetCookie().map((c) => c.split(';')[0])).toEqual(['wq_c=', 'wq_aid=', '_fbp=']);
  });

  it('never puts the key in a response or a log line', async () => {
    for (const path of ['/ready', '/metrics', '/health']) expect((await get(path)).text).not.toContain(KEY);
    expect(logs.length).toBeGreaterThan(0);
    expect(logs.join('\n')).not.toContain(KEY);
  });
});
