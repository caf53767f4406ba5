// Bundles the Cloudflare Workers relay (src/relay/workers/index.ts) into one ES module, as
// Cloudflare and workerd load it: platform neutral (no node:*), the runtime's "workerd"/"worker"
// package conditions, and the pixel bundle inlined at compile time (__WHOPQ_PIXEL__) so the Worker
// serves /wq/p.js itself. Used by `node esbuild.config.mjs workers` and by test/workers.test.ts.
import { build } from 'esbuild';
import { existsSync, readFileSync } from 'node:fs';

/**
 * Builds the Worker. `pixelPath` defaults to dist/whopq.js (built by `node esbuild.config.mjs pixel`);
 * when it is missing the Worker answers 404 for /wq/p.js. Returns the module's code.
 */
export async function buildWorker({ outfile, pixelPath = 'dist/whopq.js' } = {}) {
  const pixel = existsSync(pixelPath) ? readFileSync(pixelPath, 'utf8') : null;
  const result = await build({
    entryPoints: ['src/relay/workers/index.ts'],
    bundle: true,
    platform: 'neutral',
    format: 'esm',
    target: 'es2022',
    mainFields: ['module', 'main'],
    conditions: ['workerd', 'worker', 'browser'],
    define: { __WHOPQ_PIXEL__: JSON.stringify(pixel) },
    legalComments: 'none',
    logLevel: 'warning',
    write: !!outfile,
    outfile,
  });
  return outfile ? readFileSync(outfile, 'utf8') : result.outputFiles[0].text;
}
