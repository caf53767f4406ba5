// The Cloudflare Workers relay, for real in workerd (through Miniflare): the bundled Worker ingests
// over its fetch handler into a Cloudflare Queue, its queue consumer forwards to the fake Whop API
// on 127.0.0.1, a DedupStore Durable Object keeps event_ids, and a second Worker drains the
// dead-letter queue into a local recorder. Queue outcomes are read from Miniflare's own log lines
// ("QUEUE <name> <acked>/<total>"), so no test reaches into the Worker's internals.
import { createHmac } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Log, LogLevel, Miniflare } from 'miniflare';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { buildWorker } from '../scripts/buildWorker.mjs';
import type { Conversion } from '../src/shared/conversion';
import { startFakeWhop, type FakeWhop } from './fakeWhop';

const COMPANY = 'biz_workers1';
const ORIGIN = 'https://shop.example';
const ADMIN_TOKEN = 'tok_workers_admin_5e1';
const SERVER_TOKEN = 'tok_workers_server_8c3';
const CALENDLY_KEY = 'calendly_workers_key_2c6';
const queueLog: string[] = [];

/** Keeps Miniflare's log lines (queue batch results, retries) for the assertions, printing only errors. */
class RecordingLog extends Log {
  override logWithLevel(level: LogLevel, message: string): void {
    queueLog.push(message);
    if (level <= LogLevel.ERROR) super.logWithLevel(level, message);
  }
}

// A second Worker that consumes the dead-letter queue and posts what it gets to a local recorder.
const DLQ_SINK = `export default { async queue(batch, env) {
  await fetch(env.SINK, { method: 'POST', body: JSON.stringify(batch.messages.map((m) => m.body)) });
  batch.ackAll();
} };`;

let whop: FakeWhop;
let mf: Miniflare;
let sink: Server;
const deadLetters: Array<{ event_id: string; error: string; attempts: number; note?: string }> = [];

const event = (event_id: string, extra: Partial<Conversion> = {}): Conversion => ({
  company_id: COMPANY,
  event_name: 'lead',
  event_id,
  event_time: new Date().toISOString(),
  action_source: 'website',
  url: `${ORIGIN}/landing`,
  user: { anonymous_id: 'anon-1', email: 'ada@example.com' },
  ...extra,
});

const ingest = async (events: Conversion[]) => {
  const response = await mf.dispatchFetch(`${ORIGIN}/wq/e`, {
    method: 'POST',
    headers: {
      'content-type': 'text/plain',
      origin: ORIGIN,
      'cf-connecting-ip': '203.0.113.7',
      'user-agent': 'Mozilla/5.0 (workers test)',
    },
    body: JSON.stringify({ events }),
  });
  return { status: response.status, body: (await response.json()) as { accepted: number; duplicates: number; rejected: unknown[] } };
};

/** Polls `check` until it returns true, failing after `ms`. */
async function until(check: () => boolean, what: string, ms = 30_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
}

const posted = (id: string) => whop.requests.filter((r) => r.body?.event_id === id);
const delivered = (id: string) => whop.conversions.filter((c) => c.body.event_id === id);
/** Messages the events queue has acknowledged so far, summed from Miniflare's "QUEUE whopq-events <acked>/<n>" lines. */
// Every test waits until the queue has acknowledged each message it caused, so no batch of one
// test is still running (and logging) when the next takes its `acks()` baseline.
const acks = () => queueLog.reduce((n, line) => n + Number(/^QUEUE whopq-events (\d+)\/\d+/.exec(line)?.[1] ?? 0), 0);

