// Bundles TypeScript sources of the repo (packages stay external) into one .mjs in a temp folder,
// so plain Node can import what is not a public export (the forwarder, the fake Whop API).
import { build } from 'esbuild';
import { mkdtempSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';

const repo = new URL('../..', import.meta.url).pathname;

/**
 * `contents` is an ES module whose imports are relative to the repo root. Returns the bundle's
 * file URL and its folder (remove it when done).
 */
export async function bundleSources(contents) {
  const dir = mkdtempSync(join(tmpdir(), 'whopq-bench-src-'));
  const outfile = join(dir, 'entry.mjs');
  await build({
    stdin: { contents, resolveDir: repo, loader: 'ts' },
    bundle: true,
    platform: 'node',
    format: 'esm',
    packages: 'external',
    outfile,
    logLevel: 'warning',
    // test/fakeWhop.ts finds the vendored spec relative to its own URL.
    define: { 'import.meta.url': JSON.stringify(pathToFileURL(join(repo, 'test/fakeWhop.ts')).href) },
  });
  // Bare specifiers resolve from the bundle's folder.
  symlinkSync(join(repo, 'node_modules'), join(dir, 'node_modules'));
  return { url: pathToFileURL(outfile).href, dir };
}
