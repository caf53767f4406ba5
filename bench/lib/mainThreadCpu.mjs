// Reads main-thread CPU time out of a Chrome trace. Performance.getMetrics' durations are wall
// time, so on a loaded machine they also count the moments the OS ran something else; trace events
// carry `tdur`, the thread's CPU time, which does not move with the neighbours' load.

/** Trace categories that carry the renderer's tasks and script events with thread times. */
export const TRACE_CATEGORIES = ['devtools.timeline', 'disabled-by-default-devtools.timeline', 'v8.execute'];

/** Script entry points as DevTools' performance panel groups them. */
const SCRIPT = new Set([
  'EvaluateScript',
  'v8.evaluateModule',
  'FunctionCall',
  'TimerFire',
  'EventDispatch',
  'FireAnimationFrame',
  'FireIdleCallback',
  'RunMicrotasks',
  'XHRReadyStateChange',
  'v8.compile',
  'v8.compileModule',
  'v8.produceCache',
]);

/** Sum of `tdur` over events not nested in an earlier one (a nested event's time is in its parent's). */
function outermost(events) {
  let end = -1;
  const out = [];
  for (const e of events.sort((a, b) => a.ts - b.ts)) {
    if (e.ts < end) continue;
    out.push(e);
    end = e.ts + (e.dur ?? 0);
  }
  return out;
}

/**
 * From a trace (Playwright's `browser.stopTracing()` buffer) and the URL the page committed, the
 * main thread of that page's renderer: total task CPU ms, script CPU ms, and each task longer than
 * `longMs` of CPU as `{ ms, scriptMs }` (how much of it was script: parsing and layout of the page
 * itself make long tasks too when the CPU is throttled).
 */
export function mainThreadCpu(buffer, urlPart, longMs = 50) {
  const { traceEvents } = JSON.parse(buffer.toString('utf8'));
  const commit = traceEvents.find(
    (e) => e.name === 'FrameCommittedInBrowser' && e.args?.data?.url?.includes(urlPart) && e.args.data.processId,
  );
  if (!commit) throw new Error(`trace has no commit of ${urlPart}`);
  const pid = commit.args.data.processId;
  const main = traceEvents.find((e) => e.ph === 'M' && e.name === 'thread_name' && e.pid === pid && e.args?.name === 'CrRendererMain');
  const onMain = traceEvents.filter((e) => e.pid === pid && e.tid === main?.tid && e.ph === 'X' && e.tdur !== undefined);
  const tasks = outermost(onMain.filter((e) => e.name === 'RunTask'));
  const scripts = outermost(onMain.filter((e) => SCRIPT.has(e.name)));
  const sum = (xs) => xs.reduce((s, e) => s + e.tdur, 0) / 1000;
  const longTasks = tasks
    .filter((t) => t.tdur / 1000 > longMs)
    .map((t) => ({ ms: t.tdur / 1000, scriptMs: sum(scripts.filter((e) => e.ts >= t.ts && e.ts < t.ts + t.dur)) }));
  return { taskMs: sum(tasks), scriptMs: sum(scripts), longTasks };
}