beforeAll(async () => {
  whop = await startFakeWhop();
  sink = createServer((req, res) => {
    let body = '';
    req.on('data', (d) => (body += d));
    req.on('end', () => {
      deadLetters.push(...(JSON.parse(body) as typeof deadLetters));
      res.end('ok');
    });
  });
  await new Promise<void>((resolve) => sink.listen(0, '127.0.0.1', resolve));
  const script = await buildWorker();
  // What every worker of the test shares: the built relay, and the fake Whop it forwards to.
  const worker = { modules: true, script, compatibilityDate: '2025-07-18' };
  const whopBindings = { WHOP_API_KEY: whop.apiKey, WHOP_API_BASE_URL: whop.url, WHOP_COMPANY_ID: COMPANY };
  mf = new Miniflare({
    log: new RecordingLog(LogLevel.DEBUG),
    workers: [
      {
        name: 'relay',
        ...worker,
        bindings: {
          ...whopBindings,
          WHOPQ_ORIGINS: ORIGIN,
          WHOPQ_ADMIN_TOKEN: ADMIN_TOKEN,
          WHOPQ_MAX_ATTEMPTS: '3',
          WHOPQ_BACKOFF_BASE_MS: '200',
        },
        queueProducers: { WHOPQ_QUEUE: 'whopq-events', WHOPQ_DLQ: 'whopq-dead' },
        queueConsumers: { 'whopq-events': { maxBatchSize: 10, maxBatchTimeout: 0.05, maxRetries: 30, deadLetterQueue: 'whopq-dead' } },
        durableObjects: { WHOPQ_DEDUP: 'DedupStore' },
      },
      {
        // Server events and visitor memory (a Durable Object per company).
        name: 'relay-memory',
        ...worker,
        bindings: {
          ...whopBindings,
          WHOPQ_SERVER_TOKENS: SERVER_TOKEN,
          WHOPQ_CALENDLY_SIGNING_KEY: CALENDLY_KEY,
        },
        queueProducers: { WHOPQ_QUEUE: 'whopq-events-memory' },
        queueConsumers: { 'whopq-events-memory': { maxBatchSize: 10, maxBatchTimeout: 0.05, maxRetries: 30 } },
        durableObjects: { WHOPQ_DEDUP: 'DedupStore', WHOPQ_VISITORS: 'VisitorMemoryStore' },
      },
      {
        // The same relay forwarding to Whop's Events API (WHOPQ_UPSTREAM=events).
        name: 'relay-events',
        ...worker,
        bindings: { ...whopBindings, WHOPQ_UPSTREAM: 'events' },
        queueProducers: { WHOPQ_QUEUE: 'whopq-events-upstream' },
        queueConsumers: { 'whopq-events-upstream': { maxBatchSize: 10, maxBatchTimeout: 0.05, maxRetries: 30 } },
        durableObjects: { WHOPQ_DEDUP: 'DedupStore' },
      },
      {
        // The defaults: no admin token, no origin list, no key (dry run).
        name: 'relay-defaults',
        ...worker,
        bindings: { WHOP_COMPANY_ID: COMPANY },
        queueProducers: { WHOPQ_QUEUE: 'whopq-events-defaults' },
        durableObjects: { WHOPQ_DEDUP: 'DedupStore' },
      },
      {
        // A key without the company allowlist: refused rather than sending anyone's events.
        name: 'relay-no-companies',
        ...worker,
        bindings: { WHOP_API_KEY: 'k_no_companies', WHOP_COMPANY_ID: '' },
        queueProducers: { WHOPQ_QUEUE: 'whopq-events-no-companies' },
        durableObjects: { WHOPQ_DEDUP: 'DedupStore' },
      },
      {
        name: 'dlq-sink',
        modules: true,
        script: DLQ_SINK,
        compatibilityDate: '2025-07-18',
        bindings: { SINK: `http://127.0.0.1:${(sink.address() as AddressInfo).port}/` },
        queueConsumers: { 'whopq-dead': { maxBatchTimeout: 0.05 } },
      },
    ],
  });
  await mf.ready;
}, 60_000);

afterAll(async () => {
  await mf?.dispose();
  await whop?.close();
  await new Promise((resolve) => sink?.close(resolve));
});

beforeEach(() => whop.setMode('ok'));

