// What the Chromium scenarios run against: the pixel bundle built from source (as the build makes
// dist/whopq.js, in a temp dir so the suite never races a shared dist/), a page server on one
// origin, and the Node relay (`startRelay`, the CLI's own start function) on another origin that
// lists the page origin, forwarding to the fake Whop API. Logs are captured for the PII and key scans.
import { mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { chromium, type Browser, type BrowserContext } from '@playwright/test';
import { build } from 'esbuild';
// @ts-expect-error: a plain .mjs helper without types
import { chromiumLaunchOptions } from '../../scripts/chromium.mjs';
import { createLogger } from '../../src/relay/lib/logger';
import { relayConfigFromEnv, startRelay, type RunningRelay } from '../../src/relay/node/cli';
import { startFakeWhop, type FakeWhop } from '../fakeWhop';
import { COMPANY } from './events';

export const BROWSER_KEY = 'k_chaos_browser_90ab3f';

export interface BrowserStack {
  whop: FakeWhop;
  /** The page origin, e.g. http://127.0.0.1:40001 (pages at /page.html). */
  pages: string;
  /** The relay's base URL the pages use, e.g. http://127.0.0.1:40002/wq. */
  relayBase: string;
  relay: RunningRelay | null;
  browser: Browser;
  logs: string[];
  /** Starts the relay on its reserved port (again, after `relayDown`). */
  relayUp(): Promise<void>;
  relayDown(): Promise<void>;
  /** Counts the ingest requests a context makes (and those that failed at the network level). */
  watch(context: BrowserContext): { sent: () => number; failed: () => number };
  /** Rows in the relay's store. */
  rows(): Promise<number>;
  close(): Promise<void>;
}

/** A free loopback port (listen on 0, note it, close): the relay comes up there later. */
async function freePort(): Promise<number> {
  const s = createServer();
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
  const { port } = s.address() as AddressInfo;
  await new Promise((r) => s.close(r));
  return port;
}

/** A page that queues calls like the snippet and loads the bundle from the page server. */
function page(relayBase: string, init: Record<string, unknown>): string {
  return `<!doctype html><html><head><meta charset="utf-8"><title>chaos</title>
<script>window.whopq=window.whopq||function(){(whopq.q=whopq.q||[]).push(arguments)};
whopq('init', ${JSON.stringify(COMPANY)}, ${JSON.stringify({ relay: relayBase, ...init })});</script>
<script async src="/whopq.js"></script></head><body><h1>chaos</h1></body></html>`;
}

export async function startBrowserStack(): Promise<BrowserStack> {
  const work = mkdtempSync(join(tmpdir(), 'whopq-chaos-browser-'));
  mkdirSync(join(work, 'data'));
  const bundle = join(work, 'whopq.js');
  await build({
    entryPoints: [resolve('src/pixel/global.ts')],
    bundle: true,
    minify: true,
    format: 'iife',
    target: ['es2020'],
    mangleProps: /^_/,
    define: { __DEBUG__: 'false' },
    outfile: bundle,
    logLevel: 'warning',
  });
  const code = readFileSync(bundle);
  const whop = await startFakeWhop({ apiKey: BROWSER_KEY });
  const relayPort = await freePort();
  const relayBase = `http://127.0.0.1:${relayPort}/wq`;
  const pageServer: Server = createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://x');
    if (url.pathname === '/whopq.js') return void res.writeHead(200, { 'content-type': 'text/javascript' }).end(code);
    if (url.pathname.endsWith('.html')) {
      const init = url.searchParams.get('consent') === 'required' ? { requireConsent: true } : {};
      return void res.writeHead(200, { 'content-type': 'text/html; charset=utf-8' }).end(page(relayBase, init));
    }
    res.writeHead(404).end();
  });
  await new Promise<void>((r) => pageServer.listen(0, '127.0.0.1', r));
  const pages = `http://127.0.0.1:${(pageServer.address() as AddressInfo).port}`;
  const browser = await chromium.launch(chromiumLaunchOptions());
  const logs: string[] = [];
  const logger = createLogger({ write: (line) => logs.push(line) });

  const stack: BrowserStack = {
    whop,
    pages,
    relayBase,
    relay: null,
    browser,
    logs,
    async relayUp() {
      // The configuration as `whopq relay` reads it from its environment.
      const config = relayConfigFromEnv({
        WHOP_API_KEY: BROWSER_KEY,
        WHOP_COMPANY_ID: COMPANY,
        WHOPQ_ORIGINS: pages,
        PORT: String(relayPort),
        HOST: '127.0.0.1',
        WHOPQ_DATA_DIR: join(work, 'data'),
        WHOP_API_BASE_URL: whop.url,
      });
      stack.relay = await startRelay(config, { print: (line) => logs.push(line), logger, bundlePath: bundle });
    },
    async relayDown() {
      await stack.relay?.close();
      stack.relay = null;
    },
    watch(context) {
      let sent = 0;
      let failed = 0;
      context.on('request', (r) => void (r.method() === 'POST' && r.url().startsWith(`${relayBase}/e`) && sent++));
      context.on('requestfailed', (r) => void (r.url().startsWith(`${relayBase}/e`) && failed++));
      return { sent: () => sent, failed: () => failed };
    },
    async rows() {
      if (!stack.relay) return -1;
      const s = await stack.relay.outbox.stats();
      return s.pending + s.delivered + s.dead + s.dry_run;
    },
    async close() {
      await browser.close();
      await stack.relayDown();
      await new Promise((r) => pageServer.close(r));
      await whop.close();
      rmSync(work, { recursive: true, force: true });
    },
  };
  return stack;
}
