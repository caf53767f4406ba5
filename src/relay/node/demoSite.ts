import { readFile } from 'node:fs/promises';
import { join, resolve, sep } from 'node:path';
import { randomBytes } from 'node:crypto';

export interface DemoSiteOptions {
  /** The folder holding the demo pages (`demo/`). */
  root: string;
  /** The paste-in snippet HTML (dist/snippet.html), put where a page says `<!--whopq:snippet-->`. */
  snippet: string;
  /** Replaces the placeholder company id `biz_demo` in pages. Default `biz_demo`. */
  companyId?: string;
  /** More folders served under a path prefix, e.g. `{ '/t/': 'e2e/pages' }`. Default none. */
  mounts?: Record<string, string>;
}

const _TYPES: Record<string, string> = {
  html: 'text/html; charset=utf-8',
  css: 'text/css; charset=utf-8',
  js: 'text/javascript; charset=utf-8',
  json: 'application/json',
  svg: 'image/svg+xml',
  ico: 'image/x-icon',
};

/** Placeholder a page uses to ask for a per-response CSP nonce (and a strict CSP header with it). */
const _NONCE = '{{nonce}}';

/** Maps a URL path to a file inside `root`, or null. Only plain names: no dot segments, no escape. */
function _file(root: string, rel: string): string | null {
  if (!/^[\w-]+(\/[\w-]+)*(\.[a-z]+)?$/.test(rel)) return null;
  const full = resolve(root, rel);
  return full.startsWith(resolve(root) + sep) ? full : null;
}

/**
 * Serves the demo pages (and test pages) next to the relay, as a seller's site would: the snippet
 * pasted in `<head>`, the relay on the same origin. `/` is the landing page; `/spa` and anything
 * under it is the single-page app (history routing needs the server to answer every route). A page
 * containing `{{nonce}}` gets a fresh nonce and a strict Content-Security-Policy with no
 * 'unsafe-inline'. Answers null for paths it does not serve, so the caller can 404.
 * HTML is sent `no-cache` rather than `no-store`, which would keep pages out of the back/forward cache.
 */
export function createDemoSite(options: DemoSiteOptions): (request: Request) => Promise<Response | null> {
  const companyId = options.companyId ?? 'biz_demo';
  const mounts = Object.entries({ ...options.mounts, '/': options.root });

  return async (request) => {
    if (request.method !== 'GET' && request.method !== 'HEAD') return null;
    const path = new URL(request.url).pathname;
    let target: string | null = null;
    if (path === '/' || path === '/index.html') target = join(options.root, 'index.html');
    else if (path === '/spa' || path.startsWith('/spa/')) target = join(options.root, 'spa.html');
    else {
      const mount = mounts.find(([prefix]) => path.startsWith(prefix));
      if (mount) target = _file(mount[1], path.slice(mount[0].length) || 'index.html');
    }
    if (!target) return null;

    let body: string;
    try {
      body = await readFile(target, 'utf8');
    } catch {
      return null;
    }
    const ext = target.slice(target.lastIndexOf('.') + 1);
    const headers: Record<string, string> = { 'content-type': _TYPES[ext] ?? 'application/octet-stream', 'cache-control': 'no-cache' };
    if (ext === 'html') {
      const strict = body.includes(_NONCE);
      const snippet = strict ? options.snippet.replace(/<script\b/g, `<script nonce="${_NONCE}"`) : options.snippet;
      body = body.replace(/<!--whopq:snippet-->/g, () => snippet.trim()).replace(/\bbiz_demo\b/g, companyId);
      if (strict) {
        const nonce = randomBytes(16).toString('base64');
        body = body.split(_NONCE).join(nonce);
        headers['content-security-policy'] =
          `default-src 'self'; script-src 'nonce-${nonce}'; style-src 'self'; connect-src 'self'; img-src 'self'; object-src 'none'; base-uri 'none'`;
      }
    }
    return new Response(request.method === 'HEAD' ? null : body, { headers });
  };
}
