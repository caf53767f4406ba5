// @vitest-environment happy-dom
// @vitest-environment-options {"settings":{"disableJavaScriptFileLoading":true,"handleDisabledFileLoadingAsSuccess":true}}
// The built snippet (dist/snippet.min.js, from `node esbuild.config.mjs pixel`) run in a DOM.
import { readFileSync } from 'node:fs';
import { beforeEach, describe, expect, it } from 'vitest';

const code = readFileSync('dist/snippet.min.js', 'utf8');
const w = window as unknown as { whopq?: ((...a: unknown[]) => void) & { q: IArguments[] } };
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
  it('queues calls in order and loads the bundle async from /wq/p.js', () => {
    paste();
    w.whopq!('init', 'biz_A');
    w.whopq!('track', 'lead');
    expect(w.whopq!.q.map((a) => [...a])).toEqual([['init', 'biz_A'], ['track', 'lead']]);
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

  it('loads the debug build when the URL asks for it', () => {
    history.replaceState(null, '', '/?whopq_debug=1');
    paste();
    expect(injected()[0].getAttribute('src')).toBe('/wq/p.debug.js');
  });
});
