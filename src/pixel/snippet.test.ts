// @vitest-environment happy-dom
// @vitest-environment-options {"settings":{"disableJavaScriptFileLoading":true,"handleDisabledFileLoadingAsSuccess":true}}
// The built snippet (dist/snippet.min.js, from `node esbuild.config.mjs pixel`) run in a DOM.
import { readFileSync } from 'node:fs';
import { beforeEach, describe, expect, it } from 'vitest';

const code = readFileSync('dist/snippet.min.js', 'utf8');
const html = readFileSync('dist/snippet.html', 'utf8');
const w = window as unknown as { whopq?: ((...a: unknown[]) => void) & { q: [unknown[], number, string][] } };

/**
 * Runs the snippet's inline script (global eval: happy-dom does not run inline scripts here). The
 * bundle's tag and the CSP nonce need a real browser: e2e/pixel.spec.ts covers them in Chromium.
 */
const paste = () => (0, eval)(code);

beforeEach(() => {
  delete w.whopq;
  for (const s of document.querySelectorAll('script')) s.remove();
  localStorage.clear();
  history.replaceState(null, '', '/');
});

describe('snippet', () => {
  it('is the queue and, after it, a tag loading the bundle async from /wq/p.js (found by the preload scanner)', () => {
    expect(html).toBe(`<script>${code.trim()}</script>\n<script async src="/wq/p.js"></script>\n`);
  });

  it('queues calls in order, each with its time and page, and inserts no script of its own', () => {
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
    expect(document.querySelectorAll('script')).toHaveLength(0);
  });

  it('does nothing when pasted or injected twice', () => {
    paste();
    const first = w.whopq;
    first!('init', 'biz_A');
    paste();
    expect(w.whopq).toBe(first);
    expect(w.whopq!.q).toHaveLength(1);
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
