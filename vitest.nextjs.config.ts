import { defineConfig } from 'vitest/config';

// `npm run test:nextjs`: the Next.js example built and run with the real `next` (test/nextjs-app/).
export default defineConfig({
  test: {
    include: ['test/nextjs-app/*.e2e.ts'],
    testTimeout: 240_000,
    hookTimeout: 600_000,
  },
});
