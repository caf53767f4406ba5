// Calendly and Typeform webhooks through the whole Node path: node:http (serve) → createRelay →
// SqliteOutbox (a real file) → forwarder → the fake Whop API, as chaos/relayStack.ts starts them.
// Fixtures are the vendors' documented payloads (test/fixtures), signed here with node:crypto the
// way each vendor's docs compute it.
import { createHmac } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { createRelay } from '../src/relay/createRelay';
import type { SqliteOutbox } from '../src/relay/node/sqliteOutbox';
import { startStack, type ChaosStack } from './chaos/relayStack';
import type { FakeWhop } from './fakeWhop';

const COMPANY = 'biz_hooks';
const CALENDLY_KEY = 'calendly_signing_key_e3b0';
const TYPEFORM_SECRET = 'typeform_secret_9f86';
const AID = '5f0c3b9a2d4e4f6a8b1c7d9e0f2a4b6c';
let stack: ChaosStack;
let whop: FakeWhop;
let outbox: SqliteOutbox;
let base: string;
let logs: string[];

beforeAll(async () => {
  stack = await startStack({
    forwarder: { timeoutMs: 5000, backoff: { baseMs: 20, maxMs: 200 } },
    relay: {
      companies: [COMPANY],
      hooks: {
        company: COMPANY,
        calendlySigningKey: CALENDLY_KEY,
        typeformSecret: TYPEFORM_SECRET,
        typeformEvents: { other_form: 'submit_application' },
      },
    },
  });
  ({ whop, outbox, base, logs } = stack);
});

afterAll(() => stack.close());

const fixture = (name: string) => JSON.parse(readFileSync(new URL(`./fixtures/${name}`, import.meta.url), 'utf8'));

/** The documented invitee.created body, booked now (after the visit) with its own invitee URI. */
function calendlyBody(invitee: string, tracking?: Record<string, unknown>): string {
  const body = fixture('calendly-invitee-created.json');
  const now = new Date().toISOString();
  body.created_at = now;
  body.payload.created_at = now;
  body.payload.uri = `https://api.calendly.com/scheduled_events/CCCCCCCCCCCCCCCC/invitees/${invitee}`;
  if (tracking) body.payload.tracking = tracking;
  return JSON.stringify(body);
}

const calendlySignature = (raw: string, t = Math.floor(Date.now() / 1000), key = CALENDLY_KEY) =>
  `t=${t},v1=${createHmac('sha256', key).update(`${t}.${raw}`).digest('hex')}`;
const typeformSignature = (raw: string, secret = TYPEFORM_SECRET) => `sha256=${createHmac('sha256', secret).update(raw).digest('base64')}`;

async function hook(vendor: string, raw: string, headers: Record<string, string>) {
  const res = await fetch(`${base}/hooks/${vendor}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...headers },
    body: raw,
  });
  return { status: res.status, body: (await res.json()) as Record<string, unknown> };
}

/** The browser's visit: a page view with the ad click, as the pixel posts it. */
async function visit(aid: string, fbclid: string, extra: Record<string, unknown> = {}) {
  const res = await fetch(`${base}/e`, {
    method: 'POST',
    headers: {
      'content-type': 'text/plain;charset=UTF-8',
      'user-agent': 'Mozilla/5.0 (hooks) Chrome/130',
      cookie: '_fbp=fb.1.1700000000000.77',
    },
    body: JSON.stringify({
      events: [
        {
          company_id: COMPANY,
          event_name: 'page',
          event_id: `${aid.slice(0, 16)}${'0'.repeat(16)}`,
          event_time: new Date(Date.now() - 60_000).toISOString(),
          action_source: 'website',
          url: `https://seller.example/?utm_source=meta&fbclid=${fbclid}`,
          context: { fbclid, utm_source: 'meta', utm_campaign: 'winter' },
          user: { anonymous_id: aid },
          ...extra,
        },
      ],
    }),
  });
  expect(res.status).toBe(200);
}

const storedIds = async () => (await outbox.recent(1000)).map((r) => r.event_id);
const delivered = (eventId: string) => whop.conversions.filter((c) => c.body.event_id === eventId);

