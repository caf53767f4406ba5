// Server-side conversions on the real Node relay (startRelay: node:http, the outbox and visitor
// memory in SQLite, then in Postgres, the forwarder) against the fake Whop API: a browser visit with
// an ad click, then, days later on the relay's clock, a server event that names only the email.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, inject, it, vi } from 'vitest';
import { relayConfigFromEnv, startRelay, type RunningRelay } from '../src/relay/node/cli';
import { startFakeWhop, type FakeWhop } from './fakeWhop';

const KEY = 'k_server_events_secret_81c2';
const TOKEN = 'srv_tok_2b7d9e41c0a8';
const COMPANY = 'biz_server_events';
const DAY = 86_400_000;
const BROWSER_UA = 'Mozilla/5.0 (Macintosh) Chrome/131 (visitor)';
const FBP = 'fb.1.1764000000000.918273645';

describe.each(['SQLite', 'Postgres'] as const)('on %s', (store) => {
  let dir: string;
  let whop: FakeWhop;
  let relay: RunningRelay;
  let dryRelay: RunningRelay;
  let clock = Date.now() - 3 * DAY;

  beforeAll(async () => {
    clock = Date.now() - 3 * DAY;
    dir = mkdtempSync(join(tmpdir(), 'whopq-server-'));
    whop = await startFakeWhop({ apiKey: KEY });
    const env = {
      WHOP_API_KEY: KEY,
      WHOP_COMPANY_ID: COMPANY,
      WHOPQ_SERVER_TOKENS: `other_token_x, ${TOKEN}`,
      WHOP_API_BASE_URL: whop.url,
      WHOPQ_DATA_DIR: join(dir, 'live'),
      WHOPQ_RATE_LIMIT: 'off',
      HOST: '127.0.0.1',
      PORT: '0',
      ...(store === 'Postgres'
        ? { WHOPQ_DATABASE_URL: inject('postgresUrl'), WHOPQ_DATABASE_SCHEMA: `s_${randomBytes(5).toString('hex')}` }
        : {}),
    };
    const quiet = { print: () => {}, logger: { info() {}, warn() {}, error() {} } };
    relay = await startRelay(relayConfigFromEnv(env), { ...quiet, now: () => clock });
    expect(relay.outbox.constructor.name).toBe(store === 'Postgres' ? 'PostgresOutbox' : 'SqliteOutbox');
    const { WHOP_API_KEY: _, WHOPQ_DATABASE_URL: _url, ...dry } = env;
    dryRelay = await startRelay(relayConfigFromEnv({ ...dry, WHOPQ_DATA_DIR: join(dir, 'dry') }), quiet);
  });

  afterAll(async () => {
    await relay?.close();
    await dryRelay?.close();
    await whop?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  /** Posts like the pixel: text/plain, the browser's cookies and user agent, same-origin. */
  async function browserPost(events: unknown[], cookie = `_fbp=${FBP}`) {
    const res = await fetch(`${relay.url}/wq/e`, {
      method: 'POST',
      headers: { 'content-type': 'text/plain;charset=UTF-8', 'user-agent': BROWSER_UA, 'sec-fetch-site': 'same-origin', cookie },
      body: JSON.stringify({ events }),
    });
    return { status: res.status, body: await res.json(), cookies: res.headers.getSetCookie() };
  }

  async function serverPost(base: string, body: unknown, token: string | null = TOKEN) {
    const res = await fetch(`${base}/wq/s`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...(token === null ? {} : { authorization: `Bearer ${token}` }) },
      body: JSON.stringify(body),
    });
    return { status: res.status, body: await res.json(), cookies: res.headers.getSetCookie() };
  }

  const iso = () => new Date(clock).toISOString();
  const hex = (n: number) => n.toString(16).padStart(32, 'a');

  /** A visit: the landing page view with the ad click, then a lead once the visitor gave the email. */
  async function visit(aid: string, email: string, fbclid: string, leadId: string) {
    const url = `https://seller.example/landing?fbclid=${fbclid}&utm_source=facebook&utm_campaign=black-friday`;
    const page = { company_id: COMPANY, event_name: 'page', event_id: hex(Math.floor(Math.random() * 1e9)), event_time: iso(), url };
    const first = await browserPost([{ ...page, context: { fbp: FBP }, user: { anonymous_id: aid } }]);
    expect(first.body).toMatchObject({ accepted: 1 });
    const clickCookie = first.cookies.find((c) => c.startsWith('wq_c='))!.split(';')[0]!;
    const lead = {
      company_id: COMPANY,
      event_name: 'lead',
      event_id: leadId,
      event_time: iso(),
      url: 'https://seller.example/thanks',
      context: { fbp: FBP },
      user: { anonymous_id: aid, email },
    };
    expect((await browserPost([lead], `_fbp=${FBP}; wq_aid=${aid}; ${clickCookie}`)).body).toMatchObject({ accepted: 1 });
    await relay.relay.visitorMemory!.flush();
  }

  const schedules = (email: string) => whop.conversions.filter((c) => c.body.event_name === 'schedule' && c.body.user?.email === email);

  describe('server events filled from visitor memory', () => {
    it('three days after a visit with an fbclid, a server schedule naming only the email reaches Whop once with the click, UTMs, fbp and the given IP/UA', async () => {
      await visit('aid_visitor_1', 'buyer@example.com', 'IwAR_click_one', hex(1));
      clock += 3 * DAY;
      const schedule = {
        company_id: COMPANY,
        event_name: 'schedule',
        event_id: 'calendly-booking-501',
        event_time: iso(),
        action_source: 'website',
        context: { ip_address: '198.51.100.77', user_agent: 'Mozilla/5.0 (iPhone) Safari/18 (booking)' },
        user: { email: 'Buyer@Example.com' },
      };
      const answer = await serverPost(relay.url, schedule);
      expect(answer.status).toBe(200);
      expect(answer.cookies).toEqual([]);
      expect(answer.body).toMatchObject({
        accepted: 1,
        duplicates: 0,
        filled: [{ index: 0, matched: ['email'], fields: expect.arrayContaining(['context.fbclid', 'context.utm_source', 'context.fbp']) }],
        results: [{ index: 0, status: 'accepted', event_id: 'calendly-booking-501' }],
      });
      // Resent (the server did not see the answer): a duplicate, never a second conversion.
      expect((await serverPost(relay.url, schedule)).body).toMatchObject({ accepted: 0, duplicates: 1 });

      await vi.waitFor(() => expect(schedules('buyer@example.com')).toHaveLength(1), { timeout: 10_000, interval: 25 });
      await new Promise((r) => setTimeout(r, 300));
      expect(schedules('buyer@example.com')).toHaveLength(1);
      const sent = schedules('buyer@example.com')[0]!;
      expect(sent.request.errors).toEqual([]);
      expect(sent.body).toMatchObject({
        event_id: 'calendly-booking-501',
        url: 'https://seller.example/landing',
        context: {
          fbclid: 'IwAR_click_one',
          utm_source: 'facebook',
          utm_campaign: 'black-friday',
          fbp: FBP,
          ip_address: '198.51.100.77',
          user_agent: 'Mozilla/5.0 (iPhone) Safari/18 (booking)',
        },
      });
      expect(whop.duplicates()).toEqual([]);
    });

    it('the browser’s lead and a server lead with the same event_id reach Whop once', async () => {
      const shared = hex(2);
      await visit('aid_visitor_2', 'second@example.com', 'IwAR_click_two', shared);
      const server = await serverPost(relay.url, {
        company_id: COMPANY,
        event_name: 'lead',
        event_id: shared,
        event_time: iso(),
        user: { anonymous_id: 'aid_visitor_2', email: 'second@example.com' },
      });
      expect(server.body).toMatchObject({ accepted: 0, duplicates: 1, results: [{ status: 'duplicate', event_id: shared }] });
      await vi.waitFor(() => expect(whop.conversions.filter((c) => c.body.event_id === shared)).toHaveLength(1), {
        timeout: 10_000,
        interval: 25,
      });
      await new Promise((r) => setTimeout(r, 300));
      expect(whop.conversions.filter((c) => c.body.event_id === shared)).toHaveLength(1);
    });

    it('forgets the visitor on /forget: a later server event gets nothing from the visit', async () => {
      await visit('aid_visitor_3', 'third@example.com', 'IwAR_click_three', hex(3));
      const forget = await fetch(`${relay.url}/wq/forget`, {
        method: 'POST',
        headers: { 'content-type': 'text/plain;charset=UTF-8', 'sec-fetch-site': 'same-origin', cookie: 'wq_aid=aid_visitor_3' },
        body: '{"events":[]}',
      });
      expect(forget.status).toBe(204);
      const answer = await serverPost(relay.url, {
        company_id: COMPANY,
        event_name: 'schedule',
        event_id: 'booking-after-forget',
        event_time: iso(),
        user: { email: 'third@example.com' },
      });
      expect(answer.body).toMatchObject({ accepted: 1 });
      expect(answer.body.filled).toBeUndefined();
      await vi.waitFor(() => expect(schedules('third@example.com')).toHaveLength(1), { timeout: 10_000, interval: 25 });
      expect(schedules('third@example.com')[0]!.body.context?.fbclid).toBeUndefined();
    });
  });

  describe('server endpoint authentication', () => {
    it('refuses a server event without a token or with a wrong one, in dry-run too, and stores nothing', async () => {
      const event = { company_id: COMPANY, event_name: 'lead', event_id: 'no-token-1', event_time: iso() };
      for (const [base, token] of [
        [relay.url, null],
        [relay.url, 'wrong'],
        [dryRelay.url, null],
        [dryRelay.url, `${TOKEN}0`],
      ] as const) {
        const res = await serverPost(base, event, token);
        expect(res.status).toBe(401);
        expect(res.body).toEqual({
          error: { type: 'authentication_error', code: 'unauthorized', param: null, message: expect.any(String) },
        });
      }
      for (const r of [relay, dryRelay]) expect((await r.outbox.recent(500)).some((e) => e.event_id === 'no-token-1')).toBe(false);
      // The dry-run relay takes it with the token (stored, never sent).
      expect((await serverPost(dryRelay.url, event)).body).toMatchObject({ accepted: 1 });
    });
  });
});
