// @vitest-environment happy-dom
import { beforeEach, describe, expect, it } from 'vitest';
import { CLICKS, mergeTouch, readTouch, TOUCH_COOKIE, touchFromUrl, writeTouch } from './touch';

const clearCookies = () => {
  for (const c of document.cookie.split('; ')) if (c) document.cookie = c.split('=')[0] + '=;path=/;max-age=0';
};

describe('touchFromUrl', () => {
  it.each([
    'fbclid',
    'gclid',
    'gbraid',
    'wbraid',
    'ttclid',
    'utm_source',
    'utm_medium',
    'utm_campaign',
    'utm_term',
    'utm_content',
    'utm_id',
    'ad_id',
    'ad_set_id',
    'ad_campaign_id',
  ])('captures %s', (p) => {
    expect(touchFromUrl(`?${p}=v1&x=1`, undefined, 5)).toEqual({ t: 5, [p]: CLICKS[p] ? ['v1', 5] : 'v1' });
  });

  it('maps the ad id spellings, and extra params from the init option', () => {
    expect(touchFromUrl('?adset_id=s&campaign_id=c&cid=9', { cid: 'ad_id' }, 1)).toEqual({
      t: 1,
      ad_set_id: 's',
      ad_campaign_id: 'c',
      ad_id: '9',
    });
  });

  it('counts only parameters that map to a touch field (no prototype keys), and cuts values to 255', () => {
    expect(touchFromUrl('?constructor=1&valueOf=x&toString=&__proto__=y&gclid=x', undefined, 1)).toEqual({ t: 1, gclid: ['x', 1] });
    expect(touchFromUrl('?src=news&utm_content=' + 'c'.repeat(2000), { src: 'source' }, 1)).toEqual({ t: 1, utm_content: 'c'.repeat(255) });
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

  it("expires each part after the window: a click from its own capture, the UTMs from the touch's", () => {
    const now = Date.now();
    writeTouch({ t: now - 8 * 864e5, utm_source: 'old', gclid: ['G', now - 8 * 864e5], fbclid: ['F', now - 864e5] }, 30);
    expect(readTouch(30, now)).toEqual({
      t: now - 8 * 864e5,
      utm_source: 'old',
      gclid: ['G', now - 8 * 864e5],
      fbclid: ['F', now - 864e5],
    });
    expect(readTouch(7, now)).toEqual({ t: now - 8 * 864e5, fbclid: ['F', now - 864e5] });
    expect(readTouch(0.5, now)).toBeUndefined();
  });

  it("per network: a click replaces its own network's click only; UTMs belong to the latest touch", () => {
    let t = mergeTouch(touchFromUrl('?fbclid=A&utm_source=meta&utm_campaign=c1', undefined, 1), undefined);
    t = mergeTouch(touchFromUrl('?utm_source=newsletter', undefined, 2), t);
    expect(t).toEqual({ t: 2, utm_source: 'newsletter', fbclid: ['A', 1] });
    t = mergeTouch(touchFromUrl('?gbraid=B', undefined, 3), t);
    t = mergeTouch(touchFromUrl('?gclid=G&utm_source=google', undefined, 4), t);
    expect(t).toEqual({ t: 4, utm_source: 'google', gclid: ['G', 4], fbclid: ['A', 1] });
  });

  it('a corrupt cookie reads as no touch', () => {
    document.cookie = TOUCH_COOKIE + '=%7Bnot-json;path=/';
    expect(readTouch(30)).toBeUndefined();
  });
});
