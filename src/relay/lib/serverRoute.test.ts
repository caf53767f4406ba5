import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { createRelay, type RelayOptions } from '../createRelay';
import { createInspector } from '../inspector/createInspector';
import type { InspectorData } from '../inspector/inspectorData';
import { parseClickCookie } from './clickModel';
import { MemoryOutbox } from './memoryOutbox';
import { createMemoryVisitorStore } from './memoryVisitorStore';
import { createVisitorMemory } from './visitorMemory';

const COMPANY = 'biz_server';
const TOKEN = 'srv_9f2c1e7a5b';
const PEER = '203.0.113.9';
const DAY = 86_400_000;

/** A relay with visitor memory on a clock of its own; `options` may be made from the relay's outbox. */
function setup(options: Partial<RelayOptions> | ((outbox: MemoryOutbox) => Partial<RelayOptions>) = {}) {
  let clock = Date.parse('2026-11-02T10:00:00.000Z');
  const outbox = new MemoryOutbox();
  const store = createMemoryVisitorStore();
  const now = () => clock;
  const memory = createVisitorMemory(store, { now, flushMs: 1 });
  const relay = createRelay({
    outbox,
    companies: [COMPANY],
    rateLimit: false,
    serverTokens: [TOKEN],
    visitorMemory: memory,
    now,
    ...(typeof options === 'function' ? options(outbox) : options),
  });
  return { outbox, relay, store, memory, advance: (ms: number) => (clock += ms), now };
}

const serverPost = (body: unknown, headers: Record<string, string> = { authorization: `Bearer ${TOKEN}` }) =>
  new Request('http://relay.example/wq/s', {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...headers },
    body: JSON.stringify(body),
  });

const browserPost = (body: unknown, headers: Record<string, string> = {}) =>
  new Request('http://shop.example/wq/e', {
    method: 'POST',
    headers: { 'content-type': 'text/plain;charset=UTF-8', 'user-agent': 'Mozilla/5.0 (Browser)', ...headers },
    body: JSON.stringify(body),
  });

const serverEvent = (over: Record<string, unknown> = {}) => ({
  company_id: COMPANY,
  event_name: 'schedule',
  event_id: 'booking-77',
  context: { ip_address: '198.51.100.23', user_agent: 'Mozilla/5.0 (Visitor)' },
  ...over,
});

describe('POST /wq/s: authentication', () => {
  it('refuses a request without a token, with a wrong one, and when no token is configured, in Whop’s error shape, storing nothing', async () => {
    for (const [options, headers] of [
      [{}, {}],
      [{}, { authorization: 'Bearer nope' }],
      [{}, { authorization: `Bearer ${TOKEN}x` }],
      [{}, { authorization: `Basic ${TOKEN}` }],
      [{ dryRun: true }, {}],
      [{ dryRun: true }, { authorization: 'Bearer wrong' }],
      [{ serverTokens: [] }, { authorization: 'Bearer ' }],
    ] as Array<[Partial<RelayOptions>, Record<string, string>]>) {
      const { outbox, relay } = setup(options);
      const res = await relay.fetch(serverPost(serverEvent(), headers), { remoteAddress: PEER });
      expect(res.status).toBe(401);
      expect(res.headers.get('www-authenticate')).toBe('Bearer');
      expect(await res.json()).toEqual({
        error: { type: 'authentication_error', code: 'unauthorized', param: null, message: expect.any(String) },
      });
      expect(outbox.all()).toHaveLength(0);
    }
  });

  it('takes any of several tokens (serverTokens plus the older serverToken), each with its own rate limit', async () => {
    const { outbox, relay } = setup({ serverTokens: ['tok-a'], serverToken: 'tok-b', serverRateLimit: { perSecond: 0.001, burst: 2 } });
    const send = (token: string, i: number) =>
      relay.fetch(serverPost(serverEvent({ event_id: `b-${token}-${i}` }), { authorization: `Bearer ${token}` }), { remoteAddress: PEER });
    expect((await send('tok-a', 1)).status).toBe(200);
    expect((await send('tok-a', 2)).status).toBe(200);
    const third = await send('tok-a', 3);
    expect(third.status).toBe(429);
    expect(third.headers.get('retry-after')).toMatch(/^\d+$/);
    expect(await third.json()).toMatchObject({ error: { code: 'rate_limited' } });
    expect((await send('tok-b', 1)).status).toBe(200);
    expect(outbox.all()).toHaveLength(3);
  });
});

