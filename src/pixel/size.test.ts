// The size budgets (README, issue 2) as a failing test. `npm test` builds dist/ first; run
// `node esbuild.config.mjs pixel` before running this file alone.
import { readFileSync } from 'node:fs';
import { gzipSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';

const gzip = (path: string) => gzipSync(readFileSync(path), { level: 9 }).length;

describe('pixel size budgets', () => {
  it('dist/whopq.js is at most 3,480 bytes gzipped', () => {
    expect(gzip('dist/whopq.js')).toBeLessThanOrEqual(3480);
  });

  it("starts with V8's compile hint, so Chromium compiles its functions off the page's main thread", () => {
    for (const file of ['dist/whopq.js', 'dist/whopq.debug.js'])
      expect(readFileSync(file, 'utf8').split('\n')[0]).toBe('//# allFunctionsCalledOnLoad');
  });

  it('the snippet is at most 600 bytes minified', () => {
    expect(readFileSync('dist/snippet.min.js', 'utf8').trim().length).toBeLessThanOrEqual(600);
  });

  it('the lean bundle carries no log words (they live in dist/whopq.debug.js)', () => {
    const lean = readFileSync('dist/whopq.js', 'utf8');
    expect(lean).not.toContain('call dropped');
    expect(readFileSync('dist/whopq.debug.js', 'utf8')).toContain('call dropped');
  });
});
