// Entry of dist/whopq.js, the bundle the snippet loads: takes over `window.whopq` and replays the
// calls the snippet queued, in order. Loading it twice (two snippets, a tag manager re-injecting)
// is a no-op, so no event is ever sent twice by the same page.
import { createWhopq } from './lib/whopq';

/** Marks an installed bundle (and says which). */
export const VERSION = '0.1.0';

type Installed = ((...a: unknown[]) => void) & { version?: string; q?: Iterable<unknown>[] };

(() => {
  const w = window as unknown as { whopq?: Installed };
  const prev = w.whopq;
  if (prev && prev.version) return;
  const whopq: Installed = createWhopq() as Installed;
  whopq.version = VERSION;
  w.whopq = whopq;
  for (const args of (prev && prev.q) || []) whopq(...(args as unknown[]));
})();