// Generous per-test limit for a busy CI machine: every wait is a poll on a condition.
describe('Cloudflare Workers relay in workerd', { timeout: 45_000 }, () => {
  it('ingest → Queue → consumer → Whop: the event arrives once, with the IP from CF-Connecting-IP', async () => {
    const before = acks();
    const answer = await ingest([event('cf-basic-1'), event('cf-basic-2', { event_name: 'schedule', value: 30, currency: 'usd' })]);
    expect(answer).toEqual({ status: 200, body: { accepted: 2, duplicates: 0, rejected: [] } });
    await until(() => delivered('cf-basic-1').length === 1 && delivered('cf-basic-2').length === 1, 'both conversions');
    const body = delivered('cf-basic-2')[0]!.body;
    expect(body).toMatchObject({ company_id: COMPANY, event_name: 'schedule', value: 30, currency: 'usd' });
    expect(body.context?.ip_address).toBe('203.0.113.7');
    expect(body.context?.user_agent).toBe('Mozilla/5.0 (workers test)');
    expect(delivered('cf-basic-2')[0]!.request.errors).toEqual([]);
    await until(() => acks() >= before + 2, 'both messages to be acknowledged');
  });

  it('a 500 from Whop is retried from the Queue with a delay, then delivered exactly once', async () => {
    const before = acks();
    whop.setMode((req) => (req.body?.event_id === 'cf-retry-1' && posted('cf-retry-1').length === 1 ? '500' : 'ok'));
    expect((await ingest([event('cf-retry-1')])).body.accepted).toBe(1);
    await until(() => delivered('cf-retry-1').length === 1, 'the retried conversion');
    expect(posted('cf-retry-1').map((r) => r.status)).toEqual([500, 200]);
    // The failed message is acknowledged once its delayed copy is queued, then the copy.
    await until(() => acks() >= before + 2, 'both messages to be acknowledged');
  });

  it('a 429 with Retry-After holds every send of the company until it is over', async () => {
    const before = acks();
    const limited = {
      status: 429,
      body: { error: { type: 'rate_limit_error', message: 'Too many requests', code: null, param: null } },
      headers: { 'retry-after': '3' },
    };
    whop.setMode((req) => (req.body?.event_id === 'cf-hold-1' && posted('cf-hold-1').length === 1 ? limited : 'ok'));
    await ingest([event('cf-hold-1')]);
    await until(() => posted('cf-hold-1').length === 1, 'the rate-limited send');
    const limitedAt = posted('cf-hold-1')[0]!.at;
    // Once that attempt is settled (its message acknowledged), another event of the company arrives.
    await until(() => acks() >= before + 1, 'the rate-limited attempt to be settled');
    await ingest([event('cf-hold-2')]);
    await until(() => delivered('cf-hold-1').length === 1 && delivered('cf-hold-2').length === 1, 'both conversions');
    // Neither went out before Whop's 3 s were over (measured from when Whop received the refused request).
    expect(posted('cf-hold-1')[1]!.at - limitedAt).toBeGreaterThanOrEqual(2_500);
    expect(posted('cf-hold-2')[0]!.at - limitedAt).toBeGreaterThanOrEqual(2_500);
    expect(posted('cf-hold-2')).toHaveLength(1);
    // Two acks per event: the attempt (or hold) that re-queued it, then the delivery.
    await until(() => acks() >= before + 4, 'every message to be acknowledged');
  });

  it('dedup at ingest: a resent event_id is not enqueued again, sequentially or concurrently', async () => {
    const before = acks();
    expect((await ingest([event('cf-dup-1')])).body).toMatchObject({ accepted: 1, duplicates: 0 });
    expect((await ingest([event('cf-dup-1')])).body).toMatchObject({ accepted: 0, duplicates: 1 });
    // The same new event from five tabs at once: exactly one of them stores it.
    const racing = await Promise.all([1, 2, 3, 4, 5].map(() => ingest([event('cf-dup-2')])));
    expect(racing.map((r) => r.status)).toEqual([200, 200, 200, 200, 200]);
    expect(racing.reduce((n, r) => n + r.body.accepted, 0)).toBe(1);
    expect(racing.reduce((n, r) => n + r.body.duplicates, 0)).toBe(4);
    // Every message this test enqueued has been handled once both are delivered and acknowledged.
    await until(() => delivered('cf-dup-1').length === 1 && delivered('cf-dup-2').length === 1, 'both conversions');
    await until(() => acks() >= before + 2, 'both messages to be acknowledged');
    expect(posted('cf-dup-1')).toHaveLength(1);
    expect(posted('cf-dup-2')).toHaveLength(1);
    expect(whop.duplicates()).toEqual([]);
  });

  it('at-least-once: a redelivered message for a delivered event is acknowledged without a POST', async () => {
    const before = acks();
    await ingest([event('cf-redeliver-1')]);
    await until(() => delivered('cf-redeliver-1').length === 1, 'the first delivery');
    const queue = await mf.getQueueProducer<unknown>('WHOPQ_QUEUE', 'relay');
    // The same message again, as the Queue redelivers one whose ack was lost.
    await queue.send({
      company_id: COMPANY,
      event_name: 'lead',
      event_id: 'cf-redeliver-1',
      body: delivered('cf-redeliver-1')[0]!.body,
      received_at: Date.now(),
    });
    await until(() => acks() >= before + 2, 'the original and the redelivered message to be acknowledged');
    expect(posted('cf-redeliver-1')).toHaveLength(1);
  });

  it('a lead and a schedule sharing one event_id are two events: both enqueued and delivered', async () => {
    const answer = await ingest([event('cf-shared-1'), event('cf-shared-1', { event_name: 'schedule' })]);
    expect(answer.body).toMatchObject({ accepted: 2, duplicates: 0 });
    expect((await ingest([event('cf-shared-1', { event_name: 'schedule' })])).body).toMatchObject({ accepted: 0, duplicates: 1 });
    await until(() => delivered('cf-shared-1').length === 2, 'both events delivered');
    expect(
      delivered('cf-shared-1')
        .map((c) => c.body.event_name)
        .sort(),
    ).toEqual(['lead', 'schedule']);
  });

  it('at-least-once: two copies of one event handled at the same time give one POST', async () => {
    // Two deliveries of the same message in one batch are handled concurrently, like two consumer
    // invocations on Cloudflare: the ledger lets one send and holds the other back.
    const before = acks();
    const queue = await mf.getQueueProducer<unknown>('WHOPQ_QUEUE', 'relay');
    const copy = { company_id: COMPANY, event_name: 'lead', event_id: 'cf-twins-1', body: event('cf-twins-1'), received_at: Date.now() };
    await queue.sendBatch([{ body: copy }, { body: copy }]);
    await until(() => queueLog.some((line) => /QUEUE whopq-events 1\/2/.test(line)), 'one copy sent and one held back');
    // The held copy comes back, finds the event delivered and is acknowledged without a POST.
    await until(() => acks() >= before + 2, 'the held copy to be acknowledged');
    expect(delivered('cf-twins-1')).toHaveLength(1);
    expect(posted('cf-twins-1')).toHaveLength(1);
  });

  it("a 422 goes to the dead-letter queue with Whop's error at once; a 500 that never ends after max attempts", async () => {
    const before = acks();
    whop.setMode((req) => (req.body?.event_id === 'cf-dead-422' ? '422' : req.body?.event_id === 'cf-dead-500' ? '500' : 'ok'));
    await ingest([event('cf-dead-422'), event('cf-dead-500')]);
    await until(
      () => deadLetters.some((d) => d.event_id === 'cf-dead-422') && deadLetters.some((d) => d.event_id === 'cf-dead-500'),
      'both dead letters',
    );
    expect(posted('cf-dead-422')).toHaveLength(1);
    expect(deadLetters.find((d) => d.event_id === 'cf-dead-422')!.error).toMatch(/^HTTP 422: /);
    expect(posted('cf-dead-500')).toHaveLength(3);
    expect(deadLetters.find((d) => d.event_id === 'cf-dead-500')).toMatchObject({
      attempts: 3,
      error: expect.stringMatching(/^gave up after 3 attempts: HTTP 500/),
    });
    // One ack for the 422, three for the 500 (two re-queued copies, then the dead one).
    await until(() => acks() >= before + 4, 'every message to be acknowledged');
    // Dead is final: the event is not sent again when it is resent by the browser.
    expect((await ingest([event('cf-dead-422')])).body).toMatchObject({ accepted: 0, duplicates: 1 });
  });

  it('a message that is not an event goes to the dead-letter queue instead of looping', async () => {
    const before = acks();
    const queue = await mf.getQueueProducer<unknown>('WHOPQ_QUEUE', 'relay');
    await queue.send({ note: 'written by some other producer' });
    await until(
      () => deadLetters.some((d) => d.note === 'written by some other producer'),
      'the malformed message in the dead-letter queue',
    );
    expect(deadLetters.find((d) => d.note)!.error).toBe('malformed queue message');
    await until(() => acks() >= before + 1, 'the message to be acknowledged');
  });

  it('/wq/ready turns 503 naming the company after Whop refuses the key, and the event is kept', async () => {
    expect((await mf.dispatchFetch(`${ORIGIN}/wq/ready`)).status).toBe(200);
    whop.setMode((req) => (req.body?.event_id === 'cf-pause-1' ? '401' : 'ok'));
    await ingest([event('cf-pause-1')]);
    await until(() => posted('cf-pause-1').length === 1, 'the refused send');
    let ready: Response | undefined;
    const deadline = Date.now() + 30_000;
    while ((ready = await mf.dispatchFetch(`${ORIGIN}/wq/ready`)).status === 200 && Date.now() < deadline)
      await new Promise((r) => setTimeout(r, 50));
    expect(ready.status).toBe(503);
    expect(await ready.text()).toContain(COMPANY);
    // Not dead-lettered: it waits in the Queue for the key to be fixed.
    expect(deadLetters.some((d) => d.event_id === 'cf-pause-1')).toBe(false);
  });

  it('serves the pixel bundle from the first-party path', async () => {
    const response = await mf.dispatchFetch(`${ORIGIN}/wq/p.js`);
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toMatch(/javascript/);
    expect(await response.text()).toContain('whopq');
  });

  it('/wq/metrics needs the admin token (404 when none is set); origins default as documented: any', async () => {
    const metrics = (headers: Record<string, string> = {}) =>
      mf.dispatchFetch(`${ORIGIN}/wq/metrics`, { headers }).then(async (r) => ({ status: r.status, text: await r.text() }));
    expect((await metrics()).status).toBe(401);
    expect((await metrics({ authorization: 'Bearer wrong' })).status).toBe(401);
    const ok = await metrics({ authorization: `Bearer ${ADMIN_TOKEN}` });
    expect(ok.status).toBe(200);
    expect(ok.text).toContain('whopq_');
    const defaults = await mf.getWorker('relay-defaults');
    expect((await defaults.fetch(`${ORIGIN}/wq/metrics`)).status).toBe(404);
    const foreign = await defaults.fetch(`${ORIGIN}/wq/e`, {
      method: 'POST',
      headers: { 'content-type': 'text/plain', origin: 'https://elsewhere.example' },
      body: JSON.stringify(event('cf-default-origin')),
    });
    expect(foreign.status).toBe(200);
    const open = await mf.getWorker('relay-no-companies');
    const refused = await open.fetch(`${ORIGIN}/wq/e`, {
      method: 'POST',
      headers: { 'content-type': 'text/plain' },
      body: JSON.stringify(event('cf-no-companies')),
    });
    expect([refused.status, ((await refused.json()) as { error: { code: string } }).error.code]).toEqual([503, 'misconfigured']);
  });

  it('WHOPQ_UPSTREAM=events: the page view and the lead go to POST /events, the event id as Idempotency-Key', async () => {
    const worker = await mf.getWorker('relay-events');
    const events = [
      event('cf-up-page', { event_name: 'page', title: 'Landing' } as Partial<Conversion>),
      event('cf-up-lead', { context: { gclid: 'g1', msclkid: 'm1' } as Conversion['context'] }),
    ];
    const response = await worker.fetch(`${ORIGIN}/wq/e`, {
      method: 'POST',
      headers: { 'content-type': 'text/plain', origin: ORIGIN, 'cf-connecting-ip': '203.0.113.8' },
      body: JSON.stringify({ events }),
    });
    expect(response.status).toBe(200);
    expect(await response.json()).toMatchObject({ accepted: 2 });
    const sent = (id: string) => whop.events.filter((e) => e.body.event_id === id);
    await until(() => sent('cf-up-page').length === 1 && sent('cf-up-lead').length === 1, 'both events at /events');
    expect(sent('cf-up-page')[0]!.body).toMatchObject({ account_id: COMPANY, event_name: 'page', title: 'Landing' });
    expect(sent('cf-up-lead')[0]!.body.context).toMatchObject({ gclid: 'g1', msclkid: 'm1', ip_address: '203.0.113.8' });
    for (const id of ['cf-up-page', 'cf-up-lead']) {
      expect(sent(id)[0]!.idempotencyKey).toBe(id);
      expect(sent(id)[0]!.request.errors).toEqual([]);
      expect(delivered(id)).toEqual([]);
    }
  });

  it('visitor memory in a Durable Object: a server event naming only the email gets the browser’s click; /forget forgets it', async () => {
    const worker = await mf.getWorker('relay-memory');
    const page = {
      ...event('d1e2f3a4b5c60718293a4b5c6d7e8f91'),
      event_name: 'page',
      url: `${ORIGIN}/landing?fbclid=IwAR_workers&utm_source=meta`,
    };
    const lead = { ...event('d1e2f3a4b5c60718293a4b5c6d7e8f92'), user: { anonymous_id: 'anon-mem', email: 'mem@example.com' } };
    const browser = await worker.fetch(`${ORIGIN}/wq/e`, {
      method: 'POST',
      headers: { 'content-type': 'text/plain', 'cf-connecting-ip': '203.0.113.8', 'user-agent': 'Mozilla/5.0 (workers memory)' },
      body: JSON.stringify({ events: [{ ...page, user: { anonymous_id: 'anon-mem' } }, lead] }),
    });
    expect(await browser.json()).toMatchObject({ accepted: 2 });
    const server = async (event_id: string, token = SERVER_TOKEN) => {
      const res = await worker.fetch(`${ORIGIN}/wq/s`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
        body: JSON.stringify({
          company_id: COMPANY,
          event_name: 'schedule',
          event_id,
          event_time: new Date().toISOString(),
          user: { email: 'mem@example.com' },
        }),
      });
      return { status: res.status, body: (await res.json()) as { filled?: Array<{ fields: string[] }> } };
    };
    expect((await server('workers-booking-0', 'wrong')).status).toBe(401);
    const first = await server('workers-booking-1');
    expect(first.status).toBe(200);
    expect(first.body.filled?.[0]?.fields).toEqual(expect.arrayContaining(['context.fbclid', 'context.utm_source', 'context.ip_address']));
    await until(() => delivered('workers-booking-1').length === 1, 'the filled schedule at Whop');
    expect(delivered('workers-booking-1')[0]!.body.context).toMatchObject({
      fbclid: 'IwAR_workers',
      utm_source: 'meta',
      ip_address: '203.0.113.8',
      user_agent: 'Mozilla/5.0 (workers memory)',
    });
    const forget = await worker.fetch(`${ORIGIN}/wq/forget`, { method: 'POST', body: '{"anonymous_id":"anon-mem"}' });
    expect(forget.status).toBe(204);
    const after = await server('workers-booking-2');
    expect(after.body.filled).toBeUndefined();
    await until(() => delivered('workers-booking-2').length === 1, 'the unfilled schedule at Whop');
    expect(delivered('workers-booking-2')[0]!.body.context?.fbclid).toBeUndefined();
  });

  it('a signed Calendly booking (Web Crypto HMAC in workerd) reaches Whop once with the browser’s click; a bad signature is refused', async () => {
    const worker = await mf.getWorker('relay-memory');
    const aid = 'c0ffee00c0ffee00c0ffee00c0ffee00';
    const visit = await worker.fetch(`${ORIGIN}/wq/e`, {
      method: 'POST',
      headers: { 'content-type': 'text/plain', 'cf-connecting-ip': '203.0.113.9' },
      body: JSON.stringify({
        events: [
          {
            ...event('c0ffee00c0ffee00c0ffee00c0ffee01'),
            event_name: 'page',
            url: `${ORIGIN}/?fbclid=IwAR_cal`,
            user: { anonymous_id: aid },
          },
        ],
      }),
    });
    expect(visit.status).toBe(200);
    const booking = JSON.parse(readFileSync(new URL('./fixtures/calendly-invitee-created.json', import.meta.url), 'utf8'));
    booking.payload.created_at = new Date().toISOString();
    booking.payload.uri = 'https://api.calendly.com/scheduled_events/WORKERS/invitees/WORKERS1';
    booking.payload.tracking = { utm_content: `wq_aid.${aid}` };
    const raw = JSON.stringify(booking);
    const t = Math.floor(Date.now() / 1000);
    const hook = (signature: string) =>
      worker.fetch(`${ORIGIN}/wq/hooks/calendly`, { method: 'POST', headers: { 'calendly-webhook-signature': signature }, body: raw });
    expect((await hook(`t=${t},v1=${createHmac('sha256', 'wrong').update(`${t}.${raw}`).digest('hex')}`)).status).toBe(401);
    const signature = `t=${t},v1=${createHmac('sha256', CALENDLY_KEY).update(`${t}.${raw}`).digest('hex')}`;
    expect(await (await hook(signature)).json()).toMatchObject({ accepted: 1, filled: [{ matched: ['anonymous_id'] }] });
    expect(await (await hook(signature)).json()).toMatchObject({ accepted: 0, duplicates: 1 });
    const uri = 'https://api.calendly.com/scheduled_events/WORKERS/invitees/WORKERS1';
    await until(() => delivered(uri).length === 1, 'the booking at Whop');
    expect(delivered(uri)[0]!.body).toMatchObject({ event_name: 'schedule', context: { fbclid: 'IwAR_cal' } });
  });
});
