// The paste-in snippet (built to dist/snippet.min.js and dist/snippet.html). It defines
// `whopq` as a queue so calls made before the bundle arrives are kept, loads the bundle async
// from the relay's first-party path, and carries the page's CSP nonce to the script it injects.
// Pasted twice or injected twice by a tag manager, the second copy does nothing.
// With `?whopq_debug=1` in the URL (or localStorage `wq_debug` set) it loads the debug build,
// `p.debug.js` beside `p.js` (the lean bundle carries no log words, to stay within its size
// budget), and falls back to `p.js` when the relay does not serve the debug build.
(function (w, d, src) {
  if (w.whopq) return;
  var q = (w.whopq = function () {
    q.q.push(arguments);
  });
  q.q = [];
  // `.nonce` (not getAttribute): browsers hide the attribute's value from scripts.
  var cur = d.currentScript || d.querySelector('script[nonce]');
  var debug;
  var load = function (url) {
    var s = d.createElement('script');
    s.async = true;
    s.src = url;
    if (cur && cur.nonce) s.nonce = cur.nonce;
    d.head.appendChild(s);
    return s;
  };
  try {
    debug = /[?&]whopq_debug=1/.test(location.search) || localStorage.wq_debug;
  } catch (e) {
    // Storage blocked: the lean build, then.
  }
  load(debug ? src.replace(/\.js$/, '.debug.js') : src).onerror = function () {
    if (debug) load(src), (debug = 0);
  };
})(window, document, '/wq/p.js');