describe('POST /wq/s: what a server may do', () => {
  it('keeps the given IP, user agent and event_id, sets no cookie, and answers per event', async () => {
    const { outbox, relay } = setup();
    const res = await relay.fetch(
      serverPost({ events: [serverEvent(), serverEvent({ event_id: 'booking-78' }), { event_name: 'lead' }] }),
      { remoteAddress: PEER },
    );
    expect(res.status).toBe(200);
    expect(res.headers.get('set-cookie')).toBeNull();
    expect(res.headers.get('access-control-allow-origin')).toBeNull();
    const body = await res.json();
    expect(body).toMatchObject({
      accepted: 2,
      duplicates: 0,
      rejected: [{ index: 2, error: { param: 'company_id' } }],
      results: [
        { index: 0, status: 'accepted', event_id: 'booking-77', event_name: 'schedule' },
        { index: 1, status: 'accepted', event_id: 'booking-78' },
        { index: 2, status: 'rejected', error: { code: 'parameter_missing' } },
      ],
    });
    const stored = outbox.all()[0]!.body;
    expect(stored.event_id).toBe('booking-77');
    expect(stored.context).toMatchObject({ ip_address: '198.51.100.23', user_agent: 'Mozilla/5.0 (Visitor)' });
    const again = await relay.fetch(serverPost(serverEvent()), { remoteAddress: PEER });
    expect(await again.json()).toMatchObject({ accepted: 0, duplicates: 1, results: [{ status: 'duplicate', event_id: 'booking-77' }] });
  });

  it('keeps the browser endpoint’s own rules: the page cannot set its IP or user agent', async () => {
    const { outbox, relay } = setup();
    await relay.fetch(browserPost(serverEvent({ event_id: 'a3f1c2d4e5b60718293a4b5c6d7e8f90' })), { remoteAddress: PEER });
    expect(outbox.all()[0]!.body.context).toMatchObject({ ip_address: PEER, user_agent: 'Mozilla/5.0 (Browser)' });
  });

  it('refuses a batch past the browser endpoint’s limit and a non-JSON body', async () => {
    const { relay } = setup({ maxBatch: 2 });
    const big = await relay.fetch(serverPost({ events: [serverEvent(), serverEvent(), serverEvent()] }), { remoteAddress: PEER });
    expect(big.status).toBe(400);
    expect(await big.json()).toMatchObject({ error: { code: 'batch_too_large' } });
    const bad = await relay.fetch(
      new Request('http://relay.example/wq/s', {
        method: 'POST',
        headers: { authorization: `Bearer ${TOKEN}`, 'content-type': 'application/json' },
        body: '{',
      }),
      { remoteAddress: PEER },
    );
    expect(bad.status).toBe(400);
  });
});

