import { describe, expect, it } from 'vitest';
import { clientIp, ipFromHeader, isTrusted, parseCidrs, parseIp } from './clientIp';
import { createRateLimiter } from './rateLimiter';

describe('parseIp / CIDRs', () => {
  it.each([
    '1.2.3.4',
    '::',
    '::1',
    '2001:db8::1',
    'fe80::1%eth0',
    '[2001:db8::1]',
    '::ffff:10.0.0.1',
    '1:2:3:4:5:6:7:8',
    '64:ff9b::192.0.2.33',
  ])('parses %s', (ip) => {
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

describe('issue 17: one header, one validated IP', () => {
  const proxy = parseCidrs(['10.0.0.1']);
  const h = (headers: Record<string, string>) => ({ get: (n: string) => headers[n] ?? null });

  it('refuses malformed CIDRs (a trailing slash once trusted every IPv4 peer)', () => {
    for (const bad of ['10.0.0.1/', '10.0.0.0/8/', '/8', '10.0.0.0/ 8', '10.0.0.0/+8', '10.0.0.0/0x8', '::1/', '10.0.0.0/8.0'])
      expect(() => parseCidrs([bad]), bad).toThrow();
    expect(parseCidrs(['10.0.0.0/0'])).toHaveLength(1);
  });

  it('believes only the configured header behind a trusted proxy: a client-sent Forwarded does not win over X-Forwarded-For', () => {
    const headers = h({ forwarded: 'for=198.51.100.66', 'x-forwarded-for': '203.0.113.7' });
    expect(clientIp(headers, '10.0.0.1', proxy)).toBe('203.0.113.7');
    expect(clientIp(headers, '10.0.0.1', proxy, 'forwarded')).toBe('198.51.100.66');
    expect(clientIp(h({ 'x-real-ip': '203.0.113.9', 'x-forwarded-for': '198.51.100.1' }), '10.0.0.1', proxy, 'x-real-ip')).toBe(
      '203.0.113.9',
    );
  });

  it('parses ip:port and [v6]:port hops, and yields one validated address or the proxy', () => {
    expect(clientIp(h({ 'x-forwarded-for': '203.0.113.7:51234' }), '10.0.0.1', proxy)).toBe('203.0.113.7');
    expect(clientIp(h({ 'x-forwarded-for': '[2001:db8::7]:443' }), '10.0.0.1', proxy)).toBe('2001:db8::7');
    expect(clientIp(h({ forwarded: 'for="[2001:db8::8]:4711"' }), '10.0.0.1', proxy, 'forwarded')).toBe('2001:db8::8');
    expect(clientIp(h({ 'x-forwarded-for': 'garbage' }), '10.0.0.1', proxy)).toBe('10.0.0.1');
    expect(clientIp(h({}), 'not an ip', [])).toBeNull();
    expect(clientIp(h({}), '::ffff:192.0.2.4', [])).toBe('192.0.2.4');
  });

  it('ipFromHeader (no socket: Next.js) takes the rightmost entry, port removed, or nothing', () => {
    expect(ipFromHeader('198.51.100.1, 203.0.113.7')).toBe('203.0.113.7');
    expect(ipFromHeader('203.0.113.7:8080')).toBe('203.0.113.7');
    expect(ipFromHeader('[2001:db8::1]:80')).toBe('2001:db8::1');
    expect(ipFromHeader('unknown')).toBeUndefined();
    expect(ipFromHeader('1.2.3.4, <script>')).toBeUndefined();
    expect(ipFromHeader(null)).toBeUndefined();
  });
});
