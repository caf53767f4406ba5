/** Compile-time flag (esbuild `define`): true in dist/whopq.debug.js, the ESM build and tests. */
declare const __DEBUG__: boolean;
