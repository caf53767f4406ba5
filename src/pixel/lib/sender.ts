// Drains the queue to the relay: fetch keepalive while the page lives, sendBeacon when it is
// hidden or left, retry with backoff, pause offline, and one tab at a time through Web Locks.
import { beacon, body, chunks, post } from './deliver';
import { log, warn } from './log';
import { commit, drop, type Item, itemKey, loadQueue, markBeaconed, QUEUE_KEY, setLast } from './queue';
import { backoff, classify, Verdict } from './retry';

/**
 * Writes the events held in memory to storage (always), then sends what is queued, unless backing
 * off, offline, not allowed or already sending.
 */
export type Sender = () => void;

/** Debug build: what became of each event of a batch, in the relay's words. */
function report(batch: Item[], status: number, text?: string): void {
  let a: { rejected?: { index: number; error?: { message?: string } }[]; dropped?: { index: number; param: string; message?: string }[] } =
    {};
  try {
    a = JSON.parse(text!);
  } catch {}
  const name = (i: number) => (batch[i] ? (batch[i].e.custom_name || batch[i].e.event_name) + ' ' + batch[i].e.event_id : '#' + i);
  if (classify(status) == Verdict.Drop) return warn('relay refused ' + batch.length + ' event(s) with ' + status + '; dropped', a);
  const bad = new Set<number>();
  for (const r of a.rejected || [])
    bad.add(r.index), warn('rejected ' + name(r.index) + ': ' + ((r.error && r.error.message) || JSON.stringify(r)));
  for (const d of a.dropped || []) warn('delivered ' + name(d.index) + ' without ' + d.param + ': ' + d.message);
  batch.forEach((_, i) => bad.has(i) || log('delivered ' + name(i)));
}

/** A sender posting to `url()` whenever `allowed()` (consent granted, at least one company). */
export function createSender(url: () => string, allowed: () => boolean): Sender {
  let attempt = 0;
  let timer: ReturnType<typeof setTimeout> | undefined;
  let busy = false;
  /** A flush asked for while one runs (e.g. `track` right after `init`): run again after it. */
  let again = false;

  const later = (ms: number) => {
    clearTimeout(timer);
    timer = setTimeout(() => ((timer = undefined), flush()), ms);
  };

  async function drain(): Promise<void> {
    /** Events per request: halved while the relay refuses a whole request as too large. */
    let max: number | undefined;
    // At most 20 requests per flush, so a flood of events cannot hold the network forever.
    for (let n = 0; n < 20; n++) {
      const batch = chunks(loadQueue(), max)[0];
      if (!batch || !allowed()) return;
      __DEBUG__ && log('sending ' + batch.length + ' event(s)');
      const res = await post(url(), body(batch));
      const status = res[0];
      const verdict = classify(status);
      if (verdict == Verdict.Retry) {
        const ms = backoff(attempt++, res[1]);
        __DEBUG__ && log((status ? 'relay answered ' + status : 'network error') + ', retrying in ' + Math.round(ms / 1e3) + ' s');
        return later(ms);
      }
      attempt = 0;
      // A whole request refused (400 batch_too_large, 413 too large, or a 400 for what one event
      // did): split it and send the halves, down to single events, so only what cannot be kept is lost.
      if (verdict == Verdict.Drop && batch.length > 1 && (status == 400 || status == 413)) {
        __DEBUG__ && log('relay refused ' + batch.length + ' events with ' + status + '; splitting');
        max = batch.length >> 1;
        continue;
      }
      __DEBUG__ && report(batch, status, res[2]);
      // One removeItem per delivered event: events other tabs added meanwhile are untouched.
      batch.map(itemKey).map(drop);
    }
  }

  function flush(): void {
    const queued = commit();
    if (busy) again = true;
    if (busy || timer || !queued || !allowed() || !navigator.onLine) return;
    busy = true;
    const done = () => {
      busy = false;
      if (again) (again = false), flush();
    };
    const locks = navigator.locks;
    // One tab sends the shared queue at a time; a tab that finds the lock taken looks again
    // shortly, in case the holder finished just before this tab's event landed. Nothing queued,
    // no lock asked for: its first request costs Chromium about as much main thread as a fetch.
    (locks ? locks.request(QUEUE_KEY, { ifAvailable: true }, (lock) => (lock ? drain() : later(3e3))) : drain()).then(done, done);
  }

  function hide(): void {
    if (!allowed()) return;
    // Already-beaconed events are not beaconed again; the next fetch confirms them (same
    // event_id, the relay dedups), which is why they stay stored.
    for (const c of chunks(loadQueue().filter((i) => !i.b))) {
      if (!beacon(url(), c)) break;
      c.map(markBeaconed);
      __DEBUG__ && log('page hidden: beaconed ' + c.length + ' event(s)');
    }
  }

  /**
   * The page is hidden or left (`on`), or visible again. From hiding on no later task may run (a
   * navigation, a submit, a closed tab), so held events are written at once, and so is every
   * event tracked until the page is visible again (a page restored from the back/forward cache
   * turns visible); then what is queued goes by beacon.
   */
  const last = (on: boolean) => {
    setLast(on);
    on && hide();
  };

  // Back online: retry now, from a fresh backoff.
  addEventListener('online', () => later((attempt = 0)));
  // No `unload` listener: it disables the back/forward cache. `pagehide` and `visibilitychange`
  // are the reliable last moments (https://developer.chrome.com/docs/web-platform/page-lifecycle-api).
  addEventListener('pagehide', () => last(true));
  document.addEventListener('visibilitychange', () => last(document.visibilityState == 'hidden'));
  return flush;
}
