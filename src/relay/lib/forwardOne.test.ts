import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { startFakeWhop, type FakeWhop } from '../../../test/fakeWhop';
import { backoffDelay, parseRetryAfter } from './backoff';
import { forwardOne, isExpired, type ForwardItem } from './forwardOne';
import { createWhopClient, type WhopClient } from './whopClient';

let whop: FakeWhop;
let client: WhopClient;
let impatient: WhopClient;
beforeAll(async () => {
  whop = await startFakeWhop({ apiKey: 'k1' });
  // Generous, so a loaded machine never turns an answer into a timeout; the short one meets `hang`.
  client = createWhopClient({ apiKey: 'k1', baseURL: whop.url, timeoutMs: 5000 });
  impatient = createWhopClient({ apiKey: 'k1', baseURL: whop.url, timeoutMs: 300 });
});
afterAll(() => whop.close());
beforeEach(() => whop.reset());

const item = (attempts = 1, received_at = Date.now()): ForwardItem => ({
  attempts,
  received_at,
  body: { company_id: 'biz_a', event_name: 'lead', event_id: 'evt_1' },
});
const backoff = { baseMs: 1000, maxMs: 8000 };

describe('forwardOne', () => {
  it('2xx → delivered with Whop’s id', async () => {
    const r = await forwardOne(item(), { client });
    expect(r.outcome).toMatchObject({ kind: 'delivered', whop_id: whop.conversions[0]!.id });
    expect(r.status).toBe(200);
  });

  it('500, timeout and reset → retry within the backoff ceiling of the attempt', async () => {
    for (const mode of ['500', 'hang', 'reset'] as const) {
      whop.setMode(mode);
      const before = Date.now();
      const r = await forwardOne(item(3), { client: mode === 'hang' ? impatient : client, backoff });
      expect(r.outcome.kind).toBe('retry');
      const o = r.outcome as { at: number; next_attempt_at: number; error: string };
      // Attempt 3: full jitter in [0, 4000).
      expect(o.next_attempt_at - o.at).toBeGreaterThanOrEqual(0);
      expect(o.next_attempt_at - o.at).toBeLessThan(4000);
      expect(o.at).toBeGreaterThanOrEqual(before);
      expect(o.error).toMatch(mode === '500' ? /^HTTP 500: .*internal_server_error/ : mode === 'hang' ? /^timeout/ : /^network/);
    }
  });

  it('429 → retry exactly after Retry-After (seconds or HTTP date) and reports the hold', async () => {
    whop.setMode(() => ({
      status: 429,
      headers: { 'retry-after': '3' },
      body: { error: { type: 'rate_limit_error', message: 'slow down' } },
    }));
    const r = await forwardOne(item(), { client, backoff });
    const o = r.outcome as { at: number; next_attempt_at: number };
    expect([r.outcome.kind, o.next_attempt_at - o.at, r.retryAfterMs]).toEqual(['retry', 3000, 3000]);

    const date = new Date(Date.now() + 5000).toUTCString();
    whop.setMode(() => ({ status: 503, headers: { 'retry-after': date } }));
    const r2 = await forwardOne(item(), { client, backoff });
    expect(r2.retryAfterMs).toBeGreaterThan(3000);
    expect(r2.retryAfterMs).toBeLessThanOrEqual(5000);
  });

  it('400 and 422 → dead with Whop’s error body kept', async () => {
    const bad = { ...item(), body: { company_id: 'biz_a', event_name: 'lead', currency: 'xxx' } } as unknown as ForwardItem;
    const r = await forwardOne(bad, { client });
    expect(r.outcome).toMatchObject({ kind: 'dead' });
    expect((r.outcome as { error: string }).error).toMatch(/^HTTP 400: \{"error":\{"type":"invalid_request_error".*"param":"currency"/);
    whop.setMode('422');
    expect((await forwardOne(item(), { client })).outcome).toMatchObject({
      kind: 'dead',
      error: expect.stringMatching(/^HTTP 422: .*verification_required/),
    });
  });

  it('401, 403, 404 → pause', async () => {
    for (const mode of ['401', '403', '404'] as const) {
      whop.setMode(mode);
      expect((await forwardOne(item(), { client })).outcome).toMatchObject({ kind: 'pause', status: Number(mode) });
    }
  });

  it('past maxAgeMs → dead ("expired") without sending', async () => {
    const r = await forwardOne(item(5, Date.now() - 10_000), { client, maxAgeMs: 5_000 });
    expect(r.outcome).toMatchObject({ kind: 'dead', error: expect.stringMatching(/^expired/) });
    expect(whop.requests).toHaveLength(0);
  });
});

describe('backoff', () => {
  it('grows exponentially with full jitter, capped', () => {
    expect(backoffDelay(1, backoff, () => 0.999)).toBe(999);
    expect(backoffDelay(4, backoff, () => 0.999)).toBe(7992);
    expect(backoffDelay(40, backoff, () => 0.999)).toBe(7992);
    expect(backoffDelay(4, backoff, () => 0)).toBe(0);
  });
  it('parses Retry-After seconds and dates', () => {
    const now = Date.parse('2026-01-01T00:00:00Z');
    expect(parseRetryAfter('120', now)).toBe(120_000);
    expect(parseRetryAfter('Thu, 01 Jan 2026 00:00:30 GMT', now)).toBe(30_000);
    expect(parseRetryAfter('Wed, 31 Dec 2025 23:00:00 GMT', now)).toBe(0);
    expect(parseRetryAfter('soon', now)).toBeNull();
    expect(parseRetryAfter(null, now)).toBeNull();
  });
});

describe('forwardOne (issue 17)', () => {
  it('a 3xx is retried, never followed or taken as delivered', async () => {
    whop.setMode(() => ({ status: 302, headers: { location: 'http://127.0.0.1:9/elsewhere' } }));
    const r = await forwardOne(item(), { client, backoff });
    expect(r.outcome).toMatchObject({ kind: 'retry', error: expect.stringMatching(/^HTTP 302/) });
    expect(whop.requests).toHaveLength(1);
  });

  it('403/404 naming a parameter other than company_id → dead; naming company_id → pause', async () => {
    whop.setMode(() => ({ status: 404, body: { error: { type: 'not_found', message: 'x', code: 'not_found', param: 'plan_id' } } }));
    expect(await forwardOne(item(), { client })).toMatchObject({ outcome: { kind: 'dead' }, code: 'not_found', param: 'plan_id' });
    whop.setMode(() => ({ status: 403, body: { error: { type: 'forbidden', message: 'x', code: null, param: 'company_id' } } }));
    expect((await forwardOne(item(), { client })).outcome).toMatchObject({ kind: 'pause', status: 403 });
  });

  it('age needs attempts too: 8 days by the clock on a first attempt is sent, after many attempts it expires', async () => {
    const old = Date.now() - 8 * 24 * 3_600_000;
    expect((await forwardOne(item(1, old), { client })).outcome.kind).toBe('delivered');
    expect((await forwardOne(item(2_000, old), { client })).outcome).toMatchObject({
      kind: 'dead',
      error: expect.stringMatching(/^expired/),
    });
    expect(isExpired({ received_at: old, attempts: 1 }, Date.now(), 7 * 24 * 3_600_000)).toBe(false);
  });

  it('classifies /events answers as /conversions ones: delivered, retry, pause, dead; a 3xx is a retry', async () => {
    const events = { client, upstream: 'events' as const, backoff };
    const r = await forwardOne(item(), events);
    expect(r.outcome).toMatchObject({ kind: 'delivered', whop_id: whop.events[0]!.id });
    expect(whop.events[0]).toMatchObject({ idempotencyKey: 'evt_1', body: { account_id: 'biz_a', event_name: 'lead', event_id: 'evt_1' } });
    const cases: Array<[string | (() => { status: number; headers?: Record<string, string> }), string]> = [
      ['500', 'retry'],
      ['429', 'retry'],
      ['401', 'pause'],
      ['400', 'dead'],
      ['422', 'dead'],
      [() => ({ status: 302, headers: { location: 'http://127.0.0.1:9/' } }), 'retry'],
    ];
    for (const [mode, kind] of cases) {
      whop.setMode(mode as never);
      expect((await forwardOne(item(), events)).outcome.kind).toBe(kind);
    }
    // A page view is sent to /events (it is never sent to /conversions).
    whop.setMode('ok');
    const page = await forwardOne(
      { ...item(), body: { company_id: 'biz_a', event_name: 'page', event_id: 'evt_p', title: 'Home' } },
      events,
    );
    expect(page.outcome.kind).toBe('delivered');
    expect(whop.events.at(-1)!.body).toMatchObject({ event_name: 'page', title: 'Home' });
  });
});
