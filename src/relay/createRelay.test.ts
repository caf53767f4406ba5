import { describe, expect, it } from 'vitest';
import { createRelay, type RelayOptions } from './createRelay';
import { parseClickCookie, serializeClickCookie } from './lib/clickModel';
import { createLogger } from './lib/logger';
import { MemoryOutbox } from './lib/memoryOutbox';
import { OutboxUnavailableError } from './lib/outbox';

const COMPANY = 'biz_test123';
const PEER = '203.0.113.7';

let seq = 0;
const event = (over: Record<string, unknown> = {}) => ({
  company_id: COMPANY,
  event_name: 'lead',
  event_id: `evt_${++seq}`,
  event_time: '2026-11-24T10:00:00.000Z',
  action_source: 'website',
  url: 'https://shop.example/',
  user: { anonymous_id: 'aid-123' },
  ...over,
});

function setup(options: Partial<RelayOptions> = {}) {
  const outbox = new MemoryOutbox();
  const relay = createRelay({ outbox, companies: [COMPANY], rateLimit: false, ...options });
  return { outbox, relay };
}

function post(body: unknown, init: { headers?: Record<string, string>; url?: string } = {}) {
  return new Request(init.url ?? 'http://shop.example/wq/e', {
    method: 'POST',
    headers: { 'content-type': 'text/plain;charset=UTF-8', ...init.headers },
    body: typeof body === 'string' ? body : JSON.stringify(body),
  });
}

