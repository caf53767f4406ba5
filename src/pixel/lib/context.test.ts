// @vitest-environment happy-dom
import { beforeEach, describe, expect, it } from 'vitest';
import { buildContext } from './context';

beforeEach(() => {
  for (const c of document.cookie.split('; ')) if (c) document.cookie = c.split('=')[0] + '=;path=/;max-age=0';
});

describe('buildContext', () => {
  it('carries the touch fields, without the capture time', () => {
    expect(buildContext({ t: 1, fbclid: 'F', ttclid: 'T', utm_source: 's', ad_id: 'a' })).toEqual({ fbclid: 'F', ttclid: 'T', utm_source: 's', ad_id: 'a' });
  });

  it('reads _fbp as is, _ga as its last two fields, _ttp as is', () => {
    document.cookie = '_fbp=fb.1.1700000000000.123456789;path=/';
    document.cookie = '_ga=GA1.1.987654321.1700000000;path=/';
    document.cookie = '_ttp=abcDEF123;path=/';
    expect(buildContext(undefined)).toEqual({ fbp: 'fb.1.1700000000000.123456789', ga: '987654321.1700000000', ttp: 'abcDEF123' });
  });

  it('recovers fbclid from _fbc when the touch has none, and prefers the URL one', () => {
    document.cookie = '_fbc=fb.1.1700000000000.IwAR.from.cookie;path=/';
    expect(buildContext(undefined).fbclid).toBe('IwAR.from.cookie');
    expect(buildContext({ t: 1, fbclid: 'fromUrl' }).fbclid).toBe('fromUrl');
  });

  it('ignores malformed _fbc and _ga values', () => {
    document.cookie = '_fbc=garbage;path=/';
    document.cookie = '_ga=GA1.2;path=/';
    expect(buildContext(undefined)).toEqual({});
  });

  it('sends gbraid/wbraid as gclid only when there is no gclid, never as their own fields', () => {
    expect(buildContext({ t: 1, gclid: 'G', gbraid: 'B' })).toEqual({ gclid: 'G' });
    expect(buildContext({ t: 1, gbraid: 'B' })).toEqual({ gclid: 'B' });
    expect(buildContext({ t: 1, wbraid: 'W' })).toEqual({ gclid: 'W' });
  });
});
