// The real `whopq relay` command as a child process, for the scenarios that kill it, sample its
// memory or read everything it prints. The CLI is bundled from source into a temp dir (so the suite
// neither needs nor races a shared dist/ build) and started exactly as bin/whopq.mjs starts it.
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { build } from 'esbuild';
import { until } from './events';

export interface RelayChild {
  child: ChildProcess;
  /** `http://127.0.0.1:<port>/wq`. */
  base: string;
  port: number;
  /** Everything it printed (stdout and stderr). */
  output(): string;
  /** Resident set size in bytes, from /proc (Linux). */
  rss(): number;
  /** SIGKILL and wait for the exit. */
  kill(): Promise<void>;
}

export interface RelayBuild {
  dir: string;
  start(env: Record<string, string>): Promise<RelayChild>;
  /** Kills every child still running and removes the build. */
  dispose(): void;
}

/** Bundles src/relay/node/cli.ts into a temp dir; `start(env)` runs `whopq relay` with that env. */
export async function buildRelay(): Promise<RelayBuild> {
  const dir = mkdtempSync(join(tmpdir(), 'whopq-chaos-cli-'));
  await build({
    entryPoints: [resolve('src/relay/node/cli.ts')],
    bundle: true,
    platform: 'node',
    format: 'esm',
    target: 'node20',
    packages: 'external',
    outfile: join(dir, 'cli.mjs'),
    logLevel: 'warning',
  });
  symlinkSync(resolve('node_modules'), join(dir, 'node_modules'));
  writeFileSync(join(dir, 'whopq.mjs'), "import { main } from './cli.mjs';\nawait main(process.argv.slice(2));\n");
  const children = new Set<ChildProcess>();

  return {
    dir,
    async start(env) {
      const child = spawn(process.execPath, [join(dir, 'whopq.mjs'), 'relay'], {
        cwd: dir,
        env: { PATH: process.env.PATH, HOST: '127.0.0.1', PORT: '0', ...env },
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      children.add(child);
      child.on('exit', () => children.delete(child));
      let out = '';
      child.stdout!.on('data', (c: Buffer) => (out += c.toString()));
      child.stderr!.on('data', (c: Buffer) => (out += c.toString()));
      let port = 0;
      await until(
        Date.now() + 20_000,
        () => {
          if (child.exitCode !== null) throw new Error(`the relay exited early:\n${out}`);
          const m = /listening on http:\/\/127\.0\.0\.1:(\d+)/.exec(out);
          if (m) port = Number(m[1]);
          return port > 0;
        },
        25,
      );
      if (!port) throw new Error(`the relay did not start:\n${out}`);
      return {
        child,
        port,
        base: `http://127.0.0.1:${port}/wq`,
        output: () => out,
        rss: () => {
          const m = /^VmRSS:\s+(\d+) kB/m.exec(readFileSync(`/proc/${child.pid}/status`, 'utf8'));
          return m ? Number(m[1]) * 1024 : 0;
        },
        async kill() {
          if (child.exitCode !== null || child.signalCode !== null) return;
          const exited = new Promise<void>((r) => child.once('exit', () => r()));
          child.kill('SIGKILL');
          await exited;
        },
      };
    },
    dispose() {
      for (const c of children) c.kill('SIGKILL');
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