describe('ingest', () => {
  it('stores a batch before answering, and reports resends as duplicates', async () => {
    const { outbox, relay } = setup();
    const batch = { events: [event(), event()] };
    const res = await relay.fetch(post(batch), { remoteAddress: PEER });
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ accepted: 2, duplicates: 0, rejected: [] });
    expect(outbox.all().map((r) => r.event_id)).toEqual(batch.events.map((e) => e.event_id));
    const again = await relay.fetch(post(batch), { remoteAddress: PEER });
    expect(await again.json()).toEqual({ accepted: 0, duplicates: 2, rejected: [] });
    expect(outbox.all()).toHaveLength(2);
  });

  it('takes a single event object as application/json, and generates a missing event_id', async () => {
    const { outbox, relay } = setup();
    const { event_id: _, ...noId } = event();
    const res = await relay.fetch(post(noId, { headers: { 'content-type': 'application/json' } }), { remoteAddress: PEER });
    expect(await res.json()).toMatchObject({ accepted: 1 });
    expect(outbox.all()[0]!.event_id).toMatch(/^[0-9a-f-]{36}$/);
    expect(outbox.all()[0]!.body.event_id).toBe(outbox.all()[0]!.event_id);
  });

  it('keeps an event whose currency or gender is not on the API list, without that field, and says so', async () => {
    const { outbox, relay } = setup();
    const events = [
      event({ value: 5, currency: 'USD' }),
      event({ value: 5, currency: 'xyz', user: { anonymous_id: 'a', gender: 'F' } }),
      event({ currency: 12 }),
    ];
    const res = await relay.fetch(post({ events }), { remoteAddress: PEER });
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({
      accepted: 3,
      duplicates: 0,
      rejected: [],
      dropped: [
        { index: 1, param: 'user.gender', message: expect.stringMatching(/left out/) },
        { index: 1, param: 'currency', message: expect.stringMatching(/left out/) },
        { index: 2, param: 'currency', message: expect.stringMatching(/left out/) },
      ],
    });
    const [usd, xyz, twelve] = outbox.all().map((r) => r.body);
    expect(usd).toMatchObject({ value: 5, currency: 'usd' });
    expect(xyz).toMatchObject({ value: 5, user: { anonymous_id: 'a' } });
    expect(xyz).not.toHaveProperty('currency');
    expect(xyz!.user).not.toHaveProperty('gender');
    expect(twelve).not.toHaveProperty('currency');
    expect(outbox.all()[1]!.dropped).toEqual([
      expect.objectContaining({ param: 'user.gender' }),
      expect.objectContaining({ param: 'currency' }),
    ]);
    expect(relay.metrics.get('dropped_fields_total', { param: 'currency' })).toBe(2);
    expect(relay.metrics.get('dropped_fields_total', { param: 'user.gender' })).toBe(1);
  });

  it('keeps every event of a batch with careless fields, repaired or without them, and lists each in dropped', async () => {
    const { outbox, relay } = setup();
    const events = [
      event({ event_name: 'purchase' }),
      event({ value: '49.00', product_id: 123 }),
      event({
        colour: 'red',
        context: { utm_content: 'x'.repeat(1500), fbclidd: 'typo' },
        user: { phone: 4155550100, email: ' Ada@Example.COM ' },
      }),
      event({ company_id: undefined }),
    ];
    const res = await relay.fetch(post({ events }), { remoteAddress: PEER });
    expect(res.status).toBe(200);
    const body = await res.json();
    expect(body.accepted).toBe(3);
    expect(body.rejected).toEqual([{ index: 3, error: expect.objectContaining({ code: 'parameter_missing', param: 'company_id' }) }]);
    expect(body.dropped).toEqual([
      { index: 2, param: 'colour', message: expect.stringMatching(/Unknown/) },
      { index: 2, param: 'context.utm_content', message: expect.stringMatching(/cut/) },
      { index: 2, param: 'context.fbclidd', message: expect.stringMatching(/Unknown/) },
    ]);
    const [purchase, numbers, careless] = outbox.all();
    // Stored as the relay's event (name as sent); forwarding maps it to custom + custom_name.
    expect(purchase!.body.event_name).toBe('purchase');
    expect(numbers!.body).toMatchObject({ value: 49, product_id: '123' });
    expect(careless!.body.context!.utm_content).toHaveLength(1024);
    expect(careless!.body.user).toMatchObject({ phone: '4155550100', email: 'ada@example.com' });
    expect(careless!.body).not.toHaveProperty('colour');
    expect(relay.metrics.get('dropped_fields_total', { param: '(unknown)' })).toBe(1);
    expect(relay.metrics.get('dropped_fields_total', { param: 'context.(unknown)' })).toBe(1);
  });

  it.each([
    ['bad enum', { action_source: 'billboard' }, 'action_source'],
    ['currency of the wrong type', { currency: 840 }, 'currency'],
    ['bad date-time', { event_time: 'yesterday' }, 'event_time'],
    ['impossible date', { event_time: '2026-13-45T99:00:00Z' }, 'event_time'],
    ['object as string', { context: 'x' }, 'context'],
    ['unknown nested field', { context: { fbclidd: 'x' } }, 'context.fbclidd'],
    ['nested wrong type', { user: { email: {} } }, 'user.email'],
    ['gender of the wrong type', { user: { gender: true } }, 'user.gender'],
    ['huge string', { url: 'https://x/' + 'a'.repeat(9000) }, 'url'],
    ['huge nested string', { user: { email: 'a'.repeat(2000) } }, 'user.email'],
    ['empty event_id', { event_id: '' }, 'event_id'],
    ['boolean as number', { value: true }, 'value'],
  ])('keeps an event with %s, repaired or without the field, and lists it', async (_name, over, param) => {
    const { outbox, relay } = setup();
    const res = await relay.fetch(post({ events: [event(over)] }), { remoteAddress: PEER });
    expect(res.status).toBe(200);
    const body = await res.json();
    expect(body).toMatchObject({ accepted: 1, rejected: [], dropped: [{ index: 0, param, message: expect.any(String) }] });
    expect(outbox.all()).toHaveLength(1);
    expect(outbox.all()[0]!.body.event_id).toBeTruthy();
    expect(outbox.all()[0]!.body.event_time).toMatch(/^\d{4}-\d{2}-\d{2}T/);
  });

  it.each([
    ['missing company_id', { company_id: undefined }, 'parameter_missing', 'company_id'],
    ['null company_id', { company_id: null }, 'parameter_invalid', 'company_id'],
    ['missing event_name', { event_name: undefined }, 'parameter_missing', 'event_name'],
    ['empty event_name', { event_name: ' ' }, 'parameter_invalid', 'event_name'],
    ['object event_name', { event_name: { lead: 1 } }, 'parameter_invalid', 'event_name'],
    ['custom without custom_name', { event_name: 'custom' }, 'parameter_missing', 'custom_name'],
  ])("refuses an event with %s (nothing to keep it under) with 400 in Whop's shape", async (_name, over, code, param) => {
    const { outbox, relay } = setup();
    const res = await relay.fetch(post({ events: [event(over)] }), { remoteAddress: PEER });
    expect(res.status).toBe(400);
    const body = await res.json();
    expect(body.error).toEqual({ type: 'invalid_request_error', message: expect.any(String), code, param });
    expect(body.rejected).toEqual([{ index: 0, error: body.error }]);
    expect(outbox.all()).toHaveLength(0);
  });

  it.each(['__proto__', 'constructor', 'prototype'])(
    'leaves out a %s key, top-level or nested, without touching prototypes',
    async (key) => {
      const { outbox, relay } = setup();
      const top = JSON.stringify(event()).replace('{', `{"${key}":{"polluted":true},`);
      const nested = JSON.stringify(event()).replace('"user":{', `"user":{"${key}":{"polluted":true},`);
      for (const text of [top, nested]) {
        const res = await relay.fetch(post(`{"events":[${text}]}`), { remoteAddress: PEER });
        expect(res.status).toBe(200);
        expect((await res.json()).dropped).toEqual([
          { index: 0, param: expect.stringMatching(new RegExp(`${key}$`)), message: expect.any(String) },
        ]);
      }
      expect(({} as Record<string, unknown>).polluted).toBeUndefined();
      expect(outbox.all()).toHaveLength(2);
      for (const r of outbox.all()) {
        expect(Object.getPrototypeOf(r.body)).toBe(Object.prototype);
        expect(Object.prototype.hasOwnProperty.call(r.body, key)).toBe(false);
        expect(Object.prototype.hasOwnProperty.call(r.body.user, key)).toBe(false);
      }
    },
  );

  it("answers invalid_json, bad shapes, 415 and 405 in Whop's shape", async () => {
    const { relay } = setup();
    const cases: Array<[Request, number, string]> = [
      [post('{"events":[{'), 400, 'invalid_json'],
      [post('[1,2]'), 400, 'parameter_invalid'],
      [post('"lead"'), 400, 'parameter_invalid'],
      [post({ events: {} }), 400, 'parameter_invalid'],
      [post({ events: [] }), 400, 'parameter_missing'],
      [post({ events: [event()] }, { headers: { 'content-type': 'application/x-www-form-urlencoded' } }), 415, 'unsupported_media_type'],
      [new Request('http://shop.example/wq/e', { method: 'PUT', body: '{}' }), 405, 'method_not_allowed'],
    ];
    for (const [request, status, code] of cases) {
      const res = await relay.fetch(request, { remoteAddress: PEER });
      expect(res.status, code).toBe(status);
      const body = await res.json();
      expect(body.error).toMatchObject({ type: expect.any(String), message: expect.any(String), code });
      expect(Object.keys(body.error).sort()).toEqual(['code', 'message', 'param', 'type']);
    }
  });

  it('refuses a batch over maxBatch and a body over maxBodyBytes (413), storing nothing', async () => {
    const { outbox, relay } = setup({ maxBatch: 3, maxBodyBytes: 2048 });
    const big = await relay.fetch(post({ events: [event(), event(), event(), event()] }), { remoteAddress: PEER });
    expect(big.status).toBe(400);
    expect((await big.json()).error).toMatchObject({ code: 'batch_too_large', param: 'events' });
    const huge = await relay.fetch(
      post({ events: [event({ custom_name: 'x'.repeat(1000), event_name: 'custom' }), event({ referrer_url: 'y'.repeat(1500) })] }),
      { remoteAddress: PEER },
    );
    expect(huge.status).toBe(413);
    expect((await huge.json()).error.code).toBe('body_too_large');
    expect(outbox.all()).toHaveLength(0);
  });

  it('stops reading a streamed body as soon as it passes the limit', async () => {
    const { relay } = setup({ maxBodyBytes: 1024 });
    let pulled = 0;
    const stream = new ReadableStream<Uint8Array>({
      pull(controller) {
        pulled++;
        if (pulled > 1000) return controller.close();
        controller.enqueue(new Uint8Array(512).fill(32));
      },
    });
    const request = new Request('http://shop.example/wq/e', {
      method: 'POST',
      headers: { 'content-type': 'text/plain' },
      body: stream,
      duplex: 'half',
    } as RequestInit);
    const res = await relay.fetch(request, { remoteAddress: PEER });
    expect(res.status).toBe(413);
    expect(pulled).toBeLessThan(10);
  });

  it('refuses companies outside the allowlist (403 when none is allowed)', async () => {
    const { outbox, relay } = setup();
    const res = await relay.fetch(post({ events: [event({ company_id: 'biz_other' })] }), { remoteAddress: PEER });
    expect(res.status).toBe(403);
    expect((await res.json()).error).toMatchObject({ code: 'company_not_allowed', param: 'company_id' });
    const mixed = await relay.fetch(post({ events: [event({ company_id: 'biz_other' }), event()] }), { remoteAddress: PEER });
    expect(await mixed.json()).toMatchObject({ accepted: 1, rejected: [{ index: 0, error: { code: 'company_not_allowed' } }] });
    expect(outbox.all().every((r) => r.company_id === COMPANY)).toBe(true);
  });

  it('answers 503 with Retry-After when the store fails, and stores nothing', async () => {
    const { outbox, relay } = setup();
    outbox.failing = true;
    const res = await relay.fetch(post({ events: [event(), event()] }), { remoteAddress: PEER });
    expect(res.status).toBe(503);
    expect(Number(res.headers.get('retry-after'))).toBeGreaterThan(0);
    expect((await res.json()).error.code).toBe('store_unavailable');
    expect(res.headers.get('set-cookie')).toBeNull();
    outbox.failing = false;
    expect(outbox.all()).toHaveLength(0);
  });

  it('answers 503 when the store throws something unexpected, and the next request works', async () => {
    const outbox = new MemoryOutbox();
    const broken = Object.assign(Object.create(outbox), {
      append: async () => {
        throw new TypeError('disk on fire');
      },
    });
    const relay = createRelay({ outbox: broken, rateLimit: false });
    expect((await relay.fetch(post(event()), { remoteAddress: PEER })).status).toBe(503);
    expect((await relay.fetch(new Request('http://shop.example/wq/health'))).status).toBe(200);
  });
});

