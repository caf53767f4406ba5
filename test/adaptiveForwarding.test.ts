// The forwarder's adaptive concurrency and fair claims against the fake Whop, on a real SQLite
// outbox: in-flight sends grow while Whop answers quickly, fall back on 429s, stay within the
// bound, and a quiet company's events are not queued behind a busy one's backlog.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { createForwarder, type Forwarder } from '../src/relay/lib/forwarder';
import type { OutboxInput } from '../src/relay/lib/outbox';
import { SqliteOutbox } from '../src/relay/node/sqliteOutbox';
import { startFakeWhop, type FakeWhop } from './fakeWhop';

const KEY = 'k_test_adaptive';
let dir: string;
let whop: FakeWhop;
let outbox: SqliteOutbox;
let forwarder: Forwarder | undefined;
let inFlight = 0;
let peak = 0;

beforeEach(async () => {
  dir = mkdtempSync(join(tmpdir(), 'whopq-adaptive-'));
  whop = await startFakeWhop({ apiKey: KEY });
  outbox = new SqliteOutbox({ path: join(dir, 'outbox.db') });
  inFlight = peak = 0;
});
afterEach(async () => {
  await forwarder?.stop();
  await outbox.close();
  await whop.close();
  rmSync(dir, { recursive: true, force: true });
});

function events(n: number, company_id: string, prefix: string): OutboxInput[] {
  return Array.from({ length: n }, (_, i) => ({
    company_id,
    event_name: 'lead',
    event_id: `${prefix}_${i}`,
    received_at: Date.now(),
    body: {
      company_id,
      event_id: `${prefix}_${i}`,
      event_name: 'lead',
      action_source: 'website',
      event_time: new Date().toISOString(),
      url: 'https://seller.example/',
    },
  }));
}

/** Answers after `ms`, counting how many requests are open at once. */
function slowOk(ms: number, status: (n: number) => number = () => 200) {
  whop.setMode((_req, n) => {
    inFlight++;
    peak = Math.max(peak, inFlight);
    setTimeout(() => inFlight--, ms);
    const s = status(n);
    return s === 200
      ? { status: 200, body: { id: `conv_${n}` }, delayMs: ms }
      : {
          status: s,
          body: { error: { type: 'rate_limit_error', message: 'Too many requests', code: null, param: null } },
          delayMs: ms,
          headers: { 'retry-after': '0' },
        };
  });
}

// Custom answers are not recorded as conversions: count the requests answered 200.
const accepted = () => whop.requests.filter((r) => r.status === 200);
const delivered = () => new Set(accepted().map((r) => r.body?.event_id)).size;

describe('adaptive forwarding', () => {
  it('grows past its starting concurrency while Whop answers quickly, within the bound', { timeout: 40_000 }, async () => {
    slowOk(60);
    await outbox.append(events(600, 'biz_a', 'g'));
    forwarder = createForwarder({ outbox, apiKey: KEY, baseURL: whop.url, concurrency: 4, maxConcurrency: 48, timeoutMs: 5_000 });
    forwarder.start();
    await vi.waitFor(() => expect(delivered()).toBe(600), { timeout: 30_000, interval: 20 });
    expect(peak).toBeGreaterThan(8);
    expect(peak).toBeLessThanOrEqual(48);
    expect(accepted()).toHaveLength(600);
  });

  it('stays at its concurrency when no bound above it is given', { timeout: 40_000 }, async () => {
    slowOk(30);
    await outbox.append(events(200, 'biz_a', 'f'));
    forwarder = createForwarder({ outbox, apiKey: KEY, baseURL: whop.url, concurrency: 4, timeoutMs: 5_000 });
    forwarder.start();
    await vi.waitFor(() => expect(delivered()).toBe(200), { timeout: 30_000, interval: 20 });
    expect(peak).toBeLessThanOrEqual(4);
  });

  it('backs off when Whop answers 429', { timeout: 40_000 }, async () => {
    // Fast 2xx first (it grows), then a wave of 429s (it must come down), then 2xx again.
    let limited = 0;
    slowOk(40, (n) => (n > 200 && limited < 150 ? (limited++, 429) : 200));
    await outbox.append(events(500, 'biz_a', 'b'));
    forwarder = createForwarder({
      outbox,
      apiKey: KEY,
      baseURL: whop.url,
      concurrency: 4,
      maxConcurrency: 64,
      timeoutMs: 5_000,
      backoff: { baseMs: 10, maxMs: 50 },
    });
    forwarder.start();
    await vi.waitFor(() => expect(whop.requests.length).toBeGreaterThan(200), { timeout: 20_000, interval: 10 });
    const grown = forwarder.status().concurrency!;
    // The lowest level seen while the 429s come (a long wave, so the poll cannot miss it).
    let low = grown;
    await vi.waitFor(
      () => {
        low = Math.min(low, forwarder!.status().concurrency!);
        expect(limited).toBe(150);
      },
      { timeout: 20_000, interval: 5 },
    );
    expect(low).toBeLessThan(grown);
    await vi.waitFor(() => expect(delivered()).toBe(500), { timeout: 30_000, interval: 20 });
  });

  it("delivers a quiet company's events without waiting behind a busy company's backlog", { timeout: 40_000 }, async () => {
    slowOk(20);
    await outbox.append(events(400, 'biz_busy', 'busy'));
    await outbox.append(events(10, 'biz_quiet', 'quiet'));
    forwarder = createForwarder({ outbox, apiKey: KEY, baseURL: whop.url, concurrency: 4, timeoutMs: 5_000 });
    forwarder.start();
    await vi.waitFor(() => expect(delivered()).toBe(410), { timeout: 30_000, interval: 20 });
    const order = accepted().map((r) => r.body?.company_id);
    const lastQuiet = order.lastIndexOf('biz_quiet');
    // In due order the quiet ones would be sent last (positions 400–409); shared, within the first ~24.
    expect(lastQuiet).toBeLessThan(30);
  });
});