describe('visitor memory', () => {
  const visit = (over: Record<string, unknown> = {}) => ({
    company_id: COMPANY,
    event_name: 'page',
    event_id: 'c0ffee00c0ffee00c0ffee00c0ffee01',
    event_time: '2026-11-02T10:00:00.000Z',
    url: 'https://shop.example/landing?fbclid=IwAR_click_1&utm_source=meta&utm_campaign=fall',
    context: { fbp: 'fb.1.1761300000000.123456789' },
    user: { anonymous_id: 'aid-visitor-1', email: ' Visitor@Example.com ' },
    ...over,
  });

  it('fills a server event naming only the email, days later, with the click, the UTMs and the browser’s ids; never over what it gave', async () => {
    const { relay, memory, advance, outbox } = setup();
    await relay.fetch(browserPost(visit()), { remoteAddress: PEER });
    await memory.flush();
    advance(3 * DAY);
    const res = await relay.fetch(
      serverPost(serverEvent({ event_time: undefined, context: { utm_source: 'crm' }, user: { email: 'visitor@example.com' } })),
      { remoteAddress: '10.0.0.1' },
    );
    const body = await res.json();
    expect(body.filled).toEqual([
      {
        index: 0,
        matched: ['email'],
        fields: expect.arrayContaining([
          'context.fbclid',
          'context.fbc',
          'context.fbp',
          'context.ip_address',
          'context.user_agent',
          'url',
          'user.anonymous_id',
        ]),
      },
    ]);
    expect(body.results[0].filled).toEqual(body.filled[0].fields);
    const stored = outbox.all().find((r) => r.event_name === 'schedule')!;
    expect(stored.body.context).toMatchObject({
      fbclid: 'IwAR_click_1',
      fbp: 'fb.1.1761300000000.123456789',
      ip_address: PEER,
      user_agent: 'Mozilla/5.0 (Browser)',
      utm_source: 'crm',
    });
    // The touch is one group: the server gave a UTM, so none of the browser's UTMs were mixed in.
    expect(stored.body.context?.utm_campaign).toBeUndefined();
    expect(stored.body.user).toMatchObject({ anonymous_id: 'aid-visitor-1', email: 'visitor@example.com' });
    expect(stored.dropped).toContainEqual({ param: 'context.fbclid', message: expect.stringMatching(/visitor memory/) });
  });

  it('never fills a browser event from memory: a page naming someone’s email gets nothing of their visit', async () => {
    const { relay, memory, outbox } = setup();
    await relay.fetch(browserPost(visit()), { remoteAddress: PEER });
    await memory.flush();
    const res = await relay.fetch(
      browserPost({
        company_id: COMPANY,
        event_name: 'lead',
        event_id: 'b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0',
        user: { email: 'visitor@example.com' },
      }),
      { remoteAddress: '198.51.100.99' },
    );
    expect(await res.json()).not.toHaveProperty('filled');
    const stored = outbox.all().find((r) => r.event_id === 'b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0')!.body;
    expect(stored.context?.fbclid).toBeUndefined();
    expect(stored.context?.fbp).toBeUndefined();
    expect(stored.context?.ip_address).toBe('198.51.100.99');
    expect(stored.user?.anonymous_id).toBeUndefined();
  });

  it('shows what was filled on the event in the inspector', async () => {
    const { relay, memory } = setup((outbox) => ({ inspector: createInspector({ outbox }) }));
    await relay.fetch(browserPost(visit()), { remoteAddress: PEER });
    await memory.flush();
    await relay.fetch(serverPost(serverEvent({ event_id: 'shown-1', context: {}, user: { anonymous_id: 'aid-visitor-1' } })), {
      remoteAddress: PEER,
    });
    const data = (await (await relay.fetch(new Request('http://relay.example/wq/inspect/data.json'))).json()) as InspectorData;
    const shown = data.events.find((e) => e.event_id === 'shown-1')!;
    expect(shown.dropped).toContainEqual({ param: 'context.fbclid', message: 'Filled from visitor memory (matched by anonymous_id).' });
  });

  it('stores the email and phone hashed (SHA-256 of the normalised value), never as sent', async () => {
    const { relay, memory, store } = setup();
    await relay.fetch(browserPost(visit({ user: { anonymous_id: 'aid-2', email: 'A@B.example', phone: '+1 (555) 010-2030' } })), {
      remoteAddress: PEER,
    });
    await memory.flush();
    const sha = (s: string) => createHash('sha256').update(s).digest('hex');
    const rows = await store.get(COMPANY, ['a:aid-2', `e:${sha('a@b.example')}`, `p:${sha('15550102030')}`]);
    expect([...rows.keys()]).toHaveLength(3);
    expect(JSON.stringify([...rows.values()])).not.toMatch(/a@b\.example|555/i);
  });

  it('fills nothing past a network’s window, and forgets the visitor on /forget', async () => {
    const { relay, memory, advance, outbox } = setup();
    await relay.fetch(browserPost(visit({ url: 'https://shop.example/?ttclid=tt_1&fbclid=fb_1' })), { remoteAddress: PEER });
    await memory.flush();
    advance(40 * DAY);
    await relay.fetch(serverPost(serverEvent({ event_id: 'late', context: {}, user: { anonymous_id: 'aid-visitor-1' } })), {
      remoteAddress: PEER,
    });
    const late = outbox.all().find((r) => r.event_id === 'late')!.body.context!;
    expect(late.fbclid).toBe('fb_1');
    expect(late.ttclid).toBeUndefined();
    const forget = await relay.fetch(
      new Request('http://shop.example/wq/forget', { method: 'POST', headers: { cookie: 'wq_aid=aid-visitor-1' }, body: '{"events":[]}' }),
    );
    expect(forget.status).toBe(204);
    const res = await relay.fetch(serverPost(serverEvent({ event_id: 'after', context: {}, user: { email: 'visitor@example.com' } })), {
      remoteAddress: PEER,
    });
    expect((await res.json()).filled).toBeUndefined();
    expect(outbox.all().find((r) => r.event_id === 'after')!.body.context?.fbclid).toBeUndefined();
  });

  it('names the visitor in its HttpOnly wq_c beside the clicks, so /forget finds them after the pixel cleared wq_aid', async () => {
    const { relay, store, memory } = setup();
    const landed = await relay.fetch(browserPost(visit()), { remoteAddress: PEER });
    const wqc = landed.headers.getSetCookie().find((c) => c.startsWith('wq_c='))!;
    expect(wqc).toMatch(/HttpOnly/i);
    expect(parseClickCookie(wqc.slice(5).split(';')[0])).toMatchObject({
      a: 'aid-visitor-1',
      c: { meta: [{ fbclid: 'IwAR_click_1' }, expect.any(Number)] },
    });
    // No click, no wq_c: the cookie is not set only to carry the id.
    const organic = await relay.fetch(
      browserPost(
        visit({ url: 'https://shop.example/', event_id: 'c0ffee00c0ffee00c0ffee00c0ffee02', user: { anonymous_id: 'aid-organic' } }),
      ),
      {
        remoteAddress: PEER,
      },
    );
    expect(organic.headers.getSetCookie().some((c) => c.startsWith('wq_c='))).toBe(false);
    await memory.flush();
    expect(await store.size()).toBe(3);
    const forget = await relay.fetch(
      new Request('http://shop.example/wq/forget', { method: 'POST', headers: { cookie: wqc.split(';')[0]! }, body: '{"events":[]}' }),
    );
    expect(forget.status).toBe(204);
    expect(await store.size()).toBe(1);
  });

  it('forgets by the anonymous id in the body too (the pixel clears its cookie first), and pending writes with it', async () => {
    const { relay, store } = setup();
    await relay.fetch(browserPost(visit()), { remoteAddress: PEER });
    await relay.fetch(new Request('http://shop.example/wq/forget', { method: 'POST', body: '{"anonymous_id":"aid-visitor-1"}' }));
    expect(await store.size()).toBe(0);
  });
});