describe('enrichment', () => {
  const stored = async (relay: ReturnType<typeof setup>['relay'], outbox: MemoryOutbox, request: Request, remoteAddress?: string) => {
    const res = await relay.fetch(request, { remoteAddress });
    expect(res.status).toBe(200);
    return outbox.all().at(-1)!.body;
  };

  it('takes the IP from the socket and the UA from the request, overwriting what the browser sent', async () => {
    const { outbox, relay } = setup();
    const body = await stored(
      relay,
      outbox,
      post(
        { events: [event({ context: { ip_address: '1.1.1.1', user_agent: 'liar', gclid: 'g1' } })] },
        { headers: { 'user-agent': 'Mozilla/5.0 Test', 'x-forwarded-for': '9.9.9.9' } },
      ),
      PEER,
    );
    // No `_fbp` is made up: the pixel owns it.
    expect(body.context).toEqual({ ip_address: PEER, user_agent: 'Mozilla/5.0 Test', gclid: 'g1' });
  });

  it('ignores X-Forwarded-For and Forwarded from an untrusted peer (spoofing)', async () => {
    const { outbox, relay } = setup({ trustedProxies: ['10.0.0.0/8'] });
    const body = await stored(
      relay,
      outbox,
      post(event(), { headers: { 'x-forwarded-for': '198.51.100.1', forwarded: 'for=198.51.100.2' } }),
      PEER,
    );
    expect(body.context?.ip_address).toBe(PEER);
  });

  it('takes the rightmost untrusted X-Forwarded-For hop through trusted proxies', async () => {
    const { outbox, relay } = setup({ trustedProxies: ['10.0.0.0/8', '192.0.2.10'] });
    // The client wrote the first entry itself; the proxies appended the rest.
    const body = await stored(
      relay,
      outbox,
      post(event(), { headers: { 'x-forwarded-for': '6.6.6.6, 198.51.100.9, 192.0.2.10' } }),
      '10.1.2.3',
    );
    expect(body.context?.ip_address).toBe('198.51.100.9');
  });

  it('handles IPv6 peers, IPv6 proxy ranges, IPv4-mapped addresses and Forwarded', async () => {
    const { outbox, relay } = setup({ trustedProxies: ['fd00::/8', '::1'] });
    expect((await stored(relay, outbox, post(event()), '2001:db8::42')).context?.ip_address).toBe('2001:db8::42');
    expect((await stored(relay, outbox, post(event()), '::ffff:203.0.113.9')).context?.ip_address).toBe('203.0.113.9');
    // Forwarded (RFC 7239) is read only when it is the configured header; X-Forwarded-For is the default.
    const viaForwarded = setup({ trustedProxies: ['fd00::/8'], ipHeader: 'forwarded' });
    const fwd = await stored(
      viaForwarded.relay,
      viaForwarded.outbox,
      post(event(), {
        headers: { forwarded: 'for=1.2.3.4;proto=https, for="[2001:db8:cafe::17]:4711";by=x', 'x-forwarded-for': '198.51.100.1' },
      }),
      'fd12::1',
    );
    expect(fwd.context?.ip_address).toBe('2001:db8:cafe::17');
    const ignored = await stored(
      relay,
      outbox,
      post(event(), { headers: { forwarded: 'for=198.51.100.66', 'x-forwarded-for': '2001:db8::77' } }),
      'fd12::1',
    );
    expect(ignored.context?.ip_address).toBe('2001:db8::77');
    const xff = await stored(relay, outbox, post(event(), { headers: { 'x-forwarded-for': '2001:db8::99, fd00::5' } }), '::1');
    expect(xff.context?.ip_address).toBe('2001:db8::99');
    // A trusted peer that forwards nothing usable: the peer itself is all we know.
    const junk = await stored(relay, outbox, post(event(), { headers: { 'x-forwarded-for': 'unknown' } }), '::1');
    expect(junk.context?.ip_address).toBe('::1');
  });

  it('fills fbp, fbclid, ga and ttp from cookies only where the event has none', async () => {
    const { outbox, relay } = setup();
    const cookie =
      '_fbp=fb.1.1700000000000.123456; _fbc=fb.1.1700000000000.IwAR.abc-def; _ga=GA1.1.987654321.1700000000; _ttp=ttp_cookie; other=1';
    const filled = await stored(relay, outbox, post(event(), { headers: { cookie } }), PEER);
    expect(filled.context).toMatchObject({
      fbp: 'fb.1.1700000000000.123456',
      fbclid: 'IwAR.abc-def',
      ga: '987654321.1700000000',
      ttp: 'ttp_cookie',
    });
    const kept = await stored(relay, outbox, post(event({ context: { fbclid: 'from_url', ga: 'mine' } }), { headers: { cookie } }), PEER);
    expect(kept.context).toMatchObject({ fbclid: 'from_url', ga: 'mine', fbp: 'fb.1.1700000000000.123456' });
  });

  it("carries Meta's _fbc as fbc and Whop's visitor cookie _wuid as user.linked_wuid, where the event has none", async () => {
    const { outbox, relay } = setup();
    const cookie = '_fbc=fb.1.1700000000000.IwAR.abc-def; _wuid=wuid-cookie';
    const filled = await stored(relay, outbox, post(event(), { headers: { cookie } }), PEER);
    expect(filled.context).toMatchObject({ fbc: 'fb.1.1700000000000.IwAR.abc-def', fbclid: 'IwAR.abc-def' });
    expect(filled.user).toMatchObject({ linked_wuid: 'wuid-cookie', anonymous_id: 'aid-123' });
    const own = await stored(
      relay,
      outbox,
      post(event({ user: { anonymous_id: 'a2', linked_wuid: 'from-storage' } }), { headers: { cookie } }),
      PEER,
    );
    expect(own.user).toMatchObject({ linked_wuid: 'from-storage' });
  });

  it("fills the time zone the platform geolocated (Cloudflare's cf.timezone, Vercel's header) where the event has none", async () => {
    const { outbox, relay } = setup();
    const vercel = await stored(
      relay,
      outbox,
      post(event(), { headers: { 'x-vercel-ip-timezone': 'America/Argentina/Buenos_Aires' } }),
      PEER,
    );
    expect(vercel.context).toMatchObject({ timezone: 'America/Argentina/Buenos_Aires' });
    const cf = Object.assign(post(event({ event_id: 'e-cf' })), { cf: { timezone: 'Europe/Berlin' } });
    expect((await stored(relay, outbox, cf, PEER)).context).toMatchObject({ timezone: 'Europe/Berlin' });
    const own = await stored(
      relay,
      outbox,
      post(event({ event_id: 'e-own', context: { timezone: 'Asia/Tokyo' } }), { headers: { 'cf-timezone': 'UTC' } }),
      PEER,
    );
    expect(own.context).toMatchObject({ timezone: 'Asia/Tokyo' });
    const junk = await stored(
      relay,
      outbox,
      post(event({ event_id: 'e-junk' }), { headers: { 'x-vercel-ip-timezone': '<script>' } }),
      PEER,
    );
    expect(junk.context).not.toHaveProperty('timezone');
  });

  it("takes a click on the event's own URL over an older one in Meta's _fbc cookie", async () => {
    const { outbox, relay } = setup();
    const cookie = '_fbc=fb.1.1700000000000.OLDCLICK';
    const landed = await stored(
      relay,
      outbox,
      post(event({ url: 'https://shop.example/?fbclid=NEWCLICK', context: {} }), { headers: { cookie } }),
      PEER,
    );
    expect(landed.context).toMatchObject({ fbclid: 'NEWCLICK' });
    expect(landed.context!.fbc).toMatch(/^fb\.1\.\d{13}\.NEWCLICK$/);
  });
});

