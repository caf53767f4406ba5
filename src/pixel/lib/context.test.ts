// @vitest-environment happy-dom
import { describe, expect, it } from 'vitest';
import { buildContext } from './context';

describe('buildContext', () => {
  it('carries the touch fields, each click id as itself, without the capture times', () => {
    expect(buildContext({ t: 1, fbclid: ['F', 1], gbraid: ['B', 2], ttclid: ['T', 3], utm_source: 's', ad_id: 'a' })).toEqual({
      fbclid: 'F',
      gbraid: 'B',
      ttclid: 'T',
      utm_source: 's',
      ad_id: 'a',
    });
  });

  it("reads no cookie: _fbc, _ga and _ttp are the relay's to read", () => {
    document.cookie = '_ga=GA1.1.987654321.1700000000;path=/';
    expect(buildContext(undefined)).toEqual({});
  });
});
