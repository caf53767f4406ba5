// The documented local Workers path: the pinned wrangler runs the built Worker in `wrangler dev` on
// this Node, and the relay answers there (health and a dry-run ingest through the local Queue).
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildWorker } from '../scripts/buildWorker.mjs';

let child: ReturnType<typeof spawn> | undefined;
let base = '';
let output = '';
// The Worker is built into a temp dir (not the shared dist/) and handed to wrangler in place of the config's `main`.
const work = mkdtempSync(join(tmpdir(), 'whopq-wrangler-'));

async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const { port } = server.address() as { port: number };
  await new Promise((r) => server.close(r));
  return port;
}

beforeAll(async () => {
  await buildWorker({ outfile: join(work, 'index.js') });
  const port = await freePort();
  child = spawn(
    process.execPath,
    [
      'node_modules/wrangler/bin/wrangler.js',
      'dev',
      join(work, 'index.js'),
      '-c',
      'examples/cloudflare/wrangler.toml',
      '--ip',
      '127.0.0.1',
      '--port',
      String(port),
      '--inspector-port',
      String(await freePort()),
      '--persist-to',
      join(work, 'state'),
    ],
    {
      env: { ...process.env, WRANGLER_SEND_METRICS: 'false', CI: '1' },
      stdio: ['ignore', 'pipe', 'pipe'],
    },
  );
  child.stdout!.on('data', (d: Buffer) => (output += d));
  child.stderr!.on('data', (d: Buffer) => (output += d));
  const end = Date.now() + 90_000;
  while (!/Ready on/.test(output) && Date.now() < end && child.exitCode === null) await new Promise((r) => setTimeout(r, 200));
  if (!/Ready on/.test(output)) throw new Error(`wrangler dev did not start:\n${output}`);
  base = `http://127.0.0.1:${port}/wq`;
}, 120_000);

afterAll(async () => {
  try {
    await stopWrangler();
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
});

async function stopWrangler(): Promise<void> {
  if (!child || child.exitCode !== null) return;
  const exited = new Promise((r) => child!.once('exit', r));
  child.kill('SIGTERM');
  await Promise.race([exited, new Promise((r) => setTimeout(r, 10_000))]);
  if (child.exitCode === null) child.kill('SIGKILL');
}

describe('wrangler dev (examples/cloudflare)', () => {
  it('is the pinned wrangler, which runs on Node 20', () => {
    expect(JSON.parse(readFileSync('node_modules/wrangler/package.json', 'utf8')).version).toBe('4.86.0');
    expect(JSON.parse(readFileSync('package.json', 'utf8')).devDependencies.wrangler).toBe('4.86.0');
  });

  it('serves the relay: health, the pixel, and a dry-run ingest', async () => {
    expect((await fetch(`${base}/health`)).status).toBe(200);
    expect((await fetch(`${base}/p.js`)).status).toBe(200);
    const res = await fetch(`${base}/e`, {
      method: 'POST',
      headers: { 'content-type': 'text/plain', origin: 'https://www.example.com' },
      body: JSON.stringify({
        events: [
          {
            company_id: 'biz_XXXXXXXXXXXX',
            event_name: 'lead',
            event_id: 'evt_wrangler_1',
            event_time: new Date().toISOString(),
            action_source: 'website',
            url: 'https://www.example.com/',
          },
        ],
      }),
    });
    expect(res.status, await res.clone().text()).toBe(200);
    expect(await res.json()).toMatchObject({ accepted: 1 });
  });
});