describe('cookies', () => {
  const FBP = 'fb.1.1700000000000.42';

  it("sets them on the pixel's cookie domain hint when none is configured and the relay's host is under it", async () => {
    const { relay } = setup();
    const hinted = await relay.fetch(
      post(
        { events: [event({ context: { fbp: FBP }, url: 'https://www.shop.example/?gclid=G1' })] },
        { url: 'https://t.shop.example/wq/e?d=shop.example' },
      ),
      { remoteAddress: PEER },
    );
    expect(hinted.headers.getSetCookie().map((c) => c.split('=')[0] + ' ' + /Domain=([^;]+)/.exec(c)?.[1])).toEqual([
      'wq_aid shop.example',
      '_fbp shop.example',
      'wq_c shop.example',
    ]);
    const foreign = await relay.fetch(
      post({ events: [event({ context: { fbp: FBP } })] }, { url: 'https://t.shop.example/wq/e?d=evil.example' }),
      {
        remoteAddress: PEER,
      },
    );
    for (const c of foreign.headers.getSetCookie()) expect(c).not.toContain('Domain=');
  });

  it('re-sets wq_aid and the _fbp the event carries with Lax, Path=/, Max-Age, Secure on https and the cookie domain', async () => {
    const { relay } = setup({ cookieDomain: 'shop.example' });
    const res = await relay.fetch(post({ events: [event({ context: { fbp: FBP } })] }, { url: 'https://shop.example/wq/e' }), {
      remoteAddress: PEER,
    });
    const cookies = res.headers.getSetCookie();
    expect(cookies).toEqual([
      `wq_aid=aid-123; Max-Age=${400 * 86400}; Path=/; SameSite=Lax; Domain=shop.example; Secure`,
      `_fbp=${FBP}; Max-Age=${90 * 86400}; Path=/; SameSite=Lax; Domain=shop.example; Secure`,
    ]);
  });

  it('never makes up an _fbp or a wq_aid', async () => {
    const { outbox, relay } = setup();
    const res = await relay.fetch(post(event({ user: { email: 'a@b.c' } })), { remoteAddress: PEER });
    expect(res.status).toBe(200);
    expect(res.headers.getSetCookie()).toEqual([]);
    expect(outbox.all()[0]!.body.context).not.toHaveProperty('fbp');
  });

  it('sets no Secure over http, and nothing again for a resend whose values the browser holds', async () => {
    const { relay } = setup();
    const e = event({ context: { fbp: FBP } });
    const first = await relay.fetch(post(e), { remoteAddress: PEER });
    expect(first.headers.getSetCookie()).toHaveLength(2);
    for (const c of first.headers.getSetCookie()) expect(c).not.toContain('Secure');
    // The same event again (keepalive fetch and page-exit beacon), the cookies already there: nothing.
    const again = await relay.fetch(post(e, { headers: { cookie: `_fbp=${FBP}; wq_aid=aid-123` } }), { remoteAddress: PEER });
    expect(await again.json()).toMatchObject({ accepted: 0, duplicates: 1 });
    expect(again.headers.getSetCookie()).toEqual([]);
    // A resend that met no cookie (the concurrent first request) sets the same values, never others.
    const raced = await relay.fetch(post(e), { remoteAddress: PEER });
    expect(raced.headers.getSetCookie().map((c) => c.split(';')[0])).toEqual(['wq_aid=aid-123', `_fbp=${FBP}`]);
  });

  it("never echoes an anonymous id that is not cookie-safe, nor an _fbp off Meta's format", async () => {
    const { relay } = setup();
    const res = await relay.fetch(
      post(event({ user: { anonymous_id: 'x; Domain=evil.example' }, context: { fbp: 'fb.1.x; Domain=evil.example' } })),
      { remoteAddress: PEER },
    );
    expect(res.status).toBe(200);
    expect(res.headers.getSetCookie()).toEqual([]);
  });

  // Issue 17 row 10: with origins unset, a cross-site text/plain form post must not choose ids.
  it.each([
    ['Sec-Fetch-Site: cross-site', { 'sec-fetch-site': 'cross-site', origin: 'https://evil.example' }],
    ['Sec-Fetch-Site: none', { 'sec-fetch-site': 'none' }],
    ['a foreign Origin without Sec-Fetch-Site', { origin: 'https://evil.example' }],
    ['Origin: null', { origin: 'null' }],
  ])('sets no identifier cookie for a request from another site (%s), and still keeps its events', async (_name, headers) => {
    const { outbox, relay } = setup();
    const res = await relay.fetch(
      post({ events: [event({ user: { anonymous_id: 'attacker-aid' }, context: { fbp: FBP, gclid: 'evil' } })] }, { headers }),
      { remoteAddress: PEER },
    );
    expect(res.status).toBe(200);
    expect(res.headers.getSetCookie()).toEqual([]);
    expect(outbox.all()).toHaveLength(1);
  });

  it.each([
    ['Sec-Fetch-Site: same-origin', { 'sec-fetch-site': 'same-origin', origin: 'http://shop.example' }],
    ['Sec-Fetch-Site: same-site (a relay on a subdomain)', { 'sec-fetch-site': 'same-site', origin: 'http://www.shop.example' }],
    ["the relay's own Origin without Sec-Fetch-Site", { origin: 'http://shop.example' }],
    ['no Origin (a server)', {}],
  ])("sets them for a request from the relay's own site (%s)", async (_name, headers) => {
    const { relay } = setup();
    const res = await relay.fetch(post(event({ context: { fbp: FBP } }), { headers }), { remoteAddress: PEER });
    expect(res.headers.getSetCookie().map((c) => c.split('=')[0])).toEqual(['wq_aid', '_fbp']);
  });
});

