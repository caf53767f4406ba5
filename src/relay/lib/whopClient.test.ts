import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { startFakeWhop, type FakeWhop } from '../../../test/fakeWhop';
import { createNodeFetch, type NodeFetch } from '../node/nodeFetch';
import { createWhopClient as createClient, type WhopClientOptions } from './whopClient';

let whop: FakeWhop;
beforeAll(async () => {
  whop = await startFakeWhop({ apiKey: 'k_live_secret', retryAfter: '7' });
});
afterAll(() => whop.close());
beforeEach(() => whop.reset());

const body = JSON.stringify({
  company_id: 'biz_a',
  event_name: 'lead',
  event_id: 'evt_1',
  action_source: 'website',
  context: { ip_address: '203.0.113.9' },
});

// The same behaviour over the global fetch (Workers, Next.js) and the Node relay's node:http transport.
describe.each([
  ['global fetch', null],
  ['node:http keep-alive', createNodeFetch],
] as const)('createWhopClient over %s', (_name, transport) => {
  let node: NodeFetch | undefined;
  beforeAll(() => {
    node = transport?.();
  });
  afterAll(() => node?.close());
  const createWhopClient = (options: WhopClientOptions) => createClient({ ...options, fetch: node?.fetch });
  it('POSTs the body byte for byte with the bearer key and returns Whop’s id', async () => {
    const answer = await createWhopClient({ apiKey: 'k_live_secret', baseURL: whop.url }).createConversion(body);
    expect(answer).toEqual({ kind: 'ok', status: 200, id: whop.conversions[0]!.id });
    const [req] = whop.requests;
    expect(req).toMatchObject({ method: 'POST', path: '/api/v1/conversions', raw: body, errors: [] });
    expect(req!.headers.authorization).toBe('Bearer k_live_secret');
    expect(req!.headers['content-type']).toBe('application/json');
  });

  it('keeps Whop’s error body and Retry-After, and makes no retries of its own', async () => {
    const client = createWhopClient({ apiKey: 'k_live_secret', baseURL: whop.url });
    const invalid = await client.createConversion(JSON.stringify({ company_id: 'biz_a', event_name: 'purchase' }));
    expect(invalid).toMatchObject({ kind: 'http', status: 400 });
    expect(JSON.parse((invalid as { body: string }).body)).toMatchObject({ error: { type: 'invalid_request_error', param: 'event_name' } });

    whop.setMode('429');
    expect(await client.createConversion(body)).toMatchObject({ kind: 'http', status: 429, retryAfter: '7' });
    whop.setMode('500');
    expect(await client.createConversion(body)).toMatchObject({ kind: 'http', status: 500 });
    expect(whop.requests).toHaveLength(3);
  });

  it('reports a wrong key as 401 without echoing the key anywhere', async () => {
    const answer = await createWhopClient({ apiKey: 'k_wrong', baseURL: whop.url }).createConversion(body);
    expect(answer).toMatchObject({ kind: 'http', status: 401 });
    expect(JSON.stringify(answer)).not.toContain('k_wrong');
  });

  it('turns a hung request into a timeout and a reset connection into a network error', async () => {
    const client = createWhopClient({ apiKey: 'k_live_secret', baseURL: whop.url, timeoutMs: 300 });
    whop.setMode('hang');
    expect(await client.createConversion(body)).toMatchObject({ kind: 'timeout' });
    whop.setMode('reset');
    // A long timeout here: on a loaded machine a 300 ms one can lapse before the reset is read.
    const patient = createWhopClient({ apiKey: 'k_live_secret', baseURL: whop.url, timeoutMs: 10_000 });
    expect(await patient.createConversion(body)).toMatchObject({ kind: 'network' });
    expect(whop.conversions).toHaveLength(0);
  });

  it('sends /events through the typed client: the body as params, the event id as Idempotency-Key', async () => {
    const client = createWhopClient({ apiKey: 'k_live_secret', baseURL: whop.url });
    const params = {
      account_id: 'biz_a',
      event_name: 'page',
      event_id: 'evt_p1',
      title: 'Home',
      resumed: false,
      context: { msclkid: 'm1' },
      user: { linked_wuid: 'wuid_1' },
    };
    const answer = await client.createEvent({ ...params, 'Idempotency-Key': 'evt_p1' });
    expect(answer).toEqual({ kind: 'ok', status: 200, id: whop.events[0]!.id });
    const [req] = whop.requests;
    expect(req).toMatchObject({ method: 'POST', path: '/api/v1/events', errors: [] });
    expect(JSON.parse(req!.raw)).toEqual(params);
    expect(req!.headers['idempotency-key']).toBe('evt_p1');
    expect(req!.headers.authorization).toBe('Bearer k_live_secret');
    // Whop's error shape and statuses are classified as for /conversions.
    expect(await client.createEvent({ account_id: 'biz_a', event_name: 'lead', event_id: 'e2' })).toMatchObject({
      kind: 'http',
      status: 400,
    });
    whop.setMode('429');
    expect(await client.createEvent({ account_id: 'biz_a', event_name: 'lead', event_id: 'e2', 'Idempotency-Key': 'e2' })).toMatchObject({
      kind: 'http',
      status: 429,
      retryAfter: '7',
    });
    expect(whop.requests).toHaveLength(3);
  });

  it('never follows a redirect on /events: the event does not reach the other host', async () => {
    const other = await startFakeWhop({ apiKey: 'k_live_secret' });
    try {
      whop.setMode(() => ({ status: 307, headers: { location: `${other.url}/events` } }));
      const answer = await createWhopClient({ apiKey: 'k_live_secret', baseURL: whop.url }).createEvent({
        account_id: 'biz_a',
        event_name: 'lead',
        event_id: 'e3',
        'Idempotency-Key': 'e3',
      });
      expect(answer).toMatchObject({ kind: 'http', status: 307 });
      expect(other.requests).toHaveLength(0);
    } finally {
      await other.close();
    }
  });

  it('never follows a redirect on /conversions either', async () => {
    const other = await startFakeWhop({ apiKey: 'k_live_secret' });
    try {
      whop.setMode(() => ({ status: 308, headers: { location: `${other.url}/conversions` } }));
      expect(await createWhopClient({ apiKey: 'k_live_secret', baseURL: whop.url }).createConversion(body)).toMatchObject({
        kind: 'http',
        status: 308,
      });
      expect(other.requests).toHaveLength(0);
    } finally {
      await other.close();
    }
  });

  it('sends over a few kept-alive connections, not one per request', async () => {
    const client = createWhopClient({ apiKey: 'k_live_secret', baseURL: whop.url });
    for (let i = 0; i < 20; i++) expect(await client.createConversion(body)).toMatchObject({ kind: 'ok' });
    expect(whop.connections()).toBeLessThanOrEqual(2);
  });
});
