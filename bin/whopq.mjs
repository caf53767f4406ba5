#!/usr/bin/env node
// The `whopq` command. The code is the built relay (npm run build writes dist/relay/cli.js).
let cli;
try {
  cli = await import('../dist/relay/cli.js');
} catch (error) {
  if (error?.code !== 'ERR_MODULE_NOT_FOUND' || !String(error.message).includes('cli.js')) throw error;
  console.error('whopq: dist/relay/cli.js is missing; run `npm run build` first.');
  process.exit(1);
}
await cli.main(process.argv.slice(2));