describe('origins and CORS', () => {
  const origins = ['https://landing.example'];

  it('refuses a foreign Origin, allows none (server-side) and same-host, and adds CORS for listed ones only', async () => {
    const { relay } = setup({ origins });
    const foreign = await relay.fetch(post(event(), { headers: { origin: 'https://evil.example' } }), { remoteAddress: PEER });
    expect(foreign.status).toBe(403);
    expect((await foreign.json()).error.code).toBe('origin_not_allowed');
    expect(foreign.headers.get('access-control-allow-origin')).toBeNull();
    expect((await relay.fetch(post(event()), { remoteAddress: PEER })).status).toBe(200);
    const same = await relay.fetch(post(event(), { headers: { origin: 'https://shop.example' }, url: 'https://shop.example/wq/e' }), {
      remoteAddress: PEER,
    });
    expect(same.status).toBe(200);
    expect(same.headers.get('access-control-allow-origin')).toBeNull();
    const listed = await relay.fetch(post(event(), { headers: { origin: 'https://landing.example' } }), { remoteAddress: PEER });
    expect(listed.status).toBe(200);
    expect(listed.headers.get('access-control-allow-origin')).toBe('https://landing.example');
    expect(listed.headers.get('access-control-allow-credentials')).toBe('true');
  });

  it('answers a preflight for a listed origin only', async () => {
    const { relay } = setup({ origins });
    const preflight = (origin: string) =>
      relay.fetch(
        new Request('http://shop.example/wq/e', {
          method: 'OPTIONS',
          headers: { origin, 'access-control-request-method': 'POST', 'access-control-request-headers': 'content-type' },
        }),
      );
    const ok = await preflight('https://landing.example');
    expect(ok.status).toBe(204);
    expect(ok.headers.get('access-control-allow-origin')).toBe('https://landing.example');
    expect(ok.headers.get('access-control-allow-methods')).toContain('POST');
    expect((await preflight('https://evil.example')).status).toBe(403);
  });
});

describe('CORS with origins unset (a relay on another origin of the site)', () => {
  it('lets any page read the answer: its Origin echoed with credentials, Vary: Origin, preflight too', async () => {
    const { relay } = setup();
    const res = await relay.fetch(
      post(event(), { headers: { origin: 'https://www.shop.example', 'sec-fetch-site': 'same-site' }, url: 'https://t.shop.example/wq/e' }),
      { remoteAddress: PEER },
    );
    expect(res.status).toBe(200);
    expect(res.headers.get('access-control-allow-origin')).toBe('https://www.shop.example');
    expect(res.headers.get('access-control-allow-credentials')).toBe('true');
    expect(res.headers.get('vary')).toBe('Origin');
    const pre = await relay.fetch(
      new Request('https://t.shop.example/wq/e', {
        method: 'OPTIONS',
        headers: { origin: 'https://www.shop.example', 'access-control-request-method': 'POST' },
      }),
    );
    expect(pre.status).toBe(204);
    expect(pre.headers.get('access-control-allow-origin')).toBe('https://www.shop.example');
    // Same host needs none; `Origin: null` gets none.
    const same = await relay.fetch(post(event(), { headers: { origin: 'https://t.shop.example' }, url: 'https://t.shop.example/wq/e' }), {
      remoteAddress: PEER,
    });
    expect(same.headers.get('access-control-allow-origin')).toBeNull();
    const nul = await relay.fetch(post(event(), { headers: { origin: 'null' } }), { remoteAddress: PEER });
    expect(nul.headers.get('access-control-allow-origin')).toBeNull();
  });
});

describe('forget', () => {
  const forget = (init: { method?: string; headers?: Record<string, string>; url?: string } = {}) =>
    new Request(init.url ?? 'https://shop.example/wq/forget', {
      method: init.method ?? 'POST',
      headers: { 'content-type': 'text/plain', ...init.headers },
      body: init.method === 'OPTIONS' ? undefined : '',
    });

  it("expires them on the pixel's cookie domain hint when none is configured", async () => {
    const res = await setup().relay.fetch(forget({ url: 'http://t.shop.example/wq/forget?d=shop.example' }), { remoteAddress: PEER });
    expect(res.headers.getSetCookie()).toContain('wq_c=; Max-Age=0; Path=/; SameSite=Lax; Domain=shop.example');
    expect(res.headers.getSetCookie()).toContain('wq_c=; Max-Age=0; Path=/; SameSite=Lax');
  });

  it('answers 204 expiring wq_c, wq_aid and _fbp host-only and on the cookie domain', async () => {
    const { relay } = setup({ cookieDomain: 'shop.example' });
    const res = await relay.fetch(forget(), { remoteAddress: PEER });
    expect(res.status).toBe(204);
    expect(res.headers.getSetCookie()).toEqual(
      ['wq_c', 'wq_aid', '_fbp'].flatMap((n) => [
        `${n}=; Max-Age=0; Path=/; SameSite=Lax; Secure`,
        `${n}=; Max-Age=0; Path=/; SameSite=Lax; Domain=shop.example; Secure`,
      ]),
    );
    const hostOnly = await setup().relay.fetch(forget({ url: 'http://shop.example/wq/forget' }), { remoteAddress: PEER });
    expect(hostOnly.headers.getSetCookie()).toEqual([
      'wq_c=; Max-Age=0; Path=/; SameSite=Lax',
      'wq_aid=; Max-Age=0; Path=/; SameSite=Lax',
      '_fbp=; Max-Age=0; Path=/; SameSite=Lax',
    ]);
  });

  it('follows the ingest origin rules: CORS for a page on another origin, 403 off the allowlist, 405 for GET', async () => {
    const open = await setup().relay.fetch(forget({ headers: { origin: 'https://www.shop.example' } }), { remoteAddress: PEER });
    expect(open.status).toBe(204);
    expect(open.headers.get('access-control-allow-origin')).toBe('https://www.shop.example');
    const listed = setup({ origins: ['https://landing.example'] }).relay;
    expect((await listed.fetch(forget({ headers: { origin: 'https://evil.example' } }), { remoteAddress: PEER })).status).toBe(403);
    expect((await listed.fetch(forget({ method: 'OPTIONS', headers: { origin: 'https://landing.example' } }))).status).toBe(204);
    expect((await listed.fetch(new Request('https://shop.example/wq/forget'), { remoteAddress: PEER })).status).toBe(405);
  });
});

