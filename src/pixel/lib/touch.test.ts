// @vitest-environment happy-dom
import { beforeEach, describe, expect, it } from 'vitest';
import { readTouch, TOUCH_COOKIE, touchFromUrl, writeTouch } from './touch';

const clearCookies = () => {
  for (const c of document.cookie.split('; ')) if (c) document.cookie = c.split('=')[0] + '=;path=/;max-age=0';
};

describe('touchFromUrl', () => {
  it.each(['fbclid', 'gclid', 'gbraid', 'wbraid', 'ttclid', 'utm_source', 'utm_medium', 'utm_campaign', 'utm_term', 'utm_content', 'utm_id', 'ad_id', 'ad_set_id', 'ad_campaign_id'])(
    'captures %s',
    (p) => {
      expect(touchFromUrl(`?${p}=v1&x=1`, undefined, 5)).toEqual({ t: 5, [p]: 'v1' });
    },
  );

  it('maps the ad id spellings, and extra params from the init option', () => {
    expect(touchFromUrl('?adset_id=s&campaign_id=c&cid=9', { cid: 'ad_id' }, 1)).toEqual({ t: 1, ad_set_id: 's', ad_campaign_id: 'c', ad_id: '9' });
  });

  it('has no touch without any of the parameters, or with empty values', () => {
    expect(touchFromUrl('?q=shoes&fbclid=')).toBeUndefined();
    expect(touchFromUrl('')).toBeUndefined();
  });

  it('decodes values', () => {
    expect(touchFromUrl('?utm_campaign=spring%20sale', undefined, 1)).toEqual({ t: 1, utm_campaign: 'spring sale' });
  });
});

describe('stored touch', () => {
  beforeEach(clearCookies);

  it('round-trips through the wq_t cookie within the window', () => {
    const t = touchFromUrl('?fbclid=IwAR1&utm_source=meta')!;
    writeTouch(t, 30);
    expect(document.cookie).toContain(TOUCH_COOKIE + '=');
    expect(readTouch(30)).toEqual(t);
  });

  it('expires after the attribution window', () => {
    const now = Date.now();
    writeTouch({ t: now - 8 * 864e5, gclid: 'old' }, 30);
    expect(readTouch(30, now)).toEqual({ t: now - 8 * 864e5, gclid: 'old' });
    expect(readTouch(7, now)).toBeUndefined();
  });

  it('a new click replaces the old touch as a whole', () => {
    writeTouch(touchFromUrl('?fbclid=A&utm_source=meta&utm_campaign=c1')!, 30);
    writeTouch(touchFromUrl('?gclid=G')!, 30);
    const t = readTouch(30)!;
    expect(t.gclid).toBe('G');
    expect(t.fbclid).toBeUndefined();
    expect(t.utm_source).toBeUndefined();
  });

  it('a corrupt cookie reads as no touch', () => {
    document.cookie = TOUCH_COOKIE + '=%7Bnot-json;path=/';
    expect(readTouch(30)).toBeUndefined();
  });
});
