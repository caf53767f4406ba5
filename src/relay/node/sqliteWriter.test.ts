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
  const config: WriterConfig = { sqlite: createRequire(import.meta.url).resolve('better-sqlite3'), path, dryRun: false, synchronous: 'FULL' };
  const worker = new Worker(sqliteWriterSource, { eval: true, workerData: config, execArgv });
  const replies: WriterReply[] = [];
  try {
    await new Promise<void>((done, fail) => {
      worker.on('error', fail);
      worker.on('message', (reply: WriterReply) => {
        replies.push(reply);
        if ('ready' in reply) {
          const row = { company_id: 'biz_a', event_id: 'e1', body: '{}', received_at: 1 };
          worker.postMessage({ ops: [{ k: 'append', rows: [row, row] }, { k: 'claim', now: 2, limit: 5, leaseMs: 10 }] });
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
    expect(results[0]).toEqual({ ok: true, value: [true, false] });
    expect(results[1]).toMatchObject({ ok: true, value: [{ event_id: 'e1', attempts: 1, next_attempt_at: 12 }] });
  });
}
