// A minimal single-page app: history routing, no framework. After every route change (link click
// or back/forward) it calls whopq('page') so the pixel re-reads the URL's ad parameters.
(function () {
  var views = {
    '/spa': function () {
      return (
        '<div><span class="eyebrow">Members app</span><h1>Welcome back.</h1><p class="lede">Your cohort starts Monday. ' +
        'Meanwhile, our spring offer is live.</p><div class="row"><a class="btn primary" data-route ' +
        'href="/spa/pricing?utm_source=newsletter&amp;utm_medium=email&amp;utm_campaign=spring">See the spring offer</a></div></div>'
      );
    },
    '/spa/pricing': function () {
      return (
        '<div><span class="eyebrow">Pricing</span><h1>One plan, everything in.</h1><p class="lede">$49/month or $399/year. ' +
        'Cancel anytime.</p><div class="row"><a class="btn primary" data-route href="/spa/apply">Apply for the cohort</a></div></div>'
      );
    },
    '/spa/apply': function () {
      return (
        '<div class="card" style="max-width:460px"><h2>Apply for the cohort</h2><form id="apply">' +
        '<label for="a-email">Email</label><input id="a-email" name="email" type="email" required placeholder="ada@example.com">' +
        '<label for="a-goal">What do you want to launch?</label><input id="a-goal" name="goal" placeholder="A trading community">' +
        '<button class="btn primary" type="submit">Send application</button></form>' +
        '<div class="notice" id="applied" role="status">Application received. We reply within a day.</div></div>'
      );
    },
  };

  function render() {
    var path = location.pathname.replace(/\/+$/, '') || '/spa';
    var view = views[path] || views['/spa'];
    document.getElementById('view').innerHTML = view();
    document.querySelectorAll('nav a[data-route]').forEach(function (a) {
      a.classList.toggle('active', a.pathname === path);
    });
    document.title = 'Northstar members app — ' + (path.split('/')[2] || 'home');
  }

  function go(href) {
    history.pushState(null, '', href);
    render();
    whopq('page');
  }

  document.addEventListener('click', function (e) {
    var a = e.target.closest && e.target.closest('a[data-route]');
    if (!a || e.metaKey || e.ctrlKey || e.shiftKey || a.origin !== location.origin) return;
    e.preventDefault();
    go(a.getAttribute('href'));
  });

  document.addEventListener('submit', function (e) {
    if (e.target.id !== 'apply') return;
    e.preventDefault();
    var f = new FormData(e.target);
    whopq('track', 'submit_application', {}, { user: { email: f.get('email') } });
    e.target.hidden = true;
    document.getElementById('applied').classList.add('show');
  });

  window.addEventListener('popstate', function () {
    render();
    whopq('page');
  });

  window.spaGo = go;
  render();
})();
