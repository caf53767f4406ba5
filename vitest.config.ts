import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vitest/config';

// Unit tests sit next to the code (`src/**/*.test.ts`); integration tests that start real servers
// live in `test/`. Browser behaviour (pagehide, beacons, bfcache) is tested in e2e/ with Playwright.
export default defineConfig({
  define: { __DEBUG__: 'true' },
  // examples/nextjs is a package of its own (it installs whopq from npm): its imports of whopq/relay
  // get this checkout's build, as the package's own self-reference did before.
  resolve: { alias: [{ find: /^whopq\/relay$/, replacement: fileURLToPath(new URL('./dist/relay/index.js', import.meta.url)) }] },
  test: {
    // Chromium found or installed; one real Postgres server for the run (each test takes a schema of its own).
    globalSetup: ['scripts/vitestGlobalSetup.mjs', 'test/postgres/globalSetup.ts'],
    include: ['src/**/*.test.ts', 'test/**/*.test.ts', 'scripts/**/*.test.ts'],
    testTimeout: 20_000,
    hookTimeout: 30_000,
  },
});
