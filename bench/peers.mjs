// The contestants: whopq and the trackers people install instead, each as the file we weigh and as
// the <head> markup a site would carry (the vendor's own loader where it has one), initialised and
// tracking one event against the bench site's local endpoints.
import { build } from 'esbuild';
import { readFileSync } from 'node:fs';

const nm = (p) => new URL(`../node_modules/${p}`, import.meta.url);
const snippet = () => readFileSync(new URL('../dist/snippet.html', import.meta.url), 'utf8').trim();

/** Plausible ships ESM only; a site owner would bundle it, so we bundle it the same way (IIFE, minified). */
export async function buildPlausible() {
  const out = await build({
    stdin: {
      contents: "import { init, track } from '@plausible-analytics/tracker'; window.plausibleTracker = { init, track };",
      resolveDir: process.cwd(),
    },
    bundle: true,
    minify: true,
    format: 'iife',
    write: false,
    logLevel: 'warning',
  });
  return out.outputFiles[0].text;
}

/**
 * Every contestant. `file()` returns the bytes weighed in the bundle table; `head(origin)` the
 * markup of its install; `marker` is what its event carries so the site can tell it arrived;
 * `queued` says whether it keeps a retry queue (the class whopq's size is compared against).
 */
export const PEERS = [
  {
    name: 'whopq',
    label: 'whopq (dist/whopq.js)',
    queued: true,
    file: () => readFileSync(new URL('../dist/whopq.js', import.meta.url)),
    head: () => `${snippet()}<script>whopq('init','biz_bench',{relay:'/wq'});whopq('track','lead');</script>`,
    marker: '"lead"',
  },
  {
    name: 'plausible',
    label: '@plausible-analytics/tracker (IIFE)',
    queued: false,
    file: async () => Buffer.from(await buildPlausible()),
    head: () =>
      `<script src="/peers/plausible.js"></script><script>plausibleTracker.init({domain:'bench.test',endpoint:'/api/event',captureOnLocalhost:true,logging:false});plausibleTracker.track('lead',{});</script>`,
    marker: '"lead"',
  },
  {
    name: 'snowplow',
    label: '@snowplow/browser-tracker (UMD min)',
    queued: true,
    file: () => readFileSync(nm('@snowplow/browser-tracker/dist/index.umd.min.js')),
    head: (origin) =>
      `<script src="/peers/snowplow.js"></script><script>var sp=snowplowBrowserTracking;sp.newTracker('sp','${origin}/sp',{appId:'bench',eventMethod:'post'});sp.trackStructEvent({category:'conversion',action:'lead'});</script>`,
    marker: 'lead',
  },
  {
    name: 'segment',
    label: '@segment/analytics-next (UMD standalone)',
    queued: true,
    file: () => readFileSync(nm('@segment/analytics-next/dist/umd/standalone.js')),
    // Segment's snippet, reduced to what the standalone build reads: the buffered calls, the write
    // key and the CDN (here the bench site, which serves the settings and lazy bundles).
    head: () =>
      `<script>!function(){var a=window.analytics=[];a._writeKey='wk_bench';a._cdn=location.origin;['track','page','identify'].forEach(function(m){a[m]=function(){var x=[].slice.call(arguments);x.unshift(m);a.push(x);return a}});a.load=function(){};a.page();a.track('lead');var s=document.createElement('script');s.async=true;s.src='/analytics.js/v1/wk_bench/analytics.min.js';document.head.appendChild(s)}();</script>`,
    marker: '"lead"',
  },
  {
    name: 'posthog',
    label: 'posthog-js (dist/array.js)',
    queued: true,
    file: () => readFileSync(nm('posthog-js/dist/array.js')),
    // PostHog's published snippet (it loads /static/array.js from api_host). Compression off so
    // the bench site can see the event name; the bot filter off because an automated browser sets
    // navigator.webdriver (PostHog's own advice for end-to-end tests); everything else at defaults.
    head: (origin) =>
      `<script>!function(t,e){var o,n,p,r;e.__SV||(window.posthog=e,e._i=[],e.init=function(i,s,a){function g(t,e){var o=e.split(".");2==o.length&&(t=t[o[0]],e=o[1]),t[e]=function(){t.push([e].concat(Array.prototype.slice.call(arguments,0)))}}(p=t.createElement("script")).type="text/javascript",p.crossOrigin="anonymous",p.async=!0,p.src=s.api_host+"/static/array.js",(r=t.getElementsByTagName("script")[0]).parentNode.insertBefore(p,r);var u=e;for(void 0!==a?u=e[a]=[]:a="posthog",u.people=u.people||[],u.toString=function(t){var e="posthog";return"posthog"!==a&&(e+="."+a),t||(e+=" (stub)"),e},u.people.toString=function(){return u.toString(1)+".people (stub)"},o="capture identify alias people.set people.set_once set_config register register_once unregister opt_out_capturing has_opted_out_capturing opt_in_capturing reset isFeatureEnabled onFeatureFlags getFeatureFlag getFeatureFlagPayload reloadFeatureFlags group updateEarlyAccessFeatureEnrollment getEarlyAccessFeatures getActiveMatchingSurveys getSurveys onSessionId".split(" "),n=0;n<o.length;n++)g(u,o[n]);e._i.push([i,s,a])},e.__SV=1)}(document,window.posthog||[]);posthog.init('phc_bench',{api_host:'${origin}',disable_compression:true,opt_out_useragent_filter:true});posthog.capture('lead');</script>`,
    marker: '"lead"',
  },
];

/** A page with nothing on it but the contestant's head markup and a little content. */
export function benchPage(head) {
  return `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>Bench</title>${head}</head><body><h1>Launch your community</h1><p>A landing page paragraph.</p><a id="next" href="#">Continue</a></body></html>`;
}
