// The web server the browser benchmarks load: contestant pages, their scripts (served from
// node_modules and dist/ as a CDN would), and catch-all collector endpoints that record every beacon.
// It runs on 127.0.0.1 with an ephemeral port; a second instance serves as "another site" to
// navigate away to.
import { createServer } from 'node:http';
import { existsSync, readFileSync } from 'node:fs';
import { extname } from 'node:path';
import { buildPlausible, benchPage, PEERS } from '../peers.mjs';

const root = new URL('../../', import.meta.url);
const TYPES = {
  '.js': 'text/javascript',
  '.css': 'text/css',
  '.html': 'text/html; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
};
const GIF = Buffer.from('R0lGODlhAQABAIAAAAAAAP///yH5BAEAAAAALAAAAAABAAEAAAIBRAA7', 'base64');

function file(res, url) {
  if (!existsSync(url)) return void res.writeHead(404).end();
  res.writeHead(200, { 'content-type': TYPES[extname(url.pathname)] ?? 'application/octet-stream', 'cache-control': 'no-store' });
  res.end(readFileSync(url));
}

/**
 * Starts the site. `pages` maps extra paths to HTML (or to a function of the request URL).
 * `hits` holds every collector request `{ at, method, path, body }` in arrival order. `host`
 * names the site in its origin (a browser from `launchBrowser` resolves BENCH_HOSTS to loopback);
 * default 127.0.0.1.
 */
export async function startBenchSite({ pages = {}, host = '127.0.0.1' } = {}) {
  const plausible = await buildPlausible();
  const hits = [];
  const waiters = new Set();
  let origin = '';
  const segmentSettings = () =>
    JSON.stringify({
      integrations: { 'Segment.io': { apiKey: 'wk_bench', apiHost: `${origin.replace(/^http:\/\//, '')}/v1`, protocol: 'http' } },
      plan: { track: { __default: { enabled: true } } },
    });

  const server = createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://x');
    const path = url.pathname;
    const page = pages[path];
    if (page !== undefined) {
      res.writeHead(200, { 'content-type': 'text/html; charset=utf-8', 'cache-control': 'no-store' });
      return void res.end(typeof page === 'function' ? page(url) : page);
    }
    if (path.startsWith('/page/')) {
      const name = path.slice(6);
      const peer = PEERS.find((p) => p.name === name);
      if (name !== 'empty' && !peer) return void res.writeHead(404).end();
      res.writeHead(200, { 'content-type': 'text/html; charset=utf-8', 'cache-control': 'no-store' });
      return void res.end(benchPage(peer ? peer.head(origin) : ''));
    }
    if (path === '/wq/p.js') return file(res, new URL('dist/whopq.js', root));
    if (path === '/wq/p.debug.js') return file(res, new URL('dist/whopq.debug.js', root));
    if (path === '/peers/plausible.js') return void res.writeHead(200, { 'content-type': 'text/javascript' }).end(plausible);
    if (path === '/peers/snowplow.js') return file(res, new URL('node_modules/@snowplow/browser-tracker/dist/index.umd.min.js', root));
    if (path.startsWith('/analytics.js/v1/'))
      return file(res, new URL('node_modules/@segment/analytics-next/dist/umd/standalone.js', root));
    if (path.startsWith('/analytics-next/bundles/'))
      return file(res, new URL(`node_modules/@segment/analytics-next/dist/umd/${path.slice(24).replace(/[^\w.-]/g, '')}`, root));
    if (path.startsWith('/v1/projects/')) return void res.writeHead(200, { 'content-type': 'application/json' }).end(segmentSettings());
    if (path.startsWith('/static/'))
      return file(res, new URL(`node_modules/posthog-js/dist/${path.slice(8).replace(/[^\w.-]/g, '')}`, root));
    if (path.startsWith('/demo/') || path === '/demo.css')
      return file(
        res,
        new URL(
          `demo/${path
            .replace(/^\/demo\//, '/')
            .slice(1)
            .replace(/[^\w.-]/g, '')}`,
          root,
        ),
      );
    if (path === '/web-vitals.js') return file(res, new URL('node_modules/web-vitals/dist/web-vitals.iife.js', root));
    if (path === '/favicon.ico') return void res.writeHead(404).end();

    // Everything else is a collector: record it once the body is in, then answer as each
    // tracker expects (whopq's relay shape, a GIF for image pixels, JSON for the rest).
    const chunks = [];
    req.on('data', (c) => chunks.push(c));
    req.on('end', () => {
      const body = Buffer.concat(chunks).toString('utf8');
      hits.push({ at: performance.now(), method: req.method, path, query: url.search, body });
      for (const w of waiters) w();
      if (path === '/wq/e') {
        let n = 1;
        try {
          n = JSON.parse(body).events?.length ?? 1;
        } catch {}
        res.writeHead(200, { 'content-type': 'application/json' });
        return void res.end(JSON.stringify({ accepted: n, duplicates: 0, rejected: [] }));
      }
      if (req.method === 'GET' && /\.gif$|^\/i$/.test(path)) return void res.writeHead(200, { 'content-type': 'image/gif' }).end(GIF);
      res.writeHead(200, { 'content-type': 'application/json', 'access-control-allow-origin': '*' });
      res.end('{}');
    });
  });
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
  origin = `http://${host}:${server.address().port}`;

  return {
    origin,
    hits,
    /** Resolves true once `test(hits)` holds, false at the deadline. */
    async waitFor(test, ms) {
      if (test(hits)) return true;
      return new Promise((resolve) => {
        const done = (ok) => (clearTimeout(timer), waiters.delete(check), resolve(ok));
        const check = () => test(hits) && done(true);
        const timer = setTimeout(() => done(false), ms);
        waiters.add(check);
      });
    },
    close() {
      server.closeAllConnections();
      return new Promise((resolve) => server.close(resolve));
    },
  };
}
