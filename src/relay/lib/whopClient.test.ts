import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { startFakeWhop, type FakeWhop } from '../../../test/fakeWhop';
import { createWhopClient } from './whopClient';

let whop: FakeWhop;
beforeAll(async () => {
  whop = await startFakeWhop({ apiKey: 'k_live_secret', retryAfter: '7' });
});
afterAll(() => whop.close());
beforeEach(() => whop.reset());

const body = JSON.stringify({ company_id: 'biz_a', event_name: 'lead', event_id: 'evt_1', action_source: 'website', context: { ip_address: '203.0.113.9' } });

describe('createWhopClient', () => {
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
    expect(await client.createConversion(body)).toMatchObject({ kind: 'network' });
    expect(whop.conversions).toHaveLength(0);
  });
});
