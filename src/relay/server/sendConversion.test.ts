// whopq/server against a real relay (node:http) and the fake Whop API.
import { once } from 'node:events';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startFakeWhop, type FakeWhop } from '../../../test/fakeWhop';
import { createRelay, type Relay } from '../createRelay';
import { MemoryOutbox } from '../lib/memoryOutbox';
import { serve } from '../node/serve';
import { sendConversion, SendConversionError } from './sendConversion';

const COMPANY = 'biz_helper';
const TOKEN = 'srv_helper_token_5d1e';
let whop: FakeWhop;
let relay: Relay;
let server: Server;
let relayUrl: string;
const outbox = new MemoryOutbox();

beforeAll(async () => {
  whop = await startFakeWhop({ apiKey: 'k_helper' });
  relay = createRelay({ outbox, companies: [COMPANY], serverTokens: [TOKEN], rateLimit: false });
  server = serve(relay, { port: 0, host: '127.0.0.1' });
  await once(server, 'listening');
  relayUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}/wq`;
});

afterAll(async () => {
  server.closeAllConnections();
  await new Promise((r) => server.close(r));
  await whop.close();
});

describe('sendConversion to a relay', () => {
  it('sends to /s with the token: accepted, then a duplicate, with what the relay filled from the browser’s visit', async () => {
    await relay.fetch(
      new Request('http://shop.example/wq/e', {
        method: 'POST',
        headers: { 'content-type': 'text/plain' },
        body: JSON.stringify({
          company_id: COMPANY,
          event_name: 'page',
          url: 'https://shop.example/?gclid=G-42',
          user: { anonymous_id: 'aid-helper' },
        }),
      }),
      { remoteAddress: '203.0.113.50' },
    );
    await relay.visitorMemory!.flush();
    const event = { company_id: COMPANY, event_name: 'lead', event_id: 'crm-deal-9', user: { anonymous_id: 'aid-helper' } };
    const first = await sendConversion(event, { relayUrl, token: TOKEN });
    expect(first).toMatchObject({ status: 'accepted', event_id: 'crm-deal-9', filled: expect.arrayContaining(['context.gclid']) });
    expect(await sendConversion(event, { relayUrl: `${relayUrl}/`, token: TOKEN })).toMatchObject({ status: 'duplicate' });
    expect(outbox.all().find((r) => r.event_id === 'crm-deal-9')!.body.context?.gclid).toBe('G-42');
  });

  it('rejects with the relay’s error: a wrong token (not retryable), an event the relay refuses', async () => {
    const wrong = await sendConversion({ company_id: COMPANY, event_name: 'lead' }, { relayUrl, token: 'nope' }).catch((e) => e);
    expect(wrong).toBeInstanceOf(SendConversionError);
    expect(wrong).toMatchObject({ status: 401, retryable: false, error: { code: 'unauthorized' } });
    const refused = await sendConversion({ company_id: 'biz_other', event_name: 'lead' }, { relayUrl, token: TOKEN }).catch((e) => e);
    expect(refused).toMatchObject({ status: 403, retryable: false, error: { code: 'company_not_allowed' } });
  });
});

describe('sendConversion straight to Whop', () => {
  it('normalises like the relay (email trimmed and lower-cased, value from a string, an event_id generated) and Whop takes it', async () => {
    const result = await sendConversion(
      {
        company_id: COMPANY,
        event_name: 'lead',
        value: '49.00' as unknown as number,
        currency: 'usd',
        user: { email: ' Ann@Example.COM ' },
      },
      { apiKey: 'k_helper', baseURL: whop.url },
    );
    expect(result).toMatchObject({ status: 'accepted', event_id: expect.stringMatching(/^[0-9a-f-]{36}$/), whop_id: expect.any(String) });
    const sent = whop.conversions.at(-1)!;
    expect(sent.request.errors).toEqual([]);
    expect(sent.body).toMatchObject({ event_id: result.event_id, value: 49, user: { email: 'ann@example.com' } });
  });

  it('refuses what the relay refuses before sending, and says when a failure is worth a retry', async () => {
    const before = whop.requests.length;
    const missing = await sendConversion({ event_name: 'lead' } as never, { apiKey: 'k_helper', baseURL: whop.url }).catch((e) => e);
    expect(missing).toMatchObject({ status: 400, retryable: false, error: { param: 'company_id' } });
    expect(whop.requests.length).toBe(before);
    whop.setMode('500');
    try {
      const failed = await sendConversion({ company_id: COMPANY, event_name: 'lead' }, { apiKey: 'k_helper', baseURL: whop.url }).catch(
        (e) => e,
      );
      expect(failed).toMatchObject({ name: 'SendConversionError', status: 500, retryable: true });
    } finally {
      whop.setMode('ok');
    }
    const badKey = await sendConversion({ company_id: COMPANY, event_name: 'lead' }, { apiKey: 'wrong', baseURL: whop.url }).catch(
      (e) => e,
    );
    expect(badKey).toMatchObject({ status: 401, retryable: false });
    expect(String(badKey.message)).not.toContain('wrong');
  });
});