describe('server-set attribution (wq_c)', () => {
  const DAY = 86_400_000;
  const at = (msAgo: number) => new Date(Date.now() - msAgo).toISOString();
  const cookieOf = (res: Response) => res.headers.getSetCookie().find((c) => c.startsWith('wq_c='));
  const jar = (res: Response, prev = '') => {
    const c = cookieOf(res);
    return c ? c.split(';')[0]! : prev;
  };

  it("sets wq_c (HttpOnly) from a landing page view's URL, own keys only, and fills a later conversion from it", async () => {
    const { outbox, relay } = setup();
    const page = event({
      event_name: 'page',
      event_time: at(8 * DAY),
      url: 'https://shop.example/?constructor=1&valueOf=x&gclid=G1&utm_source=meta&utm_campaign=spring',
      context: {},
    });
    const landed = await relay.fetch(post(page), { remoteAddress: PEER });
    const set = cookieOf(landed)!;
    expect(set).toMatch(/^wq_c=[\w-]+; Max-Age=7776000; Path=\/; SameSite=Lax; HttpOnly$/);
    // Eight days on, every script-set cookie gone: the lead carries the click and the touch.
    const lead = await relay.fetch(post(event({ event_time: at(0), context: {} }), { headers: { cookie: jar(landed) } }), {
      remoteAddress: PEER,
    });
    expect(lead.status).toBe(200);
    const stored = outbox.all()[1]!.body.context!;
    expect(stored).toMatchObject({ gclid: 'G1', utm_source: 'meta', utm_campaign: 'spring' });
    expect(stored).not.toHaveProperty('constructor', '1');
    expect(Object.keys(stored)).not.toContain('valueOf');
    // The page view itself carries the click of its URL too (it landed before any script cookie).
    expect(outbox.all()[0]!.body.context).toMatchObject({ gclid: 'G1', utm_source: 'meta' });
    expect(relay.metrics.get('clicks_filled_total', { field: 'gclid' })).toBe(2);
  });

  it("keeps each network's click: a UTM-only visit keeps the click ids, a gclid landing keeps the fbclid", async () => {
    const { outbox, relay } = setup();
    let cookie = '';
    for (const [url, ago] of [
      ['https://shop.example/?fbclid=FB1&utm_source=facebook', 3 * DAY],
      ['https://shop.example/?utm_source=newsletter&utm_medium=email', 2 * DAY],
      ['https://shop.example/?gclid=G2', 1 * DAY],
    ] as const) {
      const res = await relay.fetch(post(event({ event_name: 'page', url, event_time: at(ago), context: {} }), { headers: { cookie } }), {
        remoteAddress: PEER,
      });
      cookie = jar(res, cookie);
    }
    await relay.fetch(post(event({ event_time: at(0), context: {} }), { headers: { cookie } }), { remoteAddress: PEER });
    const ctx = outbox.all().at(-1)!.body.context!;
    expect(ctx).toMatchObject({ fbclid: 'FB1', gclid: 'G2', utm_source: 'newsletter', utm_medium: 'email' });
    expect(ctx.fbc).toMatch(/^fb\.1\.\d{13}\.FB1$/);
  });

  it('lets a newer click win: a late resend of an old event does not overwrite it, nor fill an older conversion with a later click', async () => {
    const { outbox, relay } = setup();
    const newer = await relay.fetch(post(event({ event_name: 'page', url: 'https://shop.example/?gclid=NEW', event_time: at(DAY) })), {
      remoteAddress: PEER,
    });
    let cookie = jar(newer);
    const late = await relay.fetch(
      post(event({ event_name: 'page', url: 'https://shop.example/?gclid=OLD', event_time: at(5 * DAY) }), { headers: { cookie } }),
      { remoteAddress: PEER },
    );
    cookie = jar(late, cookie);
    await relay.fetch(post(event({ event_time: at(0), context: {} }), { headers: { cookie } }), { remoteAddress: PEER });
    expect(outbox.all().at(-1)!.body.context).toMatchObject({ gclid: 'NEW' });
    // A conversion from before the NEW click is not credited to it.
    await relay.fetch(post(event({ event_time: at(3 * DAY), context: {} }), { headers: { cookie } }), { remoteAddress: PEER });
    expect(outbox.all().at(-1)!.body.context).not.toHaveProperty('gclid');
  });

  it("forgets a click past its network's window, and never sets wq_c for a request from another site", async () => {
    const { outbox, relay } = setup();
    // A cookie from clicks 29 days ago: 28 days for TikTok, 90 for Google.
    const old = serializeClickCookie({
      c: { tiktok: [{ ttclid: 'T1' }, Date.now() - 29 * DAY], google: [{ gclid: 'G1' }, Date.now() - 29 * DAY] },
    })!;
    const res = await relay.fetch(post(event({ event_time: at(0), context: {} }), { headers: { cookie: `wq_c=${old}` } }), {
      remoteAddress: PEER,
    });
    // The answer's cookie no longer holds the expired click.
    expect(parseClickCookie(jar(res).slice(5)).c).toEqual({ google: [{ gclid: 'G1' }, expect.any(Number)] });
    const ctx = outbox.all().at(-1)!.body.context!;
    expect(ctx).toMatchObject({ gclid: 'G1' });
    expect(ctx).not.toHaveProperty('ttclid');
    const cross = await relay.fetch(
      post(event({ event_name: 'page', url: 'https://shop.example/?gclid=EVIL' }), {
        headers: { 'sec-fetch-site': 'cross-site', origin: 'https://evil.example' },
      }),
      { remoteAddress: PEER },
    );
    expect(cookieOf(cross)).toBeUndefined();
  });
});

describe('URLs as stored (issue 17 row 16)', () => {
  it('strips the fragment and removes parameters that look like personal data or secrets, from url and referrer_url', async () => {
    const { outbox, relay } = setup();
    const res = await relay.fetch(
      post(
        event({
          url: 'https://shop.example/thanks?utm_source=meta&email=ada%40example.com&user_phone=4155550100&gclid=G1&next=a%40b.co#access_token=SECRET',
          referrer_url: 'https://shop.example/login?reset-token=abc&page=2#frag',
        }),
      ),
      { remoteAddress: PEER },
    );
    const body = await res.json();
    const stored = outbox.all()[0]!.body;
    expect(stored.url).toBe('https://shop.example/thanks?utm_source=meta&gclid=G1');
    expect(stored.referrer_url).toBe('https://shop.example/login?page=2');
    expect(JSON.stringify(stored)).not.toMatch(/SECRET|ada|4155550100|abc/);
    expect(body.dropped).toEqual([
      { index: 0, param: 'url', message: expect.stringContaining('"email", "user_phone", "next"') },
      { index: 0, param: 'referrer_url', message: expect.stringContaining('"reset-token"') },
    ]);
    // The click id in the URL still feeds the attribution.
    expect(stored.context).toMatchObject({ gclid: 'G1', utm_source: 'meta' });
  });

  it('takes the names to remove from the configuration', async () => {
    const { outbox, relay } = setup({ piiParams: ['member'] });
    await relay.fetch(post(event({ url: 'https://shop.example/?member=42&email=a%40b.co&token=t' })), { remoteAddress: PEER });
    // The configured list replaces the built-in one; an email-looking value always goes.
    expect(outbox.all()[0]!.body.url).toBe('https://shop.example/?token=t');
  });
});

describe('rate limit', () => {
  it('answers 429 with Retry-After to a flooding IP while another IP passes', async () => {
    const { relay } = setup({ rateLimit: { perSecond: 1, burst: 3 } });
    const statuses: number[] = [];
    for (let i = 0; i < 5; i++) statuses.push((await relay.fetch(post(event()), { remoteAddress: '198.51.100.1' })).status);
    expect(statuses.slice(0, 3)).toEqual([200, 200, 200]);
    expect(statuses[4]).toBe(429);
    const limited = await relay.fetch(post(event()), { remoteAddress: '198.51.100.1' });
    expect(limited.status).toBe(429);
    expect(Number(limited.headers.get('retry-after'))).toBeGreaterThanOrEqual(1);
    expect((await limited.json()).error).toMatchObject({ type: 'rate_limit_error', code: 'rate_limited' });
    expect((await relay.fetch(post(event()), { remoteAddress: '198.51.100.2' })).status).toBe(200);
  });
});

