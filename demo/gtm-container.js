// A stand-in for a Google Tag Manager container (gtm.js), doing what GTM does with a Custom HTML
// tag: parse the tag's HTML, append it to <body>, and re-create each <script> so it runs (scripts
// set through innerHTML never execute). Tags fire after `load`, like GTM's "Window Loaded" trigger.
(function () {
  var fired = 0;
  function log(text) {
    var li = document.createElement('li');
    li.textContent = new Date().toLocaleTimeString() + ' — ' + text;
    document.getElementById('tag-log').appendChild(li);
  }
  function fire(id) {
    var holder = document.createElement('div');
    holder.appendChild(document.getElementById(id).content.cloneNode(true));
    holder.querySelectorAll('script').forEach(function (old) {
      var s = document.createElement('script');
      for (var i = 0; i < old.attributes.length; i++) s.setAttribute(old.attributes[i].name, old.attributes[i].value);
      s.text = old.text;
      old.replaceWith(s);
    });
    document.body.appendChild(holder);
    fired++;
    log('fired ' + id + (window.whopq && window.whopq.version ? ' (whopq ' + window.whopq.version + ' running)' : ''));
  }
  window.gtmFired = function () {
    return fired;
  };
  function onLoad() {
    var times = Number(new URLSearchParams(location.search).get('tags')) || 1;
    for (var i = 0; i < times; i++) fire('tag-whopq-base');
  }
  if (document.readyState === 'complete') onLoad();
  else window.addEventListener('load', onLoad);
  document.addEventListener('click', function (e) {
    if (e.target && e.target.id === 'contact') {
      fire('tag-whopq-contact');
      document.getElementById('sent').classList.add('show');
    }
  });
})();
