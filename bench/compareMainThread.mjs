// The pixel's main-thread cost against an earlier revision's, in the same run:
//
//   npm run build && node bench/compareMainThread.mjs <git revision> [trials]
//
// Builds that revision's snippet and bundle in a temporary worktree, then loads three pages in
// turn (that revision, this tree's dist/, Plausible) with bench/mainThread.mjs's trial, on an IP
// origin and on a host name. Prints each one's median CPU minus the empty page's.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { launchBrowser } from './lib/launchBrowser.mjs';
import { num, table } from './lib/markdown.mjs';
import { median } from './lib/stats.mjs';
import { startBenchSite } from './lib/startBenchSite.mjs';
import { trial } from './mainThread.mjs';
import { benchPage } from './peers.mjs';

const [rev, trialsArg] = process.argv.slice(2);
if (!rev) {
  console.error('usage: node bench/compareMainThread.mjs <git revision> [trials, default 9]');
  process.exit(2);
}
const trials = Number(trialsArg) || 9;
const repo = new URL('..', import.meta.url).pathname;

/** The revision's dist/whopq.js and dist/snippet.html, built in a worktree that is removed after. */
function buildRevision() {
  const dir = join(mkdtempSync(join(tmpdir(), 'whopq-rev-')), 'tree');
  execFileSync('git', ['worktree', 'add', '--detach', '-q', dir, rev], { cwd: repo });
  try {
    symlinkSync(join(repo, 'node_modules'), join(dir, 'node_modules'));
    execFileSync(process.execPath, ['esbuild.config.mjs', 'pixel'], { cwd: dir, stdio: 'ignore' });
    return { bundle: readFileSync(join(dir, 'dist/whopq.js'), 'utf8'), snippet: readFileSync(join(dir, 'dist/snippet.html'), 'utf8') };
  } finally {
    execFileSync('git', ['worktree', 'remove', '--force', dir], { cwd: repo });
    rmSync(dir, { recursive: true, force: true });
  }
}

const before = buildRevision();
const now = { bundle: readFileSync(join(repo, 'dist/whopq.js'), 'utf8'), snippet: readFileSync(join(repo, 'dist/snippet.html'), 'utf8') };
const calls = "<script>whopq('init','biz_bench',{relay:'/wq'});whopq('track','lead');</script>";
const pages = {};
for (const [name, build] of [
  ['before', before],
  ['now', now],
]) {
  pages[`/v/${name}.js`] = build.bundle;
  pages[`/page/${name}`] = benchPage(build.snippet.trim().replace('/wq/p.js', `/v/${name}.js`) + calls);
}
const NAMES = ['empty', 'before', 'now', 'plausible'];
const rows = [];
for (const host of ['127.0.0.1', 'www.bench.test']) {
  const site = await startBenchSite({ pages, host });
  const browser = await launchBrowser();
  const runs = Object.fromEntries(NAMES.map((n) => [n, []]));
  try {
    for (let i = 0; i < trials; i++)
      for (const name of NAMES) runs[name].push(await trial(browser, site, name, name === 'empty' ? undefined : '"lead"'));
  } finally {
    await browser.close();
    await site.close();
  }
  const med = (name, key) => median(runs[name].map((x) => x[key])) - median(runs.empty.map((x) => x[key]));
  const pl = { cpu: med('plausible', 'cpu'), script: med('plausible', 'scriptCpu') };
  for (const name of ['before', 'now', 'plausible']) {
    const cpu = med(name, 'cpu');
    const script = med(name, 'scriptCpu');
    const label = name === 'before' ? `whopq at ${rev}` : name === 'now' ? 'whopq (this tree)' : 'plausible';
    rows.push([host, label, num(cpu, 1), num(script, 1), `${num(cpu / pl.cpu, 2)}×`, `${num(script / pl.script, 2)}×`]);
  }
}
console.log(`Median of ${trials} fresh contexts per row, minus the empty page; ratios to Plausible on the same origin.\n`);
console.log(table(['origin', 'page', 'main-thread CPU ms', 'script CPU ms', 'CPU vs Plausible', 'script vs Plausible'], rows));
