// Builds everything into dist/: `node esbuild.config.mjs [pixel|relay|workers]` (no argument: pixel and relay).
// The pixel is size-critical: minified, `_`-prefixed properties mangled (STYLE.md §3), debug-only
// code removed by the compile-time flag __DEBUG__ (STYLE.md §5).
import { build } from 'esbuild';
import { minify } from 'terser';
import { execFileSync } from 'node:child_process';
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { fixDeclarationImports } from './scripts/fixDeclarationImports.mjs';

const pixelShared = {
  bundle: true,
  minify: true,
  target: ['es2020', 'chrome80', 'safari14', 'firefox80'],
  mangleProps: /^_/,
  legalComments: 'none',
  logLevel: 'warning',
  // No "use strict" prologue (tsconfig's strict implies it): the code is strict-clean TypeScript,
  // and the 13 bytes count against the size budget.
  tsconfigRaw: { compilerOptions: { alwaysStrict: false, verbatimModuleSyntax: true } },
};

/** V8's per-file explicit compile hint (https://github.com/WICG/explicit-javascript-compile-hints-file-based). */
const COMPILE_HINT = '//# allFunctionsCalledOnLoad';

export async function buildPixel() {
  rmSync('dist/esm', { recursive: true, force: true });
  mkdirSync('dist', { recursive: true });
  // dist/whopq.js: what the snippet loads. dist/whopq.debug.js: the same with plain-words logging.
  await build({
    ...pixelShared,
    entryPoints: ['src/pixel/global.ts'],
    outfile: 'dist/whopq.js',
    format: 'iife',
    define: { __DEBUG__: 'false' },
  });
  await build({
    ...pixelShared,
    entryPoints: ['src/pixel/global.ts'],
    outfile: 'dist/whopq.debug.js',
    format: 'iife',
    define: { __DEBUG__: 'true' },
  });
  // A second, safe minifier pass over esbuild's output: terser's repeated compress passes find what
  // one pass leaves (about 4% gzip), and both builds get it so the tested code is the shipped code.
  // Then V8's compile hint (Chrome 136+): nearly every function runs as the page loads (init, the
  // page view, the send), so they are compiled with the script on the thread that streams it,
  // not one by one on the page's main thread (about 2 ms less there; bench/mainThread.mjs).
  for (const file of ['dist/whopq.js', 'dist/whopq.debug.js']) {
    const out = await minify(readFileSync(file, 'utf8'), { compress: { passes: 3 }, mangle: true, ecma: 2020 });
    writeFileSync(file, `${COMPILE_HINT}\n${out.code}`);
  }
  // ESM for apps that import the pixel; types from tsc.
  await build({
    ...pixelShared,
    minify: false,
    mangleProps: undefined,
    entryPoints: ['src/pixel/index.ts'],
    outfile: 'dist/esm/index.js',
    format: 'esm',
    define: { __DEBUG__: 'true' },
  });
  execFileSync(
    process.execPath,
    [
      'node_modules/typescript/bin/tsc',
      '-p',
      'tsconfig.pixel.json',
      '--noEmit',
      'false',
      '--declaration',
      '--emitDeclarationOnly',
      '--outDir',
      'dist/esm',
    ],
    { stdio: 'inherit' },
  );
  fixDeclarationImports('dist/esm');
  // The snippet: minified on its own, and as the HTML a seller pastes.
  const snippet = await build({ ...pixelShared, bundle: false, entryPoints: ['src/pixel/snippet.js'], write: false, format: 'esm' });
  const code = snippet.outputFiles[0].text.trim();
  writeFileSync('dist/snippet.min.js', code + '\n');
  writeFileSync('dist/snippet.html', `<script>${code}</script>\n<script async src="/wq/p.js"></script>\n`);
}

export async function buildRelay() {
  rmSync('dist/relay', { recursive: true, force: true });
  // Source maps for local stack traces; the package leaves them out (package.json `files`).
  const shared = {
    bundle: true,
    platform: 'node',
    format: 'esm',
    target: 'node20',
    packages: 'external',
    logLevel: 'warning',
    sourcemap: true,
  };
  // index: the runtime-neutral handler (`whopq/relay`); node: the Node server pieces (`whopq/relay/node`);
  // cli: the `whopq` command; server: `whopq/server`. Shared code goes to chunks next to them (dist/relay/, where cli finds ../whopq.js).
  await build({
    ...shared,
    splitting: true,
    entryPoints: {
      index: 'src/relay/index.ts',
      node: 'src/relay/node/index.ts',
      cli: 'src/relay/node/cli.ts',
      server: 'src/relay/server/index.ts',
    },
    outdir: 'dist/relay',
  });
  execFileSync(
    process.execPath,
    [
      'node_modules/typescript/bin/tsc',
      '-p',
      'tsconfig.relay.json',
      '--noEmit',
      'false',
      '--declaration',
      '--emitDeclarationOnly',
      '--outDir',
      'dist/relay/types',
    ],
    { stdio: 'inherit' },
  );
  fixDeclarationImports('dist/relay/types');
}

const which = process.argv[2];
if (!which || which === 'pixel') await buildPixel();
if (!which || which === 'relay') await buildRelay();
// The Cloudflare Worker (dist/workers/index.js, pixel inlined) only on request: `node esbuild.config.mjs workers`.
if (which === 'workers') await (await import('./scripts/buildWorker.mjs')).buildWorker({ outfile: 'dist/workers/index.js' });