describe('overload', () => {
  it('answers 503 + Retry-After past maxInFlight while the store is slow, then recovers', async () => {
    const outbox = new MemoryOutbox();
    const gates: Array<() => void> = [];
    const slow = Object.assign(Object.create(outbox), {
      append: (events: never) => new Promise((ok) => gates.push(() => ok(outbox.append(events)))),
    });
    const relay = createRelay({ outbox: slow, maxInFlight: 2, rateLimit: false });
    const first = [relay.fetch(post(event()), { remoteAddress: PEER }), relay.fetch(post(event()), { remoteAddress: PEER })];
    const deadline = Date.now() + 5000;
    while (gates.length < 2 && Date.now() < deadline) await new Promise((ok) => setTimeout(ok, 1));
    const shed = await relay.fetch(post(event()), { remoteAddress: PEER });
    expect(shed.status).toBe(503);
    expect(shed.headers.get('retry-after')).toBe('2');
    expect((await shed.json()).error.code).toBe('overloaded');
    for (const open of gates.splice(0)) open();
    expect((await Promise.all(first)).map((r) => r.status)).toEqual([200, 200]);
    const after = relay.fetch(post(event()), { remoteAddress: PEER });
    while (gates.length < 1 && Date.now() < deadline) await new Promise((ok) => setTimeout(ok, 1));
    gates.splice(0).forEach((open) => open());
    expect((await after).status).toBe(200);
    expect(outbox.all()).toHaveLength(3);
  });
});

describe('status endpoints', () => {
  it('/health, /ready with reasons, /metrics with counters and gauges', async () => {
    const { relay, outbox } = setup({ dryRun: true });
    expect(await (await relay.fetch(new Request('http://x/wq/health'))).json()).toEqual({ ok: true });
    const ready = await relay.fetch(new Request('http://x/wq/ready'));
    expect(ready.status).toBe(200);
    expect(await ready.json()).toMatchObject({ ready: true, mode: 'dry-run', reasons: [] });

    await relay.fetch(post({ events: [event(), event({ value: 'x' }), event({ event_name: 7 })] }), { remoteAddress: PEER });
    relay.metrics.observe('upstream_latency_seconds', 0.2);
    const text = await (await relay.fetch(new Request('http://x/wq/metrics'))).text();
    expect(text).toContain('whopq_received_total 3');
    expect(text).toContain('whopq_accepted_total 2');
    expect(text).toContain('whopq_rejected_total{reason="parameter_invalid"} 1');
    expect(text).toContain('whopq_dropped_fields_total{param="value"} 1');
    expect(text).toContain('whopq_queue_depth 2');
    expect(text).toMatch(/whopq_oldest_pending_age_seconds \d/);
    expect(text).toContain('whopq_upstream_latency_seconds_bucket{le="0.25"} 1');
    expect(text).toContain('# TYPE whopq_upstream_latency_seconds histogram');

    outbox.failing = true;
    // Readiness is computed at most once a second.
    await new Promise((r) => setTimeout(r, 1_100));
    const down = await relay.fetch(new Request('http://x/wq/ready'));
    expect(down.status).toBe(503);
    expect((await down.json()).reasons[0]).toMatch(/store/);
  });

  it('/ready is 503 without a key outside dry-run, and lists paused companies', async () => {
    const paused = [{ company_id: COMPANY, reason: 'Whop answered 401' }];
    const noKey = setup({ dryRun: false, hasApiKey: false }).relay;
    const body = await (await noKey.fetch(new Request('http://x/wq/ready'))).json();
    expect(body).toMatchObject({ ready: false, mode: 'forwarding' });
    expect(body.reasons.join(' ')).toMatch(/API key/);
    const pausedRelay = setup({ hasApiKey: true, forwarder: { status: () => ({ paused }) } }).relay;
    const res = await pausedRelay.fetch(new Request('http://x/wq/ready'));
    expect(res.status).toBe(503);
    expect(await res.json()).toMatchObject({ ready: false, paused });
  });

  it('/ready is computed once a second whatever the number of callers', async () => {
    const { relay, outbox } = setup({ dryRun: true });
    let reads = 0;
    const stats = outbox.stats.bind(outbox);
    outbox.stats = () => (reads++, stats());
    const answers = await Promise.all(Array.from({ length: 200 }, () => relay.fetch(new Request('http://x/wq/ready'))));
    expect(answers.every((a) => a.status === 200)).toBe(true);
    expect(reads).toBe(1);
  });

  it('/ready: a company the relay does not serve never counts, and the body stays small with many paused', async () => {
    const paused = Array.from({ length: 1_000 }, (_, i) => ({
      company_id: `biz_foreign_${i}`,
      reason: 'Whop refused the API key for this company (HTTP 403)',
    }));
    const served = setup({ hasApiKey: true, forwarder: { status: () => ({ paused }) } }).relay;
    expect((await served.fetch(new Request('http://x/wq/ready'))).status).toBe(200);
    const open = setup({ companies: [], hasApiKey: true, forwarder: { status: () => ({ paused }) } }).relay;
    const res = await open.fetch(new Request('http://x/wq/ready'));
    const text = await res.text();
    expect(res.status).toBe(503);
    expect(JSON.parse(text)).toMatchObject({ paused_count: 1_000 });
    expect(text.length).toBeLessThan(4_096);
  });

  it('/ready fails while the store refuses writes (a full disk) though it still reads', async () => {
    const { relay, outbox } = setup({ hasApiKey: true });
    outbox.append = async () => {
      throw new OutboxUnavailableError('outbox cannot write: database or disk is full');
    };
    expect((await relay.fetch(post(event()), { remoteAddress: PEER })).status).toBe(503);
    const res = await relay.fetch(new Request('http://x/wq/ready'));
    expect(res.status).toBe(503);
    expect((await res.json()).reasons.join(' ')).toMatch(/refuses writes: .*disk is full/);
  });

  it('protects /metrics with the admin token, and hides it in production without one', async () => {
    const { relay } = setup({ adminToken: 's3cret-token' });
    expect((await relay.fetch(new Request('http://x/wq/metrics'))).status).toBe(401);
    expect((await relay.fetch(new Request('http://x/wq/metrics?token=nope'))).status).toBe(401);
    expect((await relay.fetch(new Request('http://x/wq/metrics?token=s3cret-token'))).status).toBe(200);
    expect((await relay.fetch(new Request('http://x/wq/metrics', { headers: { authorization: 'Bearer s3cret-token' } }))).status).toBe(200);
    const prod = setup({ production: true }).relay;
    expect((await prod.fetch(new Request('http://x/wq/metrics'))).status).toBe(404);
  });

  it('serves the bundle with ETag, 304 and Cache-Control; routes /inspect to the hook; 404 elsewhere', async () => {
    const seen: string[] = [];
    const { relay } = setup({
      bundle: 'console.log(1)',
      basePath: '/t/',
      inspector: async (r) => (seen.push(new URL(r.url).pathname), new Response('inspector')),
    });
    const first = await relay.fetch(new Request('http://x/t/p.js'));
    expect(first.status).toBe(200);
    expect(await first.text()).toBe('console.log(1)');
    expect(first.headers.get('cache-control')).toBe('public, max-age=300');
    const etag = first.headers.get('etag')!;
    expect(etag).toMatch(/^"[0-9a-f]{24}"$/);
    const again = await relay.fetch(new Request('http://x/t/p.js', { headers: { 'if-none-match': etag } }));
    expect(again.status).toBe(304);
    expect(await again.text()).toBe('');
    expect(await (await relay.fetch(new Request('http://x/t/inspect/data.json'))).text()).toBe('inspector');
    expect(seen).toEqual(['/t/inspect/data.json']);
    expect((await relay.fetch(new Request('http://x/wq/p.js'))).status).toBe(404);
    expect((await relay.fetch(new Request('http://x/t/nope'))).status).toBe(404);
    const missing = setup({ bundle: () => Promise.reject(new Error('ENOENT')) }).relay;
    expect((await missing.fetch(new Request('http://x/wq/p.js'))).status).toBe(404);
  });

  it('serves the debug build at p.debug.js when given, 404 when not (the snippet then loads p.js)', async () => {
    const { relay } = setup({ bundle: 'lean()', debugBundle: 'debug()' });
    const res = await relay.fetch(new Request('http://x/wq/p.debug.js'));
    expect(res.status).toBe(200);
    expect(await res.text()).toBe('debug()');
    expect(res.headers.get('content-type')).toBe('text/javascript; charset=utf-8');
    const again = await relay.fetch(new Request('http://x/wq/p.debug.js', { headers: { 'if-none-match': res.headers.get('etag')! } }));
    expect(again.status).toBe(304);
    expect(await (await relay.fetch(new Request('http://x/wq/p.js'))).text()).toBe('lean()');
    const leanOnly = setup({ bundle: 'lean()' }).relay;
    expect((await leanOnly.fetch(new Request('http://x/wq/p.debug.js'))).status).toBe(404);
  });

  it('treats empty companies and origins lists as unset (an unset env var splits to [])', async () => {
    const { relay } = setup({ companies: [], origins: [] });
    const res = await relay.fetch(post(event({ company_id: 'biz_any' }), { headers: { origin: 'https://elsewhere.example' } }), {
      remoteAddress: PEER,
    });
    expect(res.status).toBe(200);
  });
});

