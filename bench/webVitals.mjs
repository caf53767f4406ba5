// Section 2b: Core Web Vitals of a realistic landing page (demo/index.html: hero, lead form,
// booking widget, stylesheet) with whopq's snippet pasted as the demo does, and without it (a
// no-op `whopq` stands in so the page's own calls still run). web-vitals (Google's library) reports
// LCP, CLS and FCP with reportAllChanges; the figure read after the page is loaded and idle.
import { readFileSync } from 'node:fs';
import { CONTEXT_OPTIONS, launchBrowser } from './lib/launchBrowser.mjs';
import { num, table } from './lib/markdown.mjs';
import { median } from './lib/stats.mjs';
import { startBenchSite } from './lib/startBenchSite.mjs';

const demo = () => readFileSync(new URL('../demo/index.html', import.meta.url), 'utf8');
const snippet = () => readFileSync(new URL('../dist/snippet.html', import.meta.url), 'utf8').trim();
const VITALS = `${readFileSync(new URL('../node_modules/web-vitals/dist/web-vitals.iife.js', import.meta.url), 'utf8')}
;window.__vitals={};['onLCP','onCLS','onFCP'].forEach(function(f){webVitals[f](function(m){window.__vitals[m.name]=m.value},{reportAllChanges:true})});`;

async function trial(browser, site, path, rate) {
  const context = await browser.newContext(CONTEXT_OPTIONS);
  try {
    await context.addInitScript(VITALS);
    const page = await context.newPage();
    const cdp = await context.newCDPSession(page);
    if (rate > 1) await cdp.send('Emulation.setCPUThrottlingRate', { rate });
    await page.goto(`${site.origin}${path}`, { waitUntil: 'load' });
    await page.waitForLoadState('networkidle', { timeout: 5_000 }).catch(() => {});
    return await page.evaluate(() => window.__vitals);
  } finally {
    await context.close();
  }
}

/** Runs the section; `quick` uses 2 trials per variant instead of 5. */
export async function webVitals({ quick = false } = {}) {
  const trials = quick ? 2 : 5;
  const site = await startBenchSite({
    pages: {
      '/landing/with': () => demo().replace('<!--whopq:snippet-->', snippet()),
      '/landing/without': () => demo().replace('<!--whopq:snippet-->', '<script>window.whopq=function(){}</script>'),
    },
  });
  const browser = await launchBrowser();
  const runs = {};
  try {
    for (const rate of [1, 4]) {
      for (let i = 0; i < trials; i++) {
        for (const variant of ['without', 'with'])
          (runs[`${variant}@${rate}`] ??= []).push(await trial(browser, site, `/landing/${variant}`, rate));
      }
    }
  } finally {
    await browser.close();
    await site.close();
  }
  const rows = [];
  const med = (key, metric) => median(runs[key].map((v) => v?.[metric]));
  for (const rate of [1, 4]) {
    for (const variant of ['without', 'with']) {
      const key = `${variant}@${rate}`;
      rows.push([
        `${variant} whopq${rate > 1 ? ` (${rate}× CPU)` : ''}`,
        num(med(key, 'FCP'), 0),
        num(med(key, 'LCP'), 0),
        num(med(key, 'CLS'), 3),
      ]);
    }
  }
  const dLcp = med('with@1', 'LCP') - med('without@1', 'LCP');
  const dCls = med('with@1', 'CLS') - med('without@1', 'CLS');
  const markdown = [
    `demo/index.html served locally, median of ${trials} fresh contexts per row, variants interleaved. "with": the snippet pasted in <head> and \`whopq('init', …)\` as the demo ships; "without": the same page with a no-op \`whopq\`.`,
    '',
    table(['page', 'FCP ms', 'LCP ms', 'CLS'], rows),
    '',
    `With minus without, 1× CPU: LCP ${num(dLcp, 0)} ms, CLS ${num(dCls, 3)}. The snippet loads the bundle async and draws nothing; differences of this size between two medians of ${trials} are within this machine's run-to-run noise unless they repeat across runs.`,
  ].join('\n');
  return {
    title: 'Web vitals on a landing page',
    markdown,
    targets: [],
    data: runs,
  };
}
