import { describe, expect, it } from 'vitest';
import { cookieDomainFor } from './cookieDomainFor';

const at = (url: string) => new URL(url);

describe('cookieDomainFor', () => {
  it('takes the configured domain first', () => {
    expect(cookieDomainFor('shop.example', at('https://t.shop.example/wq/e?d=other.example'))).toBe('shop.example');
  });

  it("takes the pixel's hint when the relay's host is that domain or under it", () => {
    expect(cookieDomainFor(undefined, at('https://t.shop.example/wq/e?d=shop.example'))).toBe('shop.example');
    expect(cookieDomainFor(undefined, at('https://shop.example/wq/e?d=SHOP.example'))).toBe('shop.example');
    expect(cookieDomainFor(undefined, at('https://www.shop.co.uk/wq/e?d=shop.co.uk'))).toBe('shop.co.uk');
  });

  it('is host-only for no hint, another site, a look-alike, an IP host or a value that is no domain', () => {
    for (const url of [
      'https://t.shop.example/wq/e',
      'https://t.shop.example/wq/e?d=undefined',
      'https://t.shop.example/wq/e?d=evil.example',
      'https://t.badshop.example/wq/e?d=shop.example',
      'https://127.0.0.1/wq/e?d=0.0.1',
      'https://[::1]/wq/e?d=1',
      'https://t.shop.example/wq/e?d=shop.example;%20secure',
      'https://t.shop.example/wq/e?d=.shop.example',
      'https://localhost/wq/e?d=localhost',
    ])
      expect(cookieDomainFor(undefined, at(url)), url).toBeUndefined();
  });
});
