// Section 1: what each contestant costs on the wire, raw, gzip (level 9) and brotli (quality 11),
// as a CDN would serve it. whopq's figure is the file the snippet loads plus the inline snippet.
import { readFileSync } from 'node:fs';
import { brotliCompressSync, constants, gzipSync } from 'node:zlib';
import { barChart } from './lib/barChart.mjs';
import { num, table, target, times } from './lib/markdown.mjs';
import { PEERS } from './peers.mjs';

const sizes = (buf) => ({
  raw: buf.length,
  gzip: gzipSync(buf, { level: 9 }).length,
  brotli: brotliCompressSync(buf, { params: { [constants.BROTLI_PARAM_QUALITY]: 11 } }).length,
});

/** Runs the section (fast; `quick` changes nothing). */
export async function bundleSize() {
  const rows = [];
  for (const p of PEERS) rows.push({ name: p.name, label: p.label, queued: p.queued, ...sizes(await p.file()) });
  const snippet = sizes(Buffer.from(readFileSync(new URL('../dist/snippet.html', import.meta.url), 'utf8').trim()));
  const whopq = rows[0];
  const queuedPeers = rows.filter((r) => r.queued && r.name !== 'whopq');
  const targets = [target(whopq.gzip <= 3000, 'whopq gzip ≤ 3,000 B', `${num(whopq.gzip)} B`)];
  for (const r of queuedPeers)
    targets.push(target(r.gzip / whopq.gzip >= 5, `whopq ≥ 5× smaller (gzip) than ${r.name}`, `${times(r.gzip / whopq.gzip)}`));
  const markdown = [
    'Bytes on the wire for the script each contestant loads (gzip -9, brotli -q 11). "Queue" marks SDKs that keep events to retry; Plausible keeps none (it is the size class whopq aims at, not a queued peer). ' +
      `whopq's snippet (its two tags as pasted) adds ${num(snippet.raw)} B raw / ${num(snippet.gzip)} B gzip to the page itself. Segment and PostHog fetch further chunks at run time, not counted here.`,
    '',
    table(
      ['contestant', 'queue', 'raw B', 'gzip B', 'brotli B', 'gzip vs whopq'],
      rows.map((r) => [
        r.label,
        r.queued ? 'yes' : 'no',
        num(r.raw),
        num(r.gzip),
        num(r.brotli),
        r === whopq ? '1×' : times(r.gzip / whopq.gzip),
      ]),
    ),
  ].join('\n');
  const chart = barChart({
    title: 'Script size, gzip bytes',
    bars: rows.map((r) => ({ label: r.name, value: r.gzip, highlight: r === whopq })),
    unit: ' B',
    log: true,
  });
  return { title: 'Bundle size', markdown, targets, charts: { 'bundle-size.svg': chart }, data: { rows, snippet } };
}