describe('Calendly webhook', () => {
  it('delivers a signed invitee.created as one schedule with the click the visitor brought, however often it is posted', async () => {
    await visit(AID, 'IwAR_calendly');
    const raw = calendlyBody('INVITEE0000000001');
    const uri = 'https://api.calendly.com/scheduled_events/CCCCCCCCCCCCCCCC/invitees/INVITEE0000000001';
    const first = await hook('calendly', raw, { 'calendly-webhook-signature': calendlySignature(raw) });
    expect(first).toMatchObject({ status: 200, body: { accepted: 1, duplicates: 0 } });
    expect(first.body.filled).toEqual([
      { index: 0, fields: expect.arrayContaining(['context.fbclid', 'context.fbp']), matched: expect.arrayContaining(['anonymous_id']) },
    ]);
    // Calendly retries (a new signature each time): the same invitee is the same event.
    const again = await hook('calendly', raw, { 'calendly-webhook-signature': calendlySignature(raw) });
    expect(again).toMatchObject({ status: 200, body: { accepted: 0, duplicates: 1 } });

    await vi.waitFor(() => expect(delivered(uri)).toHaveLength(1), { timeout: 10_000, interval: 25 });
    const sent = delivered(uri)[0]!;
    expect(sent.request.errors).toEqual([]);
    expect(sent.body).toMatchObject({
      company_id: COMPANY,
      event_name: 'schedule',
      action_source: 'website',
      user: { email: 'jane.doe@example.com', phone: '+14155550134', anonymous_id: AID, first_name: 'Jane', last_name: 'Doe' },
      context: { fbclid: 'IwAR_calendly', fbp: 'fb.1.1700000000000.77', utm_source: 'facebook', utm_campaign: 'spring_launch' },
    });
    // The carrier of the anonymous id never reaches Whop as a UTM.
    expect(sent.body.context?.utm_content).toBeUndefined();
    await new Promise((r) => setTimeout(r, 300));
    expect(delivered(uri)).toHaveLength(1);
    expect(whop.duplicates()).toEqual([]);
  });

  it('finds the visitor by the invitee email when the booking page carried no anonymous id', async () => {
    await visit('7e57e57e57e57e57e57e57e57e57e57e', 'IwAR_by_email', {
      user: { anonymous_id: '7e57e57e57e57e57e57e57e57e57e57e', email: 'Sam@Example.com' },
    });
    const booking = JSON.parse(calendlyBody('INVITEE0000000004', { utm_source: null, utm_content: null }));
    booking.payload.email = 'sam@example.com';
    const raw = JSON.stringify(booking);
    const res = await hook('calendly', raw, { 'calendly-webhook-signature': calendlySignature(raw) });
    expect(res).toMatchObject({ status: 200, body: { accepted: 1, filled: [{ matched: ['email'] }] } });
    const uri = 'https://api.calendly.com/scheduled_events/CCCCCCCCCCCCCCCC/invitees/INVITEE0000000004';
    await vi.waitFor(() => expect(delivered(uri)).toHaveLength(1), { timeout: 10_000, interval: 25 });
    expect(delivered(uri)[0]!.body).toMatchObject({ user: { email: 'sam@example.com' }, context: { fbclid: 'IwAR_by_email' } });
  });

  it('refuses a badly signed, unsigned or stale request with 401 and stores nothing', async () => {
    const before = (await outbox.recent(1000)).length;
    const raw = calendlyBody('INVITEE0000000002');
    const now = Math.floor(Date.now() / 1000);
    const attempts = [
      { 'calendly-webhook-signature': calendlySignature(raw, now, 'not_the_key') },
      { 'calendly-webhook-signature': calendlySignature(raw.replace('Jane', 'Joan')) },
      {},
      { 'calendly-webhook-signature': `t=${now}` },
      { 'calendly-webhook-signature': calendlySignature(raw, now - 600) },
      { 'calendly-webhook-signature': calendlySignature(raw, now + 600) },
    ];
    for (const headers of attempts) {
      const res = await hook('calendly', raw, headers);
      expect(res.status).toBe(401);
      expect(res.body).toEqual({
        error: {
          type: 'unauthorized',
          message: 'The webhook signature is missing, wrong or too old.',
          code: 'invalid_signature',
          param: null,
        },
      });
    }
    expect((await outbox.recent(1000)).length).toBe(before);
    expect(await storedIds()).not.toContain('https://api.calendly.com/scheduled_events/CCCCCCCCCCCCCCCC/invitees/INVITEE0000000002');
    const metrics = await (await fetch(`${base}/metrics`)).text();
    expect(metrics).toMatch(/^whopq_hooks_refused_total\{reason="invalid_signature",source="calendly"\} 6$/m);
    // Neither the key nor the body reached a log line.
    expect(logs.join('\n')).not.toContain(CALENDLY_KEY);
    expect(logs.join('\n')).not.toContain('jane.doe');
  });

  it('acknowledges an invitee.canceled without storing it, and refuses a body over the limit before checking it', async () => {
    const before = (await outbox.recent(1000)).length;
    const canceled = JSON.parse(calendlyBody('INVITEE0000000003'));
    canceled.event = 'invitee.canceled';
    const raw = JSON.stringify(canceled);
    const res = await hook('calendly', raw, { 'calendly-webhook-signature': calendlySignature(raw) });
    expect(res).toMatchObject({ status: 200, body: { accepted: 0, ignored: expect.any(String) } });
    const big = JSON.stringify({ ...canceled, pad: 'x'.repeat(70_000) });
    expect((await hook('calendly', big, { 'calendly-webhook-signature': calendlySignature(big) })).status).toBe(413);
    expect((await outbox.recent(1000)).length).toBe(before);
  });
});

