import { describe, expect, it } from 'vitest';
import { createConcurrencyLimiter } from './concurrencyLimiter';

const ok = (latencyMs = 50) => ({ status: 200, latencyMs });

describe('createConcurrencyLimiter', () => {
  it('stays fixed without a max above the initial value', () => {
    const l = createConcurrencyLimiter({ initial: 8 });
    for (let i = 0; i < 100; i++) l.observe(ok());
    l.observe({ status: 500, latencyMs: 10 });
    expect(l.limit()).toBe(8);
  });

  it('grows while Whop answers 2xx quickly, up to the max', () => {
    const l = createConcurrencyLimiter({ initial: 8, max: 64 });
    for (let i = 0; i < 8; i++) l.observe(ok());
    expect(l.limit()).toBe(16);
    for (let i = 0; i < 200; i++) l.observe(ok());
    expect(l.limit()).toBe(64);
  });

  it('halves on a 429, 5xx or timeout, once for the sends that were already in flight, never below min', () => {
    const l = createConcurrencyLimiter({ initial: 8, max: 64, min: 2 });
    for (let i = 0; i < 56; i++) l.observe(ok());
    expect(l.limit()).toBe(64);
    // 64 in flight meet the same 429: one cut, not 64.
    for (let i = 0; i < 10; i++) l.observe({ status: 429, latencyMs: 5 });
    expect(l.limit()).toBe(32);
    // Past the cool-down, trouble cuts again.
    for (let i = 0; i < 64; i++) l.observe({ status: null, latencyMs: 10_000 });
    expect(l.limit()).toBeLessThan(32);
    for (let i = 0; i < 1000; i++) l.observe({ status: 503, latencyMs: 5 });
    expect(l.limit()).toBe(2);
  });

  it('grows by about one per round trip after the first trouble, and eases down on slow answers', () => {
    const l = createConcurrencyLimiter({ initial: 16, max: 128 });
    l.observe({ status: 500, latencyMs: 5 });
    expect(l.limit()).toBe(8);
    // 40 answers at a limit of 8 to 12 are about four round trips: about +4, not the doubling of slow start.
    for (let i = 0; i < 40; i++) l.observe(ok());
    expect(l.limit()).toBeGreaterThanOrEqual(11);
    expect(l.limit()).toBeLessThanOrEqual(13);
    const before = l.limit();
    for (let i = 0; i < 40; i++) l.observe(ok(5_000));
    expect(l.limit()).toBeLessThan(before);
  });

  it('ignores a 4xx about one event (it says nothing about load)', () => {
    const l = createConcurrencyLimiter({ initial: 8, max: 64 });
    for (let i = 0; i < 20; i++) l.observe({ status: 400, latencyMs: 5 });
    expect(l.limit()).toBe(8);
  });
});
