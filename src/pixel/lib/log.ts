// Debug output in plain words. Off unless the page asks for it (`?whopq_debug=1`,
// `whopq('debug', true)` or init option `debug`), so production consoles stay quiet.

let on = false;

/** Turns debug output on or off. */
export function setDebug(enabled: boolean): void {
  on = enabled;
}

/** True while debug output is on. */
export function isDebug(): boolean {
  return on;
}

/** Logs one step (capture, enqueue, send, outcome) when debug is on. */
export function log(message: string, detail?: unknown): void {
  if (__DEBUG__ && on) console.log('[whopq] ' + message, detail ?? '');
}

/** Warns once about a bad call (which is then dropped) when debug is on. */
export function warn(message: string, detail?: unknown): void {
  if (__DEBUG__ && on) console.warn('[whopq] ' + message, detail ?? '');
}
