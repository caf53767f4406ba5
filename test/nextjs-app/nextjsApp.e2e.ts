// The Next.js example (examples/nextjs) as a real app: installed with this checkout's packed
// whopq, built with `next build`, run with `next start` on a real Postgres, a page opened in
// Chromium whose pixel posts a lead to the route, the server SIGKILLed and started again, then
// the drain route (with the cron secret) delivers the lead to the fake Whop once.
// Run by `npm run test:nextjs` (.ci/run after `npm test`): installing and building Next takes about
// a minute each on two cores, too long for every `npm test`.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { cpSync, existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { chromium, type Browser } from '@playwright/test';
import pg from 'pg';
import { afterAll, beforeAll, expect, it } from 'vitest';
// @ts-expect-error: a plain .mjs helper without types
import { chromiumLaunchOptions } from '../../scripts/chromium.mjs';
import { startFakeWhop, type FakeWhop } from '../fakeWhop';
import { freePort, startTestPostgres, type TestPostgres } from '../postgres/testPostgres';

const ROOT = resolve(import.meta.dirname, '../..');
const KEY = 'k_nextjs_e2e_7d1f';
const COMPANY = 'biz_nextjs_e2e';
const SECRET = 'cron-secret-e2e-5a2b';
let work: string;
let app: string;
let db: TestPostgres;
let whop: FakeWhop;
let browser: Browser | undefined;
let server: ChildProcess | undefined;
const timings: Record<string, number> = {};

function run(cmd: string, args: string[], cwd: string, label: string): void {
  const started = Date.now();
  const r = spawnSync(cmd, args, {
    cwd,
    encoding: 'utf8',
    env: { ...process.env, NEXT_TELEMETRY_DISABLED: '1', NEXT_PUBLIC_WHOP_COMPANY_ID: COMPANY },
    maxBuffer: 64 * 1024 * 1024,
  });
  timings[label] = Date.now() - started;
  if (r.status !== 0) throw new Error(`${label} failed (${r.status}):\n${r.stdout}\n${r.stderr}`);
}

beforeAll(async () => {
  // WHOPQ_NEXTJS_BUILT=<dir> reuses an app this test installed and built before (kept, not removed).
  const built = process.env.WHOPQ_NEXTJS_BUILT;
  if (built && existsSync(join(built, '.next'))) {
    app = built;
    [db, whop] = await Promise.all([startTestPostgres(), startFakeWhop({ apiKey: KEY })]);
    browser = await chromium.launch(chromiumLaunchOptions());
    return;
  }
  work = mkdtempSync(join(tmpdir(), 'whopq-nextjs-'));
  app = join(work, 'app');
  // The package as users get it: packed from this checkout's build (npm test builds first).
  if (!existsSync(join(ROOT, 'dist/relay/index.js'))) run('npm', ['run', 'build'], ROOT, 'whopq build');
  run('npm', ['pack', '--ignore-scripts', '--pack-destination', work], ROOT, 'npm pack');
  const tarball = join(work, readdirSync(work).find((f) => f.endsWith('.tgz'))!);
  cpSync(join(ROOT, 'examples/nextjs'), app, { recursive: true, filter: (src) => !/(node_modules|\.next)$/.test(src) });
  const pkg = JSON.parse(readFileSync(join(app, 'package.json'), 'utf8'));
  pkg.dependencies.whopq = `file:${tarball}`;
  writeFileSync(join(app, 'package.json'), JSON.stringify(pkg, null, 2));
  // Install scripts off: whopq's optional better-sqlite3 would compile and is never loaded here.
  run('npm', ['install', '--no-audit', '--no-fund', '--ignore-scripts'], app, 'npm install');
  run(process.execPath, ['node_modules/next/dist/bin/next', 'build'], app, 'next build');
  [db, whop] = await Promise.all([startTestPostgres(), startFakeWhop({ apiKey: KEY })]);
  browser = await chromium.launch(chromiumLaunchOptions());
}, 600_000);

afterAll(async () => {
  stopServer();
  await browser?.close();
  await whop?.close();
  await db?.dispose();
  if (work) rmSync(work, { recursive: true, force: true });
  console.log(`Next.js example timings (ms): ${JSON.stringify(timings)}`);
}, 60_000);

