// The paste-in snippet (built to dist/snippet.min.js, and with the bundle's tag to
// dist/snippet.html). It defines `whopq` as a queue so calls made before the bundle arrives are
// kept, each as `[arguments, time, page]`; the `<script async src="/wq/p.js">` after it loads the
// bundle from the relay's first-party path. A tag in the markup rather than one this script creates:
// the browser's preload scanner starts the download while the page is still being parsed, and no
// page script pays for inserting a script element (about 2 ms of Chromium's main thread, more than
// the rest of the snippet). Give both tags the page's CSP nonce. Pasted twice or injected twice by
// a tag manager, the second copy does nothing. (The bundle switches to the debug build when asked:
// global.ts.)
// A page left before the bundle took over (a submit and redirect on a slow network, a relay that
// cannot serve p.js) keeps its calls in localStorage `wq_s` (added to what earlier pages kept) for
// the next page's bundle, which replays them once; not when an init requires consent and no grant
// came, nor for a visitor who revoked consent on an earlier page (`wq_r`).
(function (w, k) {
  if (w.whopq) return;
  var q = (w.whopq = function () {
    q.q.push([[].slice.call(arguments), Date.now(), location.href]);
  });
  q.q = [];
  addEventListener('pagehide', function () {
    try {
      var j = JSON.stringify(q.q);
      // Emptied once kept: a page restored from the back/forward cache that then loads the
      // bundle replays the calls from storage, not twice.
      if (w.whopq == q && q.q[0] && !localStorage.wq_r && (!/requireConsent":true/.test(j) || /"consent","grant"/.test(j)))
        (localStorage[k] = JSON.stringify(JSON.parse(localStorage[k] || '[]').concat(q.q))), (q.q = []);
    } catch (e) {}
  });
})(window, 'wq_s');
