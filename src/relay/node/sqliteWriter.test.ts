import { mkdtempSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Worker } from 'node:worker_threads';
import { afterEach, beforeEach, expect, it } from 'vitest';
import { SqliteOutbox } from './sqliteOutbox';
import { sqliteWriterSource, type WriterConfig, type WriterReply } from './sqliteWriter';

let dir: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'whopq-writer-'));
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

/** Runs the writer source as the outbox does, with the given process flags, and sends it one group. */
async function oneGroup(execArgv: string[]): Promise<WriterReply[]> {
  const path = join(dir, 'w.db');
  await new SqliteOutbox({ path, retainMs: 0 }).close(); // the schema
  const config: WriterConfig = {
    sqlite: createRequire(import.meta.url).resolve('better-sqlite3'),
    path,
    dryRun: false,
    synchronous: 'FULL',
  };
  const worker = new Worker(sqliteWriterSource, { eval: true, workerData: config, execArgv });
  const replies: WriterReply[] = [];
  try {
    await new Promise<void>((done, fail) => {
      worker.on('error', fail);
      worker.on('message', (reply: WriterReply) => {
        replies.push(reply);
        if ('ready' in reply) {
          const row = { company_id: 'biz_a', event_name: 'lead', event_id: 'e1', body: '{}', received_at: 1, skipped: null, dropped: null };
          worker.postMessage({
            ops: [
              { k: 'append', rows: [row, row] },
              { k: 'claim', now: 2, limit: 5, leaseMs: 10 },
            ],
          });
        } else done();
      });
    });
  } finally {
    await worker.terminate();
  }
  return replies;
}

// A worker inherits the process's flags: started by `node --input-type=module -e …`, eval code is an
// ES module, where `require` does not exist.
for (const execArgv of [[], ['--input-type=module']]) {
  it(`runs as eval code with flags [${execArgv.join(' ')}]: a group commit answers in op order`, async () => {
    const replies = await oneGroup(execArgv);
    expect(replies[0]).toEqual({ ready: true });
    const { results } = replies[1] as Extract<WriterReply, { results: unknown }>;
    expect(results[0]).toEqual({ ok: true, value: [true, false], delta: { pending: 1 } });
    expect(results[1]).toMatchObject({ ok: true, value: [{ event_id: 'e1', attempts: 1, next_attempt_at: 12 }] });
  });
}

// The writer thread is unref'd while idle so an open outbox does not keep a process alive; a plain
// Node script that awaits its writes and its close must still run to the end (exit code 0, not 13).
it('keeps a plain Node process alive while it awaits writes and close()', async () => {
  const { build } = await import('esbuild');
  const { execFileSync } = await import('node:child_process');
  const { symlinkSync, writeFileSync } = await import('node:fs');
  const { resolve } = await import('node:path');
  await build({
    entryPoints: [resolve('src/relay/node/sqliteOutbox.ts')],
    bundle: true,
    platform: 'node',
    format: 'esm',
    packages: 'external',
    outfile: join(dir, 'outbox.mjs'),
    logLevel: 'warning',
  });
  symlinkSync(resolve('node_modules'), join(dir, 'node_modules'));
  writeFileSync(
    join(dir, 'script.mjs'),
    `import { SqliteOutbox } from './outbox.mjs';
     const o = new SqliteOutbox({ path: ${JSON.stringify(join(dir, 's.db'))} });
     const e = (id) => ({ company_id: 'biz_a', event_name: 'lead', event_id: id, received_at: Date.now(), body: {} });
     console.log(JSON.stringify(await o.append([e('a')])));
     console.log(JSON.stringify(await o.append([e('a'), e('b')])));
     await o.close();
     console.log('closed');`,
  );
  const out = execFileSync(process.execPath, [join(dir, 'script.mjs')], { cwd: dir, encoding: 'utf8', timeout: 15_000 });
  expect(out.trim().split('\n')).toEqual(['[true]', '[false,true]', 'closed']);
});
