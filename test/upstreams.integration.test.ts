// One stream of events, as the pixel posts it, through two real relays (node:http → createRelay →
// SqliteOutbox → forwarder) that differ only in WHOPQ_UPSTREAM: one forwards to the fake Whop's
// POST /events, the other to POST /conversions. Each body must be valid against its own vendored
// contract, nothing refused; /events gets every event (page views too) with the event id as its
// Idempotency-Key; /conversions never gets the page view, which the inspector shows as stored.
import { once } from 'node:events';
import { mkdtempSync, rmSync } from 'node:fs';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { createRelay } from '../src/relay/createRelay';
import { createInspector } from '../src/relay/inspector/index';
import { createForwarder, type Forwarder } from '../src/relay/lib/forwarder';
import type { Upstream } from '../src/relay/lib/forwardOne';
import { createMetrics } from '../src/relay/lib/metrics';
import { serve } from '../src/relay/node/serve';
import { SqliteOutbox } from '../src/relay/node/sqliteOutbox';
import { conversionErrors, eventErrors, startFakeWhop, type FakeWhop } from './fakeWhop';

const KEY = 'k_upstreams_secret_9b1c';
const COMPANY = 'biz_upstreams';
const ADMIN = 'admin_upstreams';
/** Every click id /events has, each network's own (WIRE.md item 5), plus the browser facts. */
const CLICKS = {
  fbclid: 'IwAR_up',
  fbc: 'fb.1.1700000000000.IwAR_up',
  gclid: 'Cj0_up',
  gbraid: 'gb_up',
  wbraid: 'wb_up',
  ttclid: 'tt_up',
  msclkid: 'ms_up',
  li_fat_id: 'li_up',
  rdt_cid: 'rd_up',
  sccid: 'sc_up',
  twclid: 'tw_up',
};
const BROWSER = { language: 'en-US', timezone: 'Europe/Paris', screen_resolution: '1920x1080', utm_source: 'meta', utm_campaign: 'spring' };
const LONG_NAME = 'webinar_signup_from_the_spring_campaign_page';

interface Running {
  upstream: Upstream;
  dir: string;
  outbox: SqliteOutbox;
  forwarder: Forwarder;
  server: Server;
  base: string;
}
let whop: FakeWhop;
const relays: Partial<Record<Upstream, Running>> = {};

async function start(upstream: Upstream): Promise<Running> {
  const dir = mkdtempSync(join(tmpdir(), `whopq-${upstream}-`));
  const outbox = new SqliteOutbox({ path: join(dir, 'outbox.db') });
  const metrics = createMetrics();
  const forwarder = createForwarder({
    outbox,
    apiKey: KEY,
    baseURL: whop.url,
    upstream,
    metrics,
    timeoutMs: 5000,
    backoff: { baseMs: 20, maxMs: 200 },
  });
  const inspector = createInspector({ outbox, token: ADMIN });
  const relay = createRelay({
    outbox,
    companies: [COMPANY],
    upstream,
    hasApiKey: true,
    forwarder,
    metrics,
    rateLimit: false,
    adminToken: ADMIN,
    inspector,
  });
  const server = serve(relay, { port: 0 });
  await once(server, 'listening');
  forwarder.start();
  return { upstream, dir, outbox, forwarder, server, base: `http://127.0.0.1:${(server.address() as AddressInfo).port}/wq` };
}

beforeAll(async () => {
  whop = await startFakeWhop({ apiKey: KEY });
  relays.events = await start('events');
  relays.conversions = await start('conversions');
});

afterAll(async () => {
  for (const r of Object.values(relays)) {
    await r.forwarder.stop();
    r.server.closeAllConnections();
    await new Promise((done) => r.server.close(done));
    await r.outbox.close();
    rmSync(r.dir, { recursive: true, force: true });
  }
  await whop.close();
});

/** The stream: a landing page view carrying every click id, then product and conversion events. */
function stream(tag: string) {
  const time = new Date().toISOString();
  const url = `https://seller.example/landing?utm_source=meta&fbclid=${CLICKS.fbclid}&gclid=${CLICKS.gclid}&msclkid=${CLICKS.msclkid}&twclid=${CLICKS.twclid}`;
  const common = {
    company_id: COMPANY,
    event_time: time,
    action_source: 'website',
    url,
    referrer_url: 'https://l.facebook.com/',
    context: { ...CLICKS, ...BROWSER },
    user: { anonymous_id: `anon_${tag}`, linked_wuid: `wuid_${tag}` },
  };
  return [
    { ...common, event_name: 'page', event_id: `${tag}_page`, title: 'Spring sale', resumed: false },
    { ...common, event_name: 'view_content', event_id: `${tag}_view`, product_id: 'prod_up' },
    { ...common, event_name: 'lead', event_id: `${tag}_lead`, user: { ...common.user, email: 'buyer@example.com' } },
    { ...common, event_name: 'purchase', event_id: `${tag}_purchase`, value: 49.5, currency: 'usd', plan_id: 'plan_up' },
    { ...common, event_name: LONG_NAME, event_id: `${tag}_custom` },
  ];
}

async function post(r: Running, events: unknown[]) {
  const res = await fetch(`${r.base}/e`, {
    method: 'POST',
    headers: { 'content-type': 'text/plain;charset=UTF-8', 'user-agent': 'Mozilla/5.0 (upstreams) Chrome/130' },
    body: JSON.stringify({ events }),
  });
  return { status: res.status, body: (await res.json()) as { accepted?: number; rejected?: unknown[] } };
}