describe('secrets and logs', () => {
  it('never puts the key or visitor data into a response or a log line', async () => {
    const KEY = 'apik_live_SECRET_never_shown_123';
    const lines: string[] = [];
    const logger = createLogger({ write: (l) => lines.push(l), secrets: [KEY] });
    const outbox = new MemoryOutbox();
    const relay = createRelay({
      outbox,
      logger,
      hasApiKey: true,
      rateLimit: false,
      forwarder: { status: () => ({ paused: [{ company_id: COMPANY, reason: 'unauthorized' }] }) },
    });
    const responses: Response[] = [];
    responses.push(await relay.fetch(post(event({ user: { email: 'visitor@example.com' } })), { remoteAddress: PEER }));
    outbox.failing = true;
    responses.push(await relay.fetch(post(event({ user: { email: 'visitor@example.com' } })), { remoteAddress: PEER }));
    for (const path of ['/wq/ready', '/wq/metrics', '/wq/health', '/wq/nope'])
      responses.push(await relay.fetch(new Request('http://x' + path)));
    logger.error('forwarder: failed', { error: `Bearer ${KEY}` });
    for (const r of responses) {
      const text = (await r.text()) + JSON.stringify([...r.headers]);
      expect(text).not.toContain(KEY);
      expect(text).not.toContain('visitor@example.com');
    }
    expect(lines.length).toBeGreaterThan(0);
    for (const line of lines) {
      expect(line).not.toContain(KEY);
      expect(line).not.toContain('visitor@example.com');
      expect(line).not.toContain(PEER);
      expect(() => JSON.parse(line)).not.toThrow();
    }
  });
});

describe('caller-chosen event_ids (issue 17 row 11)', () => {
  const TOKEN = 'srv_token_7f3a';
  const order = (anon: string, value: number) =>
    event({ event_id: 'order-1001', event_name: 'lead', value, currency: 'usd', user: { anonymous_id: anon } });

  it('a stranger who posts an order id first cannot have the real one (from the server, with the token) dropped', async () => {
    const { outbox, relay } = setup({ serverToken: TOKEN });
    const attack = await relay.fetch(post(order('anon-attacker', 0)), { remoteAddress: '198.51.100.66' });
    expect(await attack.json()).toMatchObject({ accepted: 1 });
    const real = await relay.fetch(
      post(order('anon-buyer', 99), {
        url: 'http://shop.example/wq/s',
        headers: { authorization: `Bearer ${TOKEN}`, 'content-type': 'application/json' },
      }),
      { remoteAddress: '10.0.0.5' },
    );
    expect(await real.json()).toMatchObject({ accepted: 1, duplicates: 0, rejected: [] });
    const ids = outbox.all().map((r) => [r.event_id, r.body.value]);
    expect(ids).toContainEqual(['order-1001', 99]);
    expect(ids).toContainEqual([expect.stringMatching(/^order-1001\.v[0-9a-f]{8}$/), 0]);
  });

  it('the browser endpoint scopes a guessable id even with the server token: only /s keeps ids', async () => {
    const { outbox, relay } = setup({ serverToken: TOKEN });
    const res = await relay.fetch(post(order('anon-buyer', 5), { headers: { authorization: `Bearer ${TOKEN}` } }), { remoteAddress: PEER });
    expect(await res.json()).toMatchObject({ accepted: 1 });
    expect(outbox.all()[0]!.event_id).toMatch(/^order-1001\.v[0-9a-f]{8}$/);
  });

  it('a visitor’s own resends still dedup, pixel ids stay as they are, and a wrong token counts as none', async () => {
    const { outbox, relay } = setup({ serverToken: TOKEN });
    const pixelId = 'a3f1c2d4e5b60718293a4b5c6d7e8f90';
    const batch = { events: [order('anon-buyer', 5), event({ event_id: pixelId })] };
    expect(await (await relay.fetch(post(batch), { remoteAddress: PEER })).json()).toMatchObject({ accepted: 2, duplicates: 0 });
    expect(await (await relay.fetch(post(batch), { remoteAddress: PEER })).json()).toMatchObject({ accepted: 0, duplicates: 2 });
    const wrong = await relay.fetch(post(order('anon-other', 7), { headers: { authorization: 'Bearer nope' } }), { remoteAddress: PEER });
    expect(await wrong.json()).toMatchObject({ accepted: 1 });
    expect(outbox.all().map((r) => r.event_id)).toEqual([
      expect.stringMatching(/^order-1001\.v/),
      pixelId,
      expect.stringMatching(/^order-1001\.v/),
    ]);
    expect(new Set(outbox.all().map((r) => r.event_id)).size).toBe(3);
  });
});
