// The fake Whop API (test/fakeWhop.ts) in its own process, answering every valid conversion after
// LATENCY_MS (the `slow` mode). Prints its URL; a line "report" on stdin prints
// {"conversions":N,"duplicates":N} as JSON.
import { rmSync } from 'node:fs';
import { createInterface } from 'node:readline';
import { bundleSources } from '../lib/bundleSources.mjs';

const { url, dir } = await bundleSources("export { startFakeWhop } from './test/fakeWhop.ts';");
const { startFakeWhop } = await import(url);
rmSync(dir, { recursive: true, force: true });
const whop = await startFakeWhop({ apiKey: process.env.API_KEY, slowMs: Number(process.env.LATENCY_MS ?? 20) });
whop.setMode('slow');
createInterface({ input: process.stdin }).on('line', (line) => {
  if (line.trim() === 'report')
    console.log(`REPORT ${JSON.stringify({ conversions: whop.conversions.length, duplicates: whop.duplicates().length })}`);
});
process.on('SIGTERM', () => whop.close().then(() => process.exit(0)));
console.log(`listening on ${whop.url}`);
