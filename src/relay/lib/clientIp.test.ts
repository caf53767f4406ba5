import { describe, expect, it } from 'vitest';
import { isTrusted, parseCidrs, parseIp } from './clientIp';
import { createRateLimiter } from './rateLimiter';

describe('parseIp / CIDRs', () => {
  it.each(['1.2.3.4', '::', '::1', '2001:db8::1', 'fe80::1%eth0', '[2001:db8::1]', '::ffff:10.0.0.1', '1:2:3:4:5:6:7:8', '64:ff9b::192.0.2.33'])('parses %s', (ip) => {
    expect(parseIp(ip)).not.toBeNull();
  });
  it.each(['', '1.2.3', '1.2.3.256', '01.2.3.4x', '1::2::3', '1:2:3:4:5:6:7:8:9', 'g::1', 'unknown', '12345::'])('refuses %s', (ip) => {
    expect(parseIp(ip)).toBeNull();
  });
  it('matches v4 and v6 ranges, and v4 peers reported as IPv4-mapped v6', () => {
    const ranges = parseCidrs(['10.0.0.0/8', '192.0.2.1', '2001:db8:abcd::/48']);
    expect(isTrusted('10.255.0.1', ranges)).toBe(true);
    expect(isTrusted('::ffff:10.1.1.1', ranges)).toBe(true);
    expect(isTrusted('11.0.0.1', ranges)).toBe(false);
    expect(isTrusted('192.0.2.1', ranges)).toBe(true);
    expect(isTrusted('192.0.2.2', ranges)).toBe(false);
    expect(isTrusted('2001:db8:abcd:12::5', ranges)).toBe(true);
    expect(isTrusted('2001:db8:abce::5', ranges)).toBe(false);
    expect(isTrusted('not-an-ip', ranges)).toBe(false);
  });
  it('throws on malformed configuration', () => {
    expect(() => parseCidrs(['10.0.0.0/33'])).toThrow();
    expect(() => parseCidrs(['example.com'])).toThrow();
    expect(() => parseCidrs(['::/129'])).toThrow();
  });
});

describe('rate limiter', () => {
  it('refills over time and keeps its IP table bounded', () => {
    const limiter = createRateLimiter({ perSecond: 2, burst: 2, maxIps: 100 });
    expect(limiter.take('a', 0).ok).toBe(true);
    expect(limiter.take('a', 0).ok).toBe(true);
    const refused = limiter.take('a', 0);
    expect(refused).toEqual({ ok: false, retryAfter: 1 });
    expect(limiter.take('a', 500).ok).toBe(true);
    for (let i = 0; i < 10_000; i++) limiter.take(`10.0.${i >> 8}.${i & 255}`, 1000);
    expect(limiter.size()).toBe(100);
  });
});
