import { describe, expect, it } from 'vitest';
import { backoff, classify, Verdict } from './retry';

describe('classify', () => {
  it.each([200, 202, 204, 299])('%i is delivered', (s) => expect(classify(s)).toBe(Verdict.Delivered));
  it.each([0, 408, 429, 500, 502, 503, 504])('%i is retried', (s) => expect(classify(s)).toBe(Verdict.Retry));
  it.each([400, 401, 403, 404, 413, 415, 422, 301])('%i is dropped', (s) => expect(classify(s)).toBe(Verdict.Drop));
});

describe('backoff', () => {
  it('grows exponentially with jitter between half and all of the step', () => {
    expect(backoff(0, null, 0)).toBe(500);
    expect(backoff(0, null, 1)).toBe(1000);
    expect(backoff(3, null, 0)).toBe(4000);
    expect(backoff(3, null, 1)).toBe(8000);
  });

  it('is capped at five minutes', () => {
    expect(backoff(30, null, 1)).toBe(3e5);
  });

  it('honours Retry-After seconds, capped at an hour, and ignores unreadable values', () => {
    expect(backoff(0, '120', 0)).toBe(120e3);
    expect(backoff(0, '999999', 0)).toBe(36e5);
    expect(backoff(0, 'Wed, 21 Oct 2015 07:28:00 GMT', 0)).toBe(500);
    expect(backoff(5, '1', 0)).toBe(16e3);
  });
});