describe('Typeform webhook', () => {
  const TYPEFORM_AID = '0a1b2c3d4e5f60718293a4b5c6d7e8f9';

  it("delivers a signed form_response once, counted with the browser's lead of the same event_id", async () => {
    await visit(TYPEFORM_AID, 'IwAR_typeform');
    const eventId = 'f1e2d3c4b5a697887766554433221100';
    // The browser's own lead, tracked on submit with the id the page put in the hidden field.
    await visit(TYPEFORM_AID, 'IwAR_typeform', { event_name: 'lead', event_id: eventId, event_time: new Date().toISOString() });
    const body = fixture('typeform-form-response.json');
    body.form_response.submitted_at = new Date().toISOString();
    body.form_response.hidden = { wq_aid: TYPEFORM_AID, event_id: eventId };
    const raw = JSON.stringify(body);
    const first = await hook('typeform', raw, { 'typeform-signature': typeformSignature(raw) });
    expect(first).toMatchObject({ status: 200, body: { accepted: 0, duplicates: 1 } });

    await vi.waitFor(() => expect(delivered(eventId)).toHaveLength(1), { timeout: 10_000, interval: 25 });
    expect(delivered(eventId)[0]!.body).toMatchObject({ event_name: 'lead', context: { fbclid: 'IwAR_typeform' } });
    await new Promise((r) => setTimeout(r, 300));
    expect(delivered(eventId)).toHaveLength(1);
  });

  it('delivers a response with no browser event under its token, filled by the anonymous id', async () => {
    const body = fixture('typeform-form-response.json');
    body.form_response.submitted_at = new Date().toISOString();
    body.form_response.token = 'tok_hooks_0001';
    body.form_response.form_id = 'other_form';
    body.form_response.hidden = { wq_aid: TYPEFORM_AID };
    const raw = JSON.stringify(body);
    expect(await hook('typeform', raw, { 'typeform-signature': typeformSignature(raw) })).toMatchObject({
      status: 200,
      body: { accepted: 1 },
    });
    expect(await hook('typeform', raw, { 'typeform-signature': typeformSignature(raw) })).toMatchObject({
      status: 200,
      body: { duplicates: 1 },
    });
    await vi.waitFor(() => expect(delivered('tok_hooks_0001')).toHaveLength(1), { timeout: 10_000, interval: 25 });
    expect(delivered('tok_hooks_0001')[0]!.body).toMatchObject({
      event_name: 'submit_application',
      user: { email: 'laura@example.com', phone: '+14155550199', anonymous_id: TYPEFORM_AID },
      context: { fbclid: 'IwAR_typeform' },
    });
  });

  it('refuses a badly signed or unsigned response with 401 and stores nothing', async () => {
    const before = (await outbox.recent(1000)).length;
    const body = fixture('typeform-form-response.json');
    body.form_response.token = 'tok_hooks_forged';
    body.form_response.hidden = {};
    const raw = JSON.stringify(body);
    for (const headers of [
      { 'typeform-signature': typeformSignature(raw, 'not_the_secret') },
      { 'typeform-signature': typeformSignature(raw.replace('laura', 'mallory')) },
      { 'typeform-signature': createHmac('sha256', TYPEFORM_SECRET).update(raw).digest('base64') },
      {},
    ]) {
      const res = await hook('typeform', raw, headers);
      expect(res.status).toBe(401);
      expect(res.body).toMatchObject({ error: { code: 'invalid_signature' } });
    }
    expect((await outbox.recent(1000)).length).toBe(before);
    expect(await storedIds()).not.toContain('tok_hooks_forged');
  });
});

describe('webhook routes misconfigured', () => {
  it('refuse events for a company the relay does not serve (403), storing nothing', async () => {
    const before = (await outbox.recent(1000)).length;
    const relay = createRelay({
      outbox,
      companies: [COMPANY],
      rateLimit: false,
      hooks: { company: 'biz_other', calendlySigningKey: CALENDLY_KEY },
    });
    const raw = calendlyBody('INVITEE0000000005');
    const res = await relay.fetch(
      new Request('http://relay.test/wq/hooks/calendly', {
        method: 'POST',
        headers: { 'calendly-webhook-signature': calendlySignature(raw) },
        body: raw,
      }),
    );
    expect(res.status).toBe(403);
    expect(await res.json()).toMatchObject({ error: { code: 'company_not_allowed' } });
    expect((await outbox.recent(1000)).length).toBe(before);
  });

  it('are not served without their secret', async () => {
    const relay = createRelay({ outbox, companies: [COMPANY], rateLimit: false, hooks: { company: COMPANY } });
    for (const vendor of ['calendly', 'typeform', 'tally']) {
      const res = await relay.fetch(new Request(`http://relay.test/wq/hooks/${vendor}`, { method: 'POST', body: '{}' }));
      expect(res.status).toBe(404);
    }
    const none = createRelay({ outbox, companies: [COMPANY], rateLimit: false });
    expect((await none.fetch(new Request('http://relay.test/wq/hooks/calendly', { method: 'POST', body: '{}' }))).status).toBe(404);
  });
});