async function startServer(): Promise<string> {
  const port = await freePort();
  // Its own process group, so SIGKILL reaches any worker `next start` forks.
  server = spawn(process.execPath, ['node_modules/next/dist/bin/next', 'start', '-p', String(port), '-H', '127.0.0.1'], {
    cwd: app,
    detached: true,
    stdio: ['ignore', 'pipe', 'pipe'],
    env: {
      PATH: process.env.PATH,
      NODE_ENV: 'production',
      NEXT_TELEMETRY_DISABLED: '1',
      DATABASE_URL: db.url,
      WHOP_API_KEY: KEY,
      WHOP_API_BASE_URL: whop.url,
      WHOP_COMPANY_ID: COMPANY,
      CRON_SECRET: SECRET,
    },
  });
  let out = '';
  server.stdout!.on('data', (c: Buffer) => (out += c));
  server.stderr!.on('data', (c: Buffer) => (out += c));
  const base = `http://127.0.0.1:${port}`;
  const deadline = Date.now() + 60_000;
  for (;;) {
    if (server.exitCode !== null) throw new Error(`next start exited:\n${out}`);
    try {
      if ((await fetch(`${base}/wq/health`)).ok) return base;
    } catch {}
    if (Date.now() > deadline) throw new Error(`next start did not answer:\n${out}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

function stopServer(): void {
  if (server && server.exitCode === null && server.signalCode === null) {
    try {
      process.kill(-server.pid!, 'SIGKILL');
    } catch {}
  }
  server = undefined;
}

async function stored(): Promise<Array<{ event_name: string; event_id: string; state: string }>> {
  const client = new pg.Client({ connectionString: db.url });
  await client.connect();
  try {
    return (await client.query('SELECT event_name, event_id, state FROM whopq.events ORDER BY seq')).rows;
  } catch (error) {
    // The schema is created by the route's first use of the store.
    if ((error as { code?: string }).code === '42P01') return [];
    throw error;
  } finally {
    await client.end();
  }
}

it("stores the pixel's lead in Postgres before answering, survives a kill, and the drain route delivers it once", {
  timeout: 240_000,
}, async () => {
  let base = await startServer();
  const page = await browser!.newPage();
  await page.goto(`${base}/?event_id=next-e2e-lead-1`);
  await page.waitForFunction(() => typeof (window as { whopq?: unknown }).whopq === 'function');
  await page.click('#lead');
  const deadline = Date.now() + 30_000;
  while (!(await stored()).some((r) => r.event_id === 'next-e2e-lead-1') && Date.now() < deadline)
    await new Promise((r) => setTimeout(r, 200));
  await page.close();
  const rows = await stored();
  expect(rows).toContainEqual({ event_name: 'lead', event_id: 'next-e2e-lead-1', state: 'pending' });
  // The page view is kept, never forwarded.
  expect(rows.filter((r) => r.event_name === 'page').every((r) => r.state === 'skipped')).toBe(true);
  // The route stores; only the drain sends.
  expect(whop.requests).toHaveLength(0);

  // The server dies without warning; a new one starts (a new function instance, a cold start).
  stopServer();
  base = await startServer();
  expect((await fetch(`${base}/api/whopq/drain`)).status).toBe(401);
  expect((await fetch(`${base}/api/whopq/drain`, { headers: { authorization: 'Bearer wrong' } })).status).toBe(401);
  const first = await fetch(`${base}/api/whopq/drain`, { headers: { authorization: `Bearer ${SECRET}` } });
  const report = await first.json();
  expect(first.status).toBe(200);
  expect(report).toMatchObject({ delivered: 1, dead_lettered: 0, stopped: 'idle' });
  const again = await (await fetch(`${base}/api/whopq/drain`, { headers: { authorization: `Bearer ${SECRET}` } })).json();
  expect(again).toMatchObject({ delivered: 0 });
  expect(whop.conversions.map((c) => [c.body.event_name, c.body.event_id])).toEqual([['lead', 'next-e2e-lead-1']]);
  expect(whop.duplicates()).toEqual([]);
  expect((await stored()).find((r) => r.event_id === 'next-e2e-lead-1')!.state).toBe('delivered');
  // The key never reaches a page or an answer.
  expect(JSON.stringify(report)).not.toContain(KEY);
});
