import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { demoBanner, demoPlan, parseDemoArgs } from './demo';
import { createDemoSite } from './demoSite';

const ROOT = join(import.meta.dirname, '../../..');
const SNIPPET = '<script>(function(){/*snippet*/})()</script>\n<script async src="/wq/p.js"></script>\n';
const extra = mkdtempSync(join(tmpdir(), 'whopq-pages-'));
writeFileSync(join(extra, 'csp.html'), '<head><!--whopq:snippet--><script nonce="{{nonce}}">whopq("init","biz_demo")</script></head>');
afterAll(() => rmSync(extra, { recursive: true, force: true }));

const site = createDemoSite({ root: join(ROOT, 'demo'), snippet: SNIPPET, companyId: 'biz_real123', mounts: { '/t/': extra } });
const get = (path: string, init?: RequestInit) => site(new Request('http://shop.test' + path, init));

describe('createDemoSite', () => {
  it('serves the landing page with the snippet pasted in <head> and the configured company id', async () => {
    const res = (await get('/'))!;
    expect(res.headers.get('content-type')).toMatch(/^text\/html/);
    // no-store would keep the page out of the back/forward cache.
    expect(res.headers.get('cache-control')).toBe('no-cache');
    const html = await res.text();
    const head = html.slice(0, html.indexOf('</head>'));
    expect(head).toContain(SNIPPET.trim());
    expect(head.indexOf(SNIPPET.trim())).toBeLessThan(head.indexOf("whopq('init', 'biz_real123')"));
    expect(html).not.toContain('biz_demo');
    expect(html).not.toContain('whopq:snippet');
  });

  it('answers every SPA route with the app, and serves assets with their types', async () => {
    for (const path of ['/spa', '/spa/pricing', '/spa/apply']) expect(await (await get(path))!.text()).toContain('/spa.js');
    expect((await get('/spa.js'))!.headers.get('content-type')).toMatch(/^text\/javascript/);
    expect((await get('/demo.css'))!.headers.get('content-type')).toMatch(/^text\/css/);
  });

  it('gives a {{nonce}} page a fresh nonce on every script, the snippet included, and a strict CSP', async () => {
    const res = (await get('/t/csp.html'))!;
    const csp = res.headers.get('content-security-policy')!;
    const nonce = /'nonce-([^']+)'/.exec(csp)![1]!;
    expect(csp).not.toContain('unsafe-inline');
    const html = await res.text();
    expect(html.match(/<script[^>]*>/g)).toEqual([
      `<script nonce="${nonce}">`,
      `<script nonce="${nonce}" async src="/wq/p.js">`,
      `<script nonce="${nonce}">`,
    ]);
    const again = (await get('/t/csp.html'))!.headers.get('content-security-policy');
    expect(again).not.toContain(nonce);
  });

  it('serves nothing outside its folders and nothing but GET/HEAD', async () => {
    for (const path of ['/../package.json', '/%2e%2e/package.json', '/t/../../package.json', '/nope.html', '/.env', '/t/']) {
      expect(await get(path), path).toBeNull();
    }
    expect(await get('/', { method: 'POST', body: 'x' })).toBeNull();
    expect(await (await get('/', { method: 'HEAD' }))!.text()).toBe('');
  });
});

describe('whopq demo settings', () => {
  it('runs dry-run with the placeholder company and port 8787 when nothing is configured', () => {
    expect(demoPlan({})).toMatchObject({ dryRun: true, companyId: 'biz_demo', port: 8787, host: '127.0.0.1', problems: [] });
  });

  it('forwards when key and company are set, and says what is missing when only the key is', () => {
    expect(demoPlan({ WHOP_API_KEY: 'k', WHOP_COMPANY_ID: 'biz_a, biz_b', PORT: '0' })).toMatchObject({
      dryRun: false,
      companyId: 'biz_a',
      port: 0,
    });
    expect(demoPlan({ WHOP_API_KEY: 'k' }).problems[0]).toMatch(/WHOP_COMPANY_ID/);
    expect(demoPlan({ PORT: 'eighty' }).problems[0]).toMatch(/PORT/);
  });

  it('prints the landing URL with an example ad click and the inspector URL, never the key', () => {
    const plan = demoPlan({ WHOP_API_KEY: 'sk_secret_value', WHOP_COMPANY_ID: 'biz_a' });
    const text = demoBanner(plan, 'http://127.0.0.1:8787');
    expect(text).toContain('http://127.0.0.1:8787/?fbclid=');
    expect(text).toContain('utm_source=meta');
    expect(text).toContain('http://127.0.0.1:8787/wq/inspect');
    expect(text).not.toContain('sk_secret_value');
  });

  it('reads --pages and refuses unknown arguments', () => {
    expect(parseDemoArgs(['--pages', '/tmp/x'])).toEqual({ pages: '/tmp/x' });
    expect(parseDemoArgs(['--verbose'])).toMatch(/unknown argument/);
  });
});
