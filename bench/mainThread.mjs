// Section 2a: main-thread cost of each contestant, by Chrome's own accounting.
// Each trial is a fresh browser context loading a page with the contestant's install markup, which
// initialises it and tracks one event. Once that event reached the bench site and the network went
// quiet, Performance.getMetrics gives the renderer's cumulative ScriptDuration and TaskDuration;
// the same page with nothing on it is the baseline subtracted. Contestants are interleaved round by
// round so a noisy neighbour on the machine hits all of them alike. Long tasks come from a
// PerformanceObserver installed before any page script runs.
import { barChart } from './lib/barChart.mjs';
import { CONTEXT_OPTIONS, launchBrowser } from './lib/launchBrowser.mjs';
import { num, table, target, times } from './lib/markdown.mjs';
import { median } from './lib/stats.mjs';
import { startBenchSite } from './lib/startBenchSite.mjs';
import { PEERS } from './peers.mjs';

const LONG_TASKS = `window.__wqLong=[];try{new PerformanceObserver(function(l){l.getEntries().forEach(function(e){window.__wqLong.push(e.duration)})}).observe({type:'longtask',buffered:true})}catch(e){}`;

async function trial(browser, site, name, marker, rate) {
  const context = await browser.newContext(CONTEXT_OPTIONS);
  try {
    await context.addInitScript(LONG_TASKS);
    const page = await context.newPage();
    const cdp = await context.newCDPSession(page);
    await cdp.send('Performance.enable');
    if (rate > 1) await cdp.send('Emulation.setCPUThrottlingRate', { rate });
    const from = site.hits.length;
    await page.goto(`${site.origin}/page/${name}`, { waitUntil: 'load' });
    const arrived = marker ? await site.waitFor((h) => h.slice(from).some((x) => (x.body + x.query).includes(marker)), 10_000) : true;
    await page.waitForLoadState('networkidle', { timeout: 5_000 }).catch(() => {});
    const { metrics } = await cdp.send('Performance.getMetrics');
    const m = Object.fromEntries(metrics.map((x) => [x.name, x.value]));
    const longTasks = await page.evaluate(() => window.__wqLong.slice());
    return { script: m.ScriptDuration * 1000, task: m.TaskDuration * 1000, heap: m.JSHeapUsedSize, longTasks, arrived };
  } finally {
    await context.close();
  }
}

async function pass(browser, site, rate, trials) {
  const names = ['empty', ...PEERS.map((p) => p.name)];
  const runs = Object.fromEntries(names.map((n) => [n, []]));
  for (let i = 0; i < trials; i++) {
    for (const name of names) {
      const peer = PEERS.find((p) => p.name === name);
      runs[name].push(await trial(browser, site, name, peer?.marker, rate));
    }
  }
  const longTasks = (r) => ({
    longTasksMedian: median(r.map((x) => x.longTasks.length)),
    longTasksMax: Math.max(...r.map((x) => x.longTasks.length)),
    longestMs: Math.max(0, ...r.flatMap((x) => x.longTasks)),
  });
  const base = { script: median(runs.empty.map((r) => r.script)), task: median(runs.empty.map((r) => r.task)), heap: median(runs.empty.map((r) => r.heap)) };
  const empty = { name: 'empty page (baseline)', task: base.task, script: base.script, heapKB: base.heap / 1024, ...longTasks(runs.empty), delivered: 0, trials: trials, absolute: true };
  return [empty, ...PEERS.map((p) => {
    const r = runs[p.name];
    return {
      name: p.name,
      task: median(r.map((x) => x.task)) - base.task,
      script: median(r.map((x) => x.script)) - base.script,
      heapKB: (median(r.map((x) => x.heap)) - base.heap) / 1024,
      ...longTasks(r),
      delivered: r.filter((x) => x.arrived).length,
      trials: r.length,
    };
  })];
}

/** Runs the section; `quick` uses 3 trials instead of 9. */
export async function mainThread({ quick = false } = {}) {
  const trials = quick ? 3 : 9;
  const site = await startBenchSite();
  const browser = await launchBrowser();
  const passes = {};
  try {
    for (const rate of [1, 4]) passes[rate] = await pass(browser, site, rate, trials);
  } finally {
    await browser.close();
    await site.close();
  }

  const rows = [];
  for (const rate of [1, 4]) {
    for (const r of passes[rate]) {
      rows.push([
        `${r.name}${rate > 1 ? ` (${rate}× CPU)` : ''}`,
        num(r.task, 1),
        num(r.script, 1),
        num(r.heapKB, 0),
        `${r.longTasksMedian} / ${r.longTasksMax}`,
        r.longestMs ? num(r.longestMs, 0) : '–',
        r.absolute ? '(absolute)' : `${r.delivered}/${r.trials}`,
      ]);
    }
  }
  const at = (rate, name) => passes[rate].find((r) => r.name === name);
  // A figure at or below zero is within the noise of the empty page; ratios use a 0.1 ms floor.
  const floor = (v) => Math.max(v, 0.1);
  const targets = [];
  for (const rate of [1, 4]) {
    const w = at(rate, 'whopq');
    for (const peer of ['segment', 'posthog']) {
      const ratio = floor(at(rate, peer).task) / floor(w.task);
      targets.push(target(ratio >= 5, `main-thread median ≥ 5× below ${peer}${rate > 1 ? ` at ${rate}× CPU` : ''}`, `${num(w.task, 1)} ms vs ${num(at(rate, peer).task, 1)} ms, ${times(ratio)}`));
    }
  }
  // Long tasks cannot be pinned on one script, so the page with nothing on it is the reference:
  // at 4× CPU even parsing an empty page can take 50 ms.
  const w1 = at(1, 'whopq');
  const w4 = at(4, 'whopq');
  const e4 = passes[4][0];
  targets.push(target(w1.longTasksMax === 0, 'whopq causes no long task at 1× CPU (any trial)', `${w1.longTasksMax} in the worst trial, longest ${num(w1.longestMs, 0)} ms`));
  targets.push(
    target(w4.longTasksMedian <= e4.longTasksMedian, 'whopq adds no long task at 4× CPU (median count vs the empty page)', `${w4.longTasksMedian} vs ${e4.longTasksMedian} on the empty page; longest ${num(w4.longestMs, 0)} ms`),
  );

  const markdown = [
    `Median of ${trials} fresh browser contexts per row, minus the median of the empty page (its own row shows absolute figures). ` +
      'Main thread = Chrome\'s TaskDuration (all main-thread tasks: parse, compile, run, style, layout); script = ScriptDuration. ' +
      'Each page loads the contestant the way its vendor documents, initialises it and tracks one event; the clock stops once that event reached the local collector and the network was idle for 500 ms. ' +
      'Heap = extra JS heap in use. Long tasks = PerformanceObserver `longtask` entries (median / worst trial).',
    '',
    table(['contestant', 'main thread ms', 'script ms', 'heap KB', 'long tasks', 'longest ms', 'event arrived'], rows),
  ].join('\n');
  const chart = barChart({
    title: 'Main-thread time added, ms (median, 4× CPU throttling)',
    bars: passes[4].slice(1).map((r) => ({ label: r.name, value: Math.max(0, Math.round(r.task * 10) / 10), highlight: r.name === 'whopq' })),
    unit: ' ms',
  });
  return { title: 'Main-thread cost (headless Chromium)', markdown, targets, charts: { 'main-thread.svg': chart }, data: passes };
}
