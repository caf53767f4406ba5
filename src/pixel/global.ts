// Entry of dist/whopq.js, the bundle the snippet loads: takes over `window.whopq` and replays the
// calls earlier pages' snippets kept (those pages were left before the bundle arrived), then the
// calls this page's snippet queued, in order, each with its own time and page. Loading it twice
// (two snippets, a tag manager re-injecting) is a no-op, so no event is ever sent twice by the
// same page. With `?whopq_debug=1` in the URL or localStorage `wq_debug` set, the lean build loads
// the debug build (`p.debug.js` beside it) instead, and takes over itself if that fails to load.
import { store } from './lib/storage';
import { createWhopq, type Whopq } from './lib/whopq';

/** Marks an installed bundle (and says which). */
export const VERSION = '0.1.0';

/** Where the snippet keeps the calls of pages left before the bundle took over (snippet.js). */
export const KEPT_KEY = 'wq_s';

/** A call as the snippet queues it: the arguments, its time, its page (an older snippet queued `arguments` only). */
type Call = [unknown[], number?, string?];

type Installed = Whopq & { version?: string; q?: (Call | IArguments)[] };

(() => {
  const w = window as unknown as { whopq?: Installed };
  const prev = w.whopq;
  if (prev && prev.version) return;
  const q = (prev && prev.q) || [];
  const me = document.currentScript as HTMLScriptElement | null;
  const install = () => {
    const whopq: Installed = createWhopq();
    whopq.version = VERSION;
    w.whopq = whopq;
    let kept: Call[] = [];
    // Read and removed at once: replayed by this page only.
    try {
      kept = JSON.parse(store(KEPT_KEY) || '[]');
    } catch {}
    store(KEPT_KEY, null);
    for (const c of [...kept, ...q]) whopq._r!(...(Array.isArray(c) ? c : ([[...c]] as Call)));
  };
  if (__DEBUG__ || !me || !(/whopq_debug=1/.test(location.search) || store('wq_debug'))) return install();
  document.head.appendChild(
    Object.assign(document.createElement('script'), {
      src: me.src.replace(/\.js($|\?)/, '.debug.js$1'),
      nonce: me.nonce,
      onerror: install,
    }),
  );
})();