describe('the same events forwarded to /events and to /conversions', () => {
  it('sends every event to /events, each body a valid CreateEvent with the event id as Idempotency-Key', async () => {
    const r = relays.events!;
    const answer = await post(r, stream('ev'));
    expect(answer.status).toBe(200);
    expect(answer.body.accepted).toBe(5);
    await vi.waitFor(() => expect(whop.events.filter((e) => e.body.event_id?.startsWith('ev_'))).toHaveLength(5), {
      timeout: 20_000,
      interval: 50,
    });

    const sent = whop.requests.filter((q) => q.path.endsWith('/events'));
    expect(sent.map((q) => q.status)).toEqual(sent.map(() => 200));
    for (const e of whop.events) {
      expect(e.request.errors).toEqual([]);
      expect(eventErrors(e.body)).toEqual([]);
      expect(e.idempotencyKey).toBe(e.body.event_id);
      expect(e.body.account_id).toBe(COMPANY);
      expect(e.body).not.toHaveProperty('company_id');
      expect(e.body.context).toMatchObject({ ...CLICKS, ...BROWSER });
      expect(e.body.user).toMatchObject({ anonymous_id: 'anon_ev', linked_wuid: 'wuid_ev' });
    }
    const byName = new Map(whop.events.map((e) => [e.body.event_id, e.body]));
    expect(byName.get('ev_page')).toMatchObject({
      event_name: 'page',
      title: 'Spring sale',
      resumed: false,
      url: expect.stringContaining('/landing'),
    });
    expect(byName.get('ev_view')).toMatchObject({ event_name: 'view_content', product_id: 'prod_up' });
    expect(byName.get('ev_lead')).toMatchObject({ event_name: 'lead', user: { email: 'buyer@example.com' } });
    expect(byName.get('ev_purchase')).toMatchObject({ event_name: 'purchase', value: 49.5, currency: 'usd' });
    // A name of the seller's own is sent as the event name, cut to Whop's 35 characters.
    expect(byName.get('ev_custom')).toMatchObject({ event_name: LONG_NAME.slice(0, 35) });
    expect(whop.eventDuplicates()).toEqual([]);
    expect(whop.conversions.filter((c) => c.body.event_id?.startsWith('ev_'))).toEqual([]);
  });

  it('sends the same stream to /conversions as valid CreateConversions, never the page view, which stays stored', async () => {
    const r = relays.conversions!;
    const answer = await post(r, stream('cv'));
    expect(answer.status).toBe(200);
    expect(answer.body.accepted).toBe(5);
    await vi.waitFor(() => expect(whop.conversions.filter((c) => c.body.event_id?.startsWith('cv_'))).toHaveLength(4), {
      timeout: 20_000,
      interval: 50,
    });

    const sent = whop.requests.filter((q) => q.path.endsWith('/conversions'));
    expect(sent.map((q) => q.status)).toEqual(sent.map(() => 200));
    for (const c of whop.conversions) {
      expect(c.request.errors).toEqual([]);
      expect(conversionErrors(c.body)).toEqual([]);
      // The click ids /conversions has arrive; the others are left out (never a 400).
      expect(c.body.context).toMatchObject({ fbclid: CLICKS.fbclid, gclid: CLICKS.gclid, ttclid: CLICKS.ttclid, utm_source: 'meta' });
      expect(c.body.context).not.toHaveProperty('msclkid');
    }
    const byId = new Map(whop.conversions.map((c) => [c.body.event_id, c.body]));
    expect(byId.has('cv_page')).toBe(false);
    expect(byId.get('cv_lead')).toMatchObject({ event_name: 'lead' });
    expect(byId.get('cv_view')).toMatchObject({ event_name: 'custom', custom_name: 'view_content' });
    expect(byId.get('cv_purchase')).toMatchObject({ event_name: 'custom', custom_name: 'purchase', value: 49.5, currency: 'usd' });
    expect(byId.get('cv_custom')).toMatchObject({ event_name: 'custom', custom_name: LONG_NAME.slice(0, 35) });
    expect(whop.events.filter((e) => e.body.event_id?.startsWith('cv_'))).toEqual([]);

    // The page view reached the relay and is kept, visible in the inspector as not forwarded.
    // (Polled: Whop's answer can arrive a moment before the outbox records the delivery.)
    await vi.waitFor(
      async () => {
        const res = await fetch(`${r.base}/inspect/data.json`, { headers: { authorization: `Bearer ${ADMIN}` } });
        const data = (await res.json()) as {
          counts: Record<string, number>;
          events: Array<{ event_id: string; event_name: string; state: string }>;
        };
        expect(data.events.find((e) => e.event_id === 'cv_page')).toMatchObject({ event_name: 'page', state: 'skipped' });
        expect(data.counts).toMatchObject({ skipped: 1, delivered: 4, pending: 0, dead: 0 });
      },
      { timeout: 10_000, interval: 100 },
    );
  });

  it('sends a resend of the same events to /events no second time', async () => {
    const before = whop.events.length;
    const again = await post(relays.events!, stream('ev'));
    expect(again.status).toBe(200);
    expect(again.body.accepted).toBe(0);
    await new Promise((done) => setTimeout(done, 300));
    expect(whop.events).toHaveLength(before);
  });
});
