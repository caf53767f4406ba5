// The data-directory lock across real processes: relays starting at the same moment on a stale
// lock, a live holder in another process, a pid file left by an older version.
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { build } from 'esbuild';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { lockDataDir } from './lockDataDir';

let work: string;
let script: string;
beforeAll(async () => {
  work = mkdtempSync(join(tmpdir(), 'whopq-lock-'));
  script = join(work, 'claim.mjs');
  // Each child waits for a shared start time, claims the directory, says so, and holds it a while.
  writeFileSync(
    join(work, 'entry.ts'),
    `import { lockDataDir } from ${JSON.stringify(resolve('src/relay/node/lockDataDir.ts'))};
const [dir, startAt, holdMs] = process.argv.slice(2);
while (Date.now() < Number(startAt)) {}
try { lockDataDir(dir); process.stdout.write('won'); setTimeout(() => {}, Number(holdMs)); }
catch (e) { process.stdout.write('lost ' + e.message); }
`,
  );
  symlinkSync(resolve('node_modules'), join(work, 'node_modules'));
  await build({
    entryPoints: [join(work, 'entry.ts')],
    bundle: true,
    platform: 'node',
    format: 'esm',
    packages: 'external',
    outfile: script,
    logLevel: 'warning',
  });
});
afterAll(() => rmSync(work, { recursive: true, force: true }));

/** Starts `n` processes that all claim `dir` at the same instant; resolves with what each printed. */
function race(dir: string, n: number, holdMs: number): Promise<string[]> {
  const startAt = Date.now() + 1_500;
  return Promise.all(
    Array.from(
      { length: n },
      () =>
        new Promise<string>((done) => {
          const child = spawn(process.execPath, [script, dir, String(startAt), String(holdMs)], {
            cwd: resolve('.'),
            stdio: ['ignore', 'pipe', 'inherit'],
          });
          let out = '';
          child.stdout!.on('data', (c: Buffer) => (out += c.toString()));
          child.on('exit', () => done(out));
        }),
    ),
  );
}

describe('lockDataDir', () => {
  it('of relays starting at once on a stale lock, exactly one wins (every trial)', { timeout: 120_000 }, async () => {
    const trials = 6;
    const winners: number[] = [];
    for (let t = 0; t < trials; t++) {
      const dir = mkdtempSync(join(work, 'd-'));
      // The stale state a killed relay leaves: the lock database (and an old version's pid file).
      writeFileSync(join(dir, 'whopq.lock'), '999999');
      if (t % 2) (await race(dir, 1, 0)).forEach((o) => expect(o).toBe('won'));
      const outs = await race(dir, 4, 1_500);
      winners.push(outs.filter((o) => o === 'won').length);
      for (const o of outs) if (o !== 'won') expect(o).toMatch(/^lost The data directory .* is in use by another relay/);
    }
    expect(winners).toEqual(Array(trials).fill(1));
  });

  it('refuses while another live process holds it, and takes it once that process is gone', { timeout: 60_000 }, async () => {
    const dir = mkdtempSync(join(work, 'd-'));
    const child = spawn(process.execPath, [script, dir, '0', '60000'], { cwd: resolve('.'), stdio: ['ignore', 'pipe', 'inherit'] });
    const exited = new Promise((r) => child.once('exit', r));
    const said = await new Promise<string>((r) => child.stdout!.once('data', (c: Buffer) => r(c.toString())));
    expect(said).toBe('won');
    expect(() => lockDataDir(dir)).toThrow(/in use by another relay/);
    child.kill('SIGKILL');
    await exited;
    const release = lockDataDir(dir);
    expect(() => lockDataDir(dir)).toThrow(/already used by a relay in this process/);
    release();
    lockDataDir(dir)();
  });
});
