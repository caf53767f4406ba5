// The package as published: packed from a clean checkout, installed from the tarball into an empty
// directory, its types checked as users' compilers resolve them, its `whopq relay` started and used.
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { Agent, request } from 'node:http';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse as parseYaml } from 'yaml';
import { startFakeWhop } from './fakeWhop';
import { packAndInstall, type PackedPackage } from './packedPackage';

const ROOT = resolve(import.meta.dirname, '..');
let pkg: PackedPackage;

beforeAll(() => {
  pkg = packAndInstall();
}, 300_000);

afterAll(() => {
  if (pkg) rmSync(pkg.work, { recursive: true, force: true });
});

/** Starts a command from the installed package and waits for the relay's "listening on" line. */
async function startInstalled(
  args: string[],
  env: Record<string, string>,
): Promise<{ child: ChildProcess; url: string; output: () => string }> {
  const child = spawn(args[0]!, args.slice(1), {
    cwd: pkg.app,
    env: { PATH: process.env.PATH!, HOME: process.env.HOME ?? '/tmp', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stdout!.on('data', (d: Buffer) => (output += d));
  child.stderr!.on('data', (d: Buffer) => (output += d));
  const url = await new Promise<string>((ok, fail) => {
    const timer = setTimeout(() => fail(new Error(`no "listening on" line in 60 s:\n${output}`)), 60_000);
    const look = () => {
      const m = /listening on (http:\/\/\S+)/.exec(output);
      if (m) clearTimeout(timer), ok(m[1]!);
    };
    child.stdout!.on('data', look);
    child.once('exit', (code) => (clearTimeout(timer), fail(new Error(`exited with ${code}:\n${output}`))));
  });
  return { child, url, output: () => output };
}

/** Sends SIGTERM and resolves with the exit code (fails after 20 s). */
function stop(child: ChildProcess): Promise<number | null> {
  return new Promise((ok, fail) => {
    const timer = setTimeout(() => (child.kill('SIGKILL'), fail(new Error('still running 20 s after SIGTERM'))), 20_000);
    child.once('exit', (code) => (clearTimeout(timer), ok(code)));
    child.kill('SIGTERM');
  });
}

function event(id: string) {
  return {
    company_id: 'biz_pack0000000001',
    event_name: 'lead',
    event_id: id,
    event_time: new Date().toISOString(),
    action_source: 'website',
    url: 'https://seller.example/',
  };
}

/** What a relay started from the package must do: serve the pixel, take an event, answer health, stop on SIGTERM. */
export async function exerciseRelay(args: string[], env: Record<string, string>): Promise<void> {
  const data = join(pkg.work, `data-${Math.random().toString(36).slice(2)}`);
  const { child, url, output } = await startInstalled(args, { PORT: '0', HOST: '127.0.0.1', WHOPQ_DATA_DIR: data, ...env });
  try {
    const posted = await fetch(`${url}/wq/e`, {
      method: 'POST',
      headers: { 'content-type': 'text/plain;charset=UTF-8' },
      body: JSON.stringify({ events: [event('evt_pack_1')] }),
    });
    expect(posted.status, await posted.clone().text()).toBe(200);
    expect(await posted.json()).toMatchObject({ accepted: 1 });
    const health = await fetch(`${url}/wq/health`);
    expect(health.status).toBe(200);
    const pixel = await fetch(`${url}/wq/p.js`);
    expect(pixel.status).toBe(200);
    expect((await pixel.text()).length).toBeGreaterThan(1000);

    // A request in flight at SIGTERM (half its body sent, on a keep-alive connection) is answered,
    // and the process still exits promptly after it.
    const body = JSON.stringify({ events: [event('evt_pack_2')] });
    const agent = new Agent({ keepAlive: true });
    const answer = new Promise<{ status: number; text: string }>((ok, fail) => {
      const req = request(
        `${url}/wq/e`,
        { method: 'POST', agent, headers: { 'content-type': 'text/plain', 'content-length': Buffer.byteLength(body) } },
        (res) => {
          let text = '';
          res.on('data', (d: Buffer) => (text += d));
          res.on('end', () => ok({ status: res.statusCode!, text }));
        },
      );
      req.on('error', fail);
      req.write(body.slice(0, 20));
      setTimeout(() => {
        const started = Date.now();
        child.kill('SIGTERM');
        setTimeout(() => req.end(body.slice(20)), 300);
        child.once('exit', () => (stopped = Date.now() - started));
      }, 200);
    });
    let stopped = -1;
    const late = await answer;
    expect(late.status, late.text).toBe(200);
    const code = await new Promise<number | null>((ok) =>
      child.exitCode !== null ? ok(child.exitCode) : child.once('exit', (c) => ok(c)),
    );
    expect(code, output()).toBe(0);
    expect(stopped, 'exits well before a keep-alive timeout or the drain deadline').toBeLessThan(4_000);
    agent.destroy();
  } finally {
    if (child.exitCode === null) expect(await stop(child), output()).toBe(0);
  }
  expect(existsSync(join(data, 'whopq.db')), 'the store was written').toBe(true);
  await expectLockReleased(data);
}

/** Node processes started with WHOPQ_DATA_DIR=`data` (read from /proc). */
function pidsUsing(data: string): number[] {
  const pids: number[] = [];
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    try {
      if (readFileSync(`/proc/${name}/comm`, 'utf8').trim() !== 'node') continue;
      if (readFileSync(`/proc/${name}/environ`, 'utf8').split('\0').includes(`WHOPQ_DATA_DIR=${data}`)) pids.push(Number(name));
    } catch {}
  }
  return pids;
}

/** The data directory's lock is free: another relay starts on it (and is stopped again). */
async function expectLockReleased(data: string): Promise<void> {
  const { child, output } = await startInstalled([join(pkg.app, 'node_modules/.bin/whopq'), 'relay'], {
    PORT: '0',
    HOST: '127.0.0.1',
    WHOPQ_DATA_DIR: data,
  });
  expect(await stop(child), output()).toBe(0);
}

/** Resolves once nothing accepts connections on `url` any more (fails after `ms`). */
async function portClosed(url: string, ms: number): Promise<void> {
  const end = Date.now() + ms;
  while (Date.now() < end) {
    try {
      await fetch(`${url}/wq/health`, { signal: AbortSignal.timeout(1_000) });
    } catch {
      return;
    }
    await new Promise((r) => setTimeout(r, 200));
  }
  throw new Error(`${url} still answers ${ms} ms after SIGTERM`);
}

describe('the packed package', () => {
  it('ships the build, the demo pages and the license, and no source maps or sources', () => {
    const list = execFileSync('tar', ['-tzf', pkg.tarball], { encoding: 'utf8' }).split('\n').filter(Boolean);
    for (const f of [
      'package/LICENSE',
      'package/README.md',
      'package/bin/whopq.mjs',
      'package/dist/whopq.js',
      'package/dist/relay/cli.js',
      'package/dist/relay/node.js',
      'package/dist/relay/server.js',
      'package/demo/index.html',
    ]) {
      expect(list).toContain(f);
    }
    expect(list.filter((f) => f.endsWith('.map') || f.startsWith('package/src/') || f.startsWith('package/test/'))).toEqual([]);
  });

  it('passes publint and Are the Types Wrong (ESM-only: node16, nodenext and bundler)', async () => {
    const { publint } = await import('publint');
    const { formatMessage } = await import('publint/utils');
    const tarball = readFileSync(pkg.tarball);
    const result = await publint({
      pack: { tarball: tarball.buffer.slice(tarball.byteOffset, tarball.byteOffset + tarball.byteLength) },
      level: 'suggestion',
      strict: true,
    });
    const pkgJson = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as Record<string, unknown>;
    expect(result.messages.map((m) => formatMessage(m, pkgJson))).toEqual([]);
    // Exits non-zero on any problem; the CommonJS rows do not apply to an ESM-only package.
    execFileSync(
      process.execPath,
      [join(ROOT, 'node_modules/@arethetypeswrong/cli/dist/index.js'), pkg.tarball, '--profile', 'esm-only', '--format', 'ascii'],
      { encoding: 'utf8' },
    );
  }, 120_000);

  it.each(['node16', 'nodenext', 'bundler'])(
    'typechecks an importing file under moduleResolution %s (no skipLibCheck)',
    (resolution) => {
      const dir = join(pkg.app, `ts-${resolution}`);
      mkdirSync(dir, { recursive: true });
      writeFileSync(
        join(dir, 'consumer.ts'),
        `import { init, track } from 'whopq';
import { createRelay, MemoryOutbox, type Relay } from 'whopq/relay';
import { serve, startRelay, relayConfigFromEnv, SqliteOutbox, type RunningRelay } from 'whopq/relay/node';
import { sendConversion, type SendResult } from 'whopq/server';

init('biz_x');
track('lead', { value: 1, currency: 'usd' });
const relay: Relay = createRelay({ outbox: new MemoryOutbox() });
const server = serve(relay, { port: 0 });
const running: Promise<RunningRelay> = startRelay(relayConfigFromEnv({}), { print: () => {} });
const outbox = new SqliteOutbox({ path: ':memory:' });
const sent: Promise<SendResult> = sendConversion({ company_id: 'biz_x', event_name: 'lead' }, { relayUrl: 'https://x.example/wq', token: 't' });
// @ts-expect-error: the types are real, not any
const wrong: number = relay;
export { server, running, outbox, sent, wrong };
`,
      );
      const module = resolution === 'bundler' ? 'esnext' : resolution;
      writeFileSync(
        join(dir, 'tsconfig.json'),
        JSON.stringify({
          compilerOptions: {
            module,
            moduleResolution: resolution,
            target: 'es2022',
            lib: ['es2022', 'dom'],
            types: ['node'],
            strict: true,
            noEmit: true,
            skipLibCheck: false,
          },
          files: ['consumer.ts'],
        }),
      );
      try {
        execFileSync(process.execPath, [join(ROOT, 'node_modules/typescript/bin/tsc'), '-p', dir], { cwd: pkg.app, encoding: 'utf8' });
      } catch (error) {
        throw new Error(`tsc (${resolution}) failed:\n${(error as { stdout?: string }).stdout}`);
      }
    },
    120_000,
  );

  it('runs `whopq relay` from the install: takes an event, answers /wq/health, stops on SIGTERM', async () => {
    await exerciseRelay([join(pkg.app, 'node_modules/.bin/whopq'), 'relay'], {});
  }, 120_000);

  it('runs `whopq demo` from the install: the shipped demo pages with the snippet, and the inspector', async () => {
    const { child, url, output } = await startInstalled([join(pkg.app, 'node_modules/.bin/whopq'), 'demo'], {
      PORT: '0',
      WHOPQ_DATA_DIR: join(pkg.work, 'data-demo'),
    });
    try {
      const landing = await fetch(`${url}/`);
      expect(landing.status).toBe(200);
      expect(await landing.text()).toContain('/wq/p.js');
      expect((await fetch(`${url}/favicon.svg`)).status).toBe(200);
      expect((await fetch(`${url}/wq/inspect`)).status).toBe(200);
    } finally {
      expect(await stop(child), output()).toBe(0);
    }
  }, 60_000);

  it('runs without better-sqlite3 (an optional dependency) for handler-only use, and `whopq relay` says what to install', () => {
    const sqlite = join(pkg.app, 'node_modules/better-sqlite3');
    renameSync(sqlite, `${sqlite}.away`);
    try {
      const handler = execFileSync(
        process.execPath,
        [
          '--input-type=module',
          '-e',
          "const { createRelay, MemoryOutbox } = await import('whopq/relay'); await import('whopq/relay/node'); await import('whopq/server'); console.log(typeof createRelay(new Object({ outbox: new MemoryOutbox() })).fetch)",
        ],
        { cwd: pkg.app, encoding: 'utf8' },
      );
      expect(handler.trim()).toBe('function');
      let failed: { status: number; stderr: string } | undefined;
      try {
        execFileSync(join(pkg.app, 'node_modules/.bin/whopq'), ['relay'], {
          cwd: pkg.app,
          encoding: 'utf8',
          stdio: 'pipe',
          env: { ...process.env, PORT: '0', HOST: '127.0.0.1', WHOPQ_DATA_DIR: join(pkg.work, 'data-nosqlite') },
        });
      } catch (error) {
        failed = error as { status: number; stderr: string };
      }
      expect(failed?.status).toBe(1);
      expect(failed?.stderr).toContain('npm install better-sqlite3');
    } finally {
      renameSync(`${sqlite}.away`, sqlite);
    }
  }, 60_000);

  it('stops `npx whopq relay` on a SIGTERM sent to npm (npm passes it to a shell, not to the relay), store closed and lock released', async () => {
    const data = join(pkg.work, 'data-npx');
    const { child, url, output } = await startInstalled(['npm', 'exec', '--offline', '--', 'whopq', 'relay'], {
      PORT: '0',
      HOST: '127.0.0.1',
      WHOPQ_DATA_DIR: data,
    });
    const relayPids = pidsUsing(data);
    expect(relayPids).toHaveLength(1);
    try {
      child.kill('SIGTERM');
      await portClosed(url, 10_000);
      const end = Date.now() + 10_000;
      while (pidsUsing(data).length && Date.now() < end) await new Promise((r) => setTimeout(r, 100));
      expect(pidsUsing(data), `the relay outlived npm:\n${output()}`).toEqual([]);
      await expectLockReleased(data);
    } finally {
      for (const pid of pidsUsing(data)) process.kill(pid, 'SIGKILL'); // only when the test failed: an orphan left running
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    }
  }, 60_000);
});

/** The Dockerfile's final stage: its ENV, WORKDIR, USER, VOLUME, EXPOSE, HEALTHCHECK and CMD. */
function finalStage(text: string) {
  const lines = text
    .replace(/\\\n/g, ' ')
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l && !l.startsWith('#'));
  const stages = lines.filter((l) => /^FROM\s/i.test(l)).length;
  const last = lines.slice(lines.map((l) => /^FROM\s/i.test(l)).lastIndexOf(true));
  const get = (op: string) => last.filter((l) => l.toUpperCase().startsWith(`${op} `)).map((l) => l.slice(op.length).trim());
  const env: Record<string, string> = {};
  for (const l of get('ENV')) for (const m of l.matchAll(/(\w+)=(\S+)/g)) env[m[1]!] = m[2]!;
  const health = get('HEALTHCHECK')[0] ?? '';
  return {
    stages,
    env,
    workdir: get('WORKDIR').at(-1),
    user: get('USER').at(-1),
    volumes: get('VOLUME').flatMap((v) => JSON.parse(v) as string[]),
    expose: get('EXPOSE'),
    health: JSON.parse(health.slice(health.indexOf('CMD') + 3).trim()) as string[],
    cmd: JSON.parse(get('CMD').at(-1) ?? '[]') as string[],
  };
}

describe('the container image (no Docker engine here: what the image runs, run from the packed install)', () => {
  const dockerfile = readFileSync(join(ROOT, 'Dockerfile'), 'utf8');
  const image = finalStage(dockerfile);

  it('passes the Dockerfile linter and is multi-stage, non-root, with the data directory a volume', () => {
    execFileSync(process.execPath, [join(ROOT, 'node_modules/dockerfile-utils/bin/dockerfile-utils'), 'lint', join(ROOT, 'Dockerfile')], {
      encoding: 'utf8',
    });
    expect(image.stages).toBeGreaterThanOrEqual(2);
    expect(image.user).toBeTruthy();
    expect(['root', '0']).not.toContain(image.user);
    expect(image.volumes).toContain(image.env.WHOPQ_DATA_DIR);
    expect(image.expose).toEqual([image.env.PORT]);
    expect(image.health.join(' ')).toContain('/health');
    expect(image.workdir).toBe('/app');
  });

  it('compose.yaml runs the image with Postgres, its data volume and a healthy-database start order', () => {
    const compose = parseYaml(readFileSync(join(ROOT, 'compose.yaml'), 'utf8')) as { services: Record<string, any> };
    const { relay, postgres } = compose.services;
    expect(relay.build).toBe('.');
    expect(relay.volumes).toContainEqual(expect.stringMatching(new RegExp(`:${image.env.WHOPQ_DATA_DIR}$`)));
    expect(relay.environment.WHOPQ_DATABASE_URL).toMatch(/^postgres:\/\/whopq:.*@postgres:5432\/whopq$/);
    expect(relay.depends_on.postgres.condition).toBe('service_healthy');
    expect(postgres.image).toMatch(/^postgres:/);
    expect(postgres.healthcheck.test.join(' ')).toContain('pg_isready');
  });

  it("starts as the image's CMD starts it: refuses to run without a key (production), forwards with one, answers its HEALTHCHECK, stops on SIGTERM", async () => {
    const port = String(await freePort());
    const data = join(pkg.work, 'image-data');
    const env = { ...image.env, PORT: port, WHOPQ_DATA_DIR: data };
    const run = (argv: string[], extra: Record<string, string> = {}) => spawnResult(argv, { ...env, ...extra });
    const [cmd, ...args] = image.cmd;

    const refused = await run(image.cmd);
    expect(refused.code).toBe(1);
    expect(refused.output).toContain('WHOP_API_KEY');

    const whop = await startFakeWhop({ apiKey: 'k_image_test' });
    try {
      const { child, output } = await startInstalled([cmd!, ...args], {
        ...env,
        WHOP_API_KEY: 'k_image_test',
        WHOP_COMPANY_ID: 'biz_pack0000000001',
        WHOP_API_BASE_URL: whop.url,
      });
      const url = `http://127.0.0.1:${port}`;
      try {
        expect((await run(image.health)).code).toBe(0);
        const posted = await fetch(`${url}/wq/e`, {
          method: 'POST',
          headers: { 'content-type': 'text/plain' },
          body: JSON.stringify({ events: [event('evt_image_1')] }),
        });
        expect(posted.status).toBe(200);
        const end = Date.now() + 20_000;
        while (whop.conversions.length === 0 && Date.now() < end) await new Promise((r) => setTimeout(r, 100));
        expect(whop.conversions.map((c) => c.body.event_id)).toEqual(['evt_image_1']);
        expect(output()).not.toContain('k_image_test');
      } finally {
        expect(await stop(child), output()).toBe(0);
      }
      expect((await run(image.health)).code, 'the health check fails once the relay is gone').toBe(1);
    } finally {
      await whop.close();
    }
  }, 120_000);
});

/** A free loopback port (listen on 0, note it, close). */
async function freePort(): Promise<number> {
  const { createServer } = await import('node:net');
  const server = createServer();
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const { port } = server.address() as { port: number };
  await new Promise((r) => server.close(r));
  return port;
}

/** Runs a command in the install directory to its end; resolves with its exit code and output. */
function spawnResult(argv: string[], env: Record<string, string>): Promise<{ code: number | null; output: string }> {
  return new Promise((ok) => {
    const child = spawn(argv[0]!, argv.slice(1), {
      cwd: pkg.app,
      env: { PATH: process.env.PATH!, ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let output = '';
    child.stdout!.on('data', (d: Buffer) => (output += d));
    child.stderr!.on('data', (d: Buffer) => (output += d));
    const timer = setTimeout(() => child.kill('SIGKILL'), 30_000);
    child.once('exit', (code) => (clearTimeout(timer), ok({ code, output })));
  });
}
