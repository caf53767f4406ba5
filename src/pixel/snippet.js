// The paste-in snippet (built to dist/snippet.min.js and dist/snippet.html). It defines
// `whopq` as a queue so calls made before the bundle arrives are kept, each as
// `[arguments, time, page]`, loads the bundle async from the relay's first-party path, and
// carries the page's CSP nonce to the script it injects. Pasted twice or injected twice by a tag
// manager, the second copy does nothing. (The bundle itself switches to the debug build when asked:
// global.ts.)
// A page left before the bundle took over (a submit and redirect on a slow network, a relay that
// cannot serve p.js) keeps its calls in localStorage `wq_s` (added to what earlier pages kept) for
// the next page's bundle, which replays them once; not when an init requires consent and no grant
// came, nor for a visitor who revoked consent on an earlier page (`wq_r`).
(function (w, d, src, k) {
  if (w.whopq) return;
  var q = (w.whopq = function () {
    q.q.push([[].slice.call(arguments), Date.now(), location.href]);
  });
  q.q = [];
  // `.nonce` (not getAttribute): browsers hide the attribute's value from scripts.
  var cur = d.currentScript || d.querySelector('script[nonce]');
  var s = d.createElement('script');
  s.async = true;
  s.src = src;
  if (cur && cur.nonce) s.nonce = cur.nonce;
  d.head.appendChild(s);
  addEventListener('pagehide', function () {
    try {
      var j = JSON.stringify(q.q);
      // Emptied once kept: a page restored from the back/forward cache that then loads the
      // bundle replays the calls from storage, not twice.
      if (w.whopq == q && q.q[0] && !localStorage.wq_r && (!/requireConsent":true/.test(j) || /"consent","grant"/.test(j)))
        (localStorage[k] = JSON.stringify(JSON.parse(localStorage[k] || '[]').concat(q.q))), (q.q = []);
    } catch (e) {}
  });
})(window, document, '/wq/p.js', 'wq_s');
