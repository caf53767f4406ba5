// Crash safety of the real `whopq relay` command: a relay process killed with SIGKILL right after
// acknowledging a batch, restarted on the same data dir, delivers everything it acknowledged, and
// Whop sees no event twice. The CLI is bundled from source into a temp dir (so this test neither
// needs nor races a shared `dist/` build) and run as a child process, exactly as `bin/whopq.mjs` runs it.
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { build } from 'esbuild';
import { afterAll, beforeAll, expect, it, vi } from 'vitest';
import { startFakeWhop, type FakeWhop } from './fakeWhop';

const KEY = 'k_restart_secret_91c';
const COMPANY = 'biz_restart';
let work: string;
let whop: FakeWhop;
const children = new Set<ChildProcess>();

beforeAll(async () => {
  work = mkdtempSync(join(tmpdir(), 'whopq-restart-'));
  await build({
    entryPoints: [resolve('src/relay/node/cli.ts')],
    bundle: true,
    platform: 'node',
    format: 'esm',
    target: 'node20',
    packages: 'external',
    outfile: join(work, 'cli.mjs'),
    logLevel: 'warning',
  });
  symlinkSync(resolve('node_modules'), join(work, 'node_modules'));
  writeFileSync(join(work, 'whopq.mjs'), "import { main } from './cli.mjs';\nawait main(process.argv.slice(2));\n");
  whop = await startFakeWhop({ apiKey: KEY });
});

afterAll(async () => {
  for (const child of children) child.kill('SIGKILL');
  await whop?.close();
  rmSync(work, { recursive: true, force: true });
});

/** Starts `whopq relay` on an ephemeral port and resolves with its ingest base once it listens. */
async function startRelay(): Promise<{ child: ChildProcess; base: string; output: () => string }> {
  const child = spawn(process.execPath, [join(work, 'whopq.mjs'), 'relay'], {
    cwd: work,
    env: {
      PATH: process.env.PATH,
      WHOP_API_KEY: KEY,
      WHOP_COMPANY_ID: COMPANY,
      WHOP_API_BASE_URL: whop.url,
      WHOPQ_DATA_DIR: join(work, 'data'),
      PORT: '0',
      HOST: '127.0.0.1',
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  children.add(child);
  child.on('exit', () => children.delete(child));
  let out = '';
  child.stdout!.on('data', (c: Buffer) => (out += c.toString()));
  child.stderr!.on('data', (c: Buffer) => (out += c.toString()));
  const base = await vi.waitFor(
    () => {
      if (child.exitCode !== null) throw new Error(`relay exited early:\n${out}`);
      const m = /listening on (http:\/\/127\.0\.0\.1:\d+)/.exec(out);
      if (!m) throw new Error(`relay not listening yet:\n${out}`);
      return `${m[1]}/wq`;
    },
    { timeout: 10_000, interval: 25 },
  );
  return { child, base, output: () => out };
}

function batch(from: number, n: number) {
  return Array.from({ length: n }, (_, i) => ({
    company_id: COMPANY,
    event_name: 'lead',
    event_id: `evt_restart_${from + i}`,
    event_time: new Date().toISOString(),
    action_source: 'website',
    url: `https://seller.example/p/${from + i}`,
    user: { anonymous_id: `anon_${from + i}` },
  }));
}

async function ingest(base: string, events: unknown[]) {
  const res = await fetch(`${base}/e`, { method: 'POST', headers: { 'content-type': 'text/plain' }, body: JSON.stringify({ events }) });
  return { status: res.status, body: (await res.json()) as { accepted: number; duplicates: number } };
}

async function killed(child: ChildProcess): Promise<void> {
  const exited = new Promise<void>((r) => child.once('exit', () => r()));
  child.kill('SIGKILL');
  await exited;
}

it('delivers, after a SIGKILL and a restart, every event it acknowledged, none twice', async () => {
  const first = await startRelay();
  // First life: 5 events go all the way to Whop and are settled before the crash.
  expect((await ingest(first.base, batch(0, 5))).body).toMatchObject({ accepted: 5 });
  await vi.waitFor(
    async () => expect((await (await fetch(`${first.base}/ready`)).json()).queue).toMatchObject({ delivered: 5, pending: 0 }),
    { timeout: 10_000, interval: 25 },
  );
  // Then Whop stops answering, so the next sends are in flight (leased) when the process dies.
  whop.setMode('hang');
  const acked = await Promise.all([ingest(first.base, batch(100, 20)), ingest(first.base, batch(200, 20))]);
  expect(acked.map((a) => a.body.accepted)).toEqual([20, 20]);
  // Die as soon as a send is in flight (so a lease is held), moments after the 200s.
  await vi.waitFor(() => expect(whop.requests.some((r) => r.status === 0)).toBe(true), { timeout: 10_000, interval: 5 });
  await killed(first.child);
  expect(first.output()).not.toContain(KEY);

  whop.setMode('ok');
  const second = await startRelay();
  await vi.waitFor(() => expect(whop.conversions).toHaveLength(45), { timeout: 15_000, interval: 25 });
  expect(whop.duplicates()).toEqual([]);
  const delivered = new Set(whop.conversions.map((c) => c.body.event_id));
  for (const e of [...batch(0, 5), ...batch(100, 20), ...batch(200, 20)]) expect(delivered.has(e.event_id)).toBe(true);
  // A resend from the browser after the restart is still recognised as a duplicate.
  expect((await ingest(second.base, batch(100, 3))).body).toMatchObject({ accepted: 0, duplicates: 3 });
  await killed(second.child);
  expect(whop.conversions).toHaveLength(45);
  expect(second.output()).not.toContain(KEY);
});
