import { createRequire } from 'node:module';
import { Worker } from 'node:worker_threads';
import type { VisitorRow, VisitorStore } from '../lib/visitorMemory';
import type { VisitorRecord } from '../lib/visitorRecord';
import { loadBetterSqlite } from './loadBetterSqlite';

const _SCHEMA = `
CREATE TABLE IF NOT EXISTS visitors (
  company_id TEXT NOT NULL,
  key TEXT NOT NULL,
  aid TEXT,
  at INTEGER NOT NULL,
  record TEXT NOT NULL,
  PRIMARY KEY (company_id, key)
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS visitors_at ON visitors (at);
CREATE INDEX IF NOT EXISTS visitors_aid ON visitors (aid) WHERE aid IS NOT NULL;`;

/**
 * The writer thread's code (a source string run with `eval`, as `sqliteWriter` does for the outbox,
 * so every build carries it): puts, forgets and pruning, one transaction a message, answered by id.
 */
const _WRITER = String.raw`'use strict';
const { parentPort, workerData: config } = process.getBuiltinModule('node:worker_threads');
const Database = process.getBuiltinModule('node:module').createRequire(config.sqlite)(config.sqlite);
const db = new Database(config.path);
db.pragma('journal_mode = WAL');
db.pragma('synchronous = NORMAL');
db.pragma('busy_timeout = 1000');
const put = db.prepare('INSERT INTO visitors (company_id, key, aid, at, record) VALUES (?, ?, ?, ?, ?) ' +
  'ON CONFLICT (company_id, key) DO UPDATE SET aid = excluded.aid, at = excluded.at, record = excluded.record');
const forget = db.prepare('DELETE FROM visitors WHERE aid = ?');
const expire = db.prepare('DELETE FROM visitors WHERE at < ?');
const count = db.prepare('SELECT count(*) AS n FROM visitors');
const trim = db.prepare('DELETE FROM visitors WHERE (company_id, key) IN (SELECT company_id, key FROM visitors ORDER BY at LIMIT ?)');
const ops = {
  put: db.transaction((m) => {
    for (const r of m.rows) put.run(r.company_id, r.key, r.record.aid ?? null, r.record.at, JSON.stringify(r.record));
    return m.rows.length;
  }),
  forget: (m) => forget.run(m.aid).changes,
  prune: db.transaction((m) => {
    let n = expire.run(m.before).changes;
    const over = count.get().n - m.max;
    if (over > 0) n += trim.run(over).changes;
    return n;
  }),
};
parentPort.on('message', (m) => {
  try {
    parentPort.postMessage({ id: m.id, ok: true, value: ops[m.op](m) });
  } catch (error) {
    parentPort.postMessage({ id: m.id, ok: false, message: String(error && error.message) });
  }
});
`;

/**
 * Visitor memory in its own SQLite file (`visitors.db` next to the outbox's `whopq.db`): SQLite has
 * one writer a file, so memory writes never wait for, or delay, an event's commit. Reads on the
 * main thread; writes on a thread of their own (an upsert costs tens of µs, which the event loop
 * serving ingest should not pay). WAL with synchronous=NORMAL: a power cut may lose the last
 * touches, never an event. Keyed by (company, key) without a rowid; indexes on the time (pruning)
 * and the anonymous id (`/forget`). A writer thread that dies fails its writes (memory is best
 * effort) and is started again by the next one.
 */
export function createSqliteVisitorStore(path: string): VisitorStore {
  const Database = loadBetterSqlite();
  const db = new Database(path);
  db.pragma('journal_mode = WAL');
  db.pragma('busy_timeout = 1000');
  db.exec(_SCHEMA);
  const get = db.prepare<[string, string], { record: string }>('SELECT record FROM visitors WHERE company_id = ? AND key = ?');
  const count = db.prepare<[], { n: number }>('SELECT count(*) AS n FROM visitors');
  const workerData = { sqlite: createRequire(import.meta.url).resolve('better-sqlite3'), path };
  const waiting = new Map<number, { _resolve: (v: number) => void; _reject: (e: Error) => void }>();
  let worker: Worker | null = null;
  let next = 0;

  const writer = (): Worker => {
    if (worker) return worker;
    const w = new Worker(_WRITER, { eval: true, workerData });
    w.unref();
    w.on('message', (reply: { id: number; ok: boolean; value?: number; message?: string }) => {
      const p = waiting.get(reply.id);
      waiting.delete(reply.id);
      if (reply.ok) p?._resolve(reply.value ?? 0);
      else p?._reject(new Error(`visitor memory write failed: ${reply.message}`));
      if (waiting.size === 0) w.unref();
    });
    w.on('error', () => {});
    w.on('exit', () => {
      if (worker === w) worker = null;
      for (const p of waiting.values()) p._reject(new Error('visitor memory writer stopped'));
      waiting.clear();
    });
    worker = w;
    return w;
  };
  const write = (op: string, message: Record<string, unknown>) =>
    new Promise<number>((resolve, reject) => {
      const w = writer();
      const id = ++next;
      waiting.set(id, { _resolve: resolve, _reject: reject });
      w.ref();
      w.postMessage({ id, op, ...message });
    });

  return {
    async get(company_id, keys) {
      const out = new Map<string, VisitorRecord>();
      for (const key of keys) {
        const row = get.get(company_id, key);
        if (row) out.set(key, JSON.parse(row.record) as VisitorRecord);
      }
      return out;
    },
    async put(rows: readonly VisitorRow[]) {
      if (rows.length) await write('put', { rows });
    },
    forget: (aid) => write('forget', { aid }),
    prune: (before, max) => write('prune', { before, max }),
    async size() {
      return count.get()!.n;
    },
    async close() {
      const w = worker;
      worker = null;
      if (w) await w.terminate();
      db.close();
    },
  };
}
