// @vitest-environment happy-dom
// @vitest-environment-options {"settings":{"disableJavaScriptFileLoading":true,"handleDisabledFileLoadingAsSuccess":true}}
// The built snippet (dist/snippet.min.js, from `node esbuild.config.mjs pixel`) run in a DOM.
import { readFileSync } from 'node:fs';
import { beforeEach, describe, expect, it } from 'vitest';

const code = readFileSync('dist/snippet.min.js', 'utf8');
const w = window as unknown as { whopq?: ((...a: unknown[]) => void) & { q: [unknown[], number, string][] } };
const injected = () => [...document.querySelectorAll('script[src]')] as HTMLScriptElement[];

/**
 * Runs the snippet (global eval: happy-dom does not run inline scripts here). The CSP nonce needs
 * a real browser (happy-dom has no `nonce` property): e2e/pixel.spec.ts covers it in Chromium.
 */
const paste = () => (0, eval)(code);

beforeEach(() => {
  delete w.whopq;
  for (const s of document.querySelectorAll('script')) s.remove();
  localStorage.clear();
  history.replaceState(null, '', '/');
});

describe('snippet', () => {
  it('queues calls in order, each with its time and page, and loads the bundle async from /wq/p.js', () => {
    paste();
    const before = Date.now();
    w.whopq!('init', 'biz_A');
    w.whopq!('track', 'lead');
    expect(w.whopq!.q.map((c) => c[0])).toEqual([
      ['init', 'biz_A'],
      ['track', 'lead'],
    ]);
    expect(w.whopq!.q[1][1]).toBeGreaterThanOrEqual(before);
    expect(w.whopq!.q[1][2]).toBe(location.href);
    expect(injected().map((s) => [s.getAttribute('src'), s.async])).toEqual([['/wq/p.js', true]]);
  });

  it('does nothing when pasted or injected twice', () => {
    paste();
    const first = w.whopq;
    first!('init', 'biz_A');
    paste();
    expect(w.whopq).toBe(first);
    expect(w.whopq!.q).toHaveLength(1);
    expect(injected()).toHaveLength(1);
  });

  it("keeps the calls in localStorage when the page is left before the bundle took over, added to earlier pages' calls", () => {
    localStorage.setItem('wq_s', JSON.stringify([[['track', 'contact'], 1, 'https://shop.example/a']]));
    paste();
    w.whopq!('init', 'biz_A');
    w.whopq!('track', 'lead');
    dispatchEvent(new Event('pagehide'));
    const kept = JSON.parse(localStorage.getItem('wq_s')!);
    expect(kept.map((c: unknown[]) => c[0])).toEqual([
      ['track', 'contact'],
      ['init', 'biz_A'],
      ['track', 'lead'],
    ]);
    // Emptied: a page restored from the back/forward cache that then loads the bundle replays them from storage only.
    expect(w.whopq!.q).toEqual([]);
  });

  it('keeps nothing for a visitor who revoked consent on an earlier page', () => {
    localStorage.setItem('wq_r', '1');
    paste();
    w.whopq!('track', 'lead', {}, { user: { email: 'ada@example.com' } });
    dispatchEvent(new Event('pagehide'));
    expect(localStorage.getItem('wq_s')).toBeNull();
  });

  it('keeps nothing when the queued init requires consent and none was given, or once the bundle took over', () => {
    paste();
    w.whopq!('init', 'biz_A', { requireConsent: true });
    w.whopq!('track', 'lead');
    dispatchEvent(new Event('pagehide'));
    expect(localStorage.getItem('wq_s')).toBeNull();
    w.whopq!('consent', 'grant');
    const snippetQueue = w.whopq;
    w.whopq = Object.assign(() => {}, { q: [] }) as never;
    dispatchEvent(new Event('pagehide'));
    expect(localStorage.getItem('wq_s')).toBeNull();
    w.whopq = snippetQueue;
    dispatchEvent(new Event('pagehide'));
    expect(JSON.parse(localStorage.getItem('wq_s')!)).toHaveLength(3);
  });
});
