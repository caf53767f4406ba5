import type { VisitorStore } from '../lib/visitorMemory';
import type { VisitorRecord } from '../lib/visitorRecord';
import { loadBetterSqlite } from './loadBetterSqlite';

/**
 * Visitor memory in its own SQLite file (`visitors.db` next to the outbox's `whopq.db`): the
 * outbox's group commit runs on a worker thread and SQLite has one writer a file, so memory
 * writes never wait for, or delay, an event's commit. WAL with synchronous=NORMAL: a power cut may
 * lose the last touches, never an event. Keyed by (company, key) without a rowid; indexes on the
 * time (pruning) and the anonymous id (`/forget`).
 */
export function createSqliteVisitorStore(path: string): VisitorStore {
  const Database = loadBetterSqlite();
  const db = new Database(path);
  db.pragma('journal_mode = WAL');
  db.pragma('synchronous = NORMAL');
  db.exec(`
CREATE TABLE IF NOT EXISTS visitors (
  company_id TEXT NOT NULL,
  key TEXT NOT NULL,
  aid TEXT,
  at INTEGER NOT NULL,
  record TEXT NOT NULL,
  PRIMARY KEY (company_id, key)
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS visitors_at ON visitors (at);
CREATE INDEX IF NOT EXISTS visitors_aid ON visitors (aid) WHERE aid IS NOT NULL;`);
  const get = db.prepare<[string, string], { record: string }>('SELECT record FROM visitors WHERE company_id = ? AND key = ?');
  const put = db.prepare(
    'INSERT INTO visitors (company_id, key, aid, at, record) VALUES (?, ?, ?, ?, ?) ' +
      'ON CONFLICT (company_id, key) DO UPDATE SET aid = excluded.aid, at = excluded.at, record = excluded.record',
  );
  const putMany = db.transaction((rows: Parameters<VisitorStore['put']>[0]) => {
    for (const r of rows) put.run(r.company_id, r.key, r.record.aid ?? null, r.record.at, JSON.stringify(r.record));
  });
  const forget = db.prepare('DELETE FROM visitors WHERE aid = ?');
  const expire = db.prepare('DELETE FROM visitors WHERE at < ?');
  const count = db.prepare<[], { n: number }>('SELECT count(*) AS n FROM visitors');
  const trim = db.prepare('DELETE FROM visitors WHERE (company_id, key) IN (SELECT company_id, key FROM visitors ORDER BY at LIMIT ?)');
  return {
    async get(company_id, keys) {
      const out = new Map<string, VisitorRecord>();
      for (const key of keys) {
        const row = get.get(company_id, key);
        if (row) out.set(key, JSON.parse(row.record) as VisitorRecord);
      }
      return out;
    },
    async put(rows) {
      putMany(rows);
    },
    async forget(anonymousId) {
      return forget.run(anonymousId).changes;
    },
    async prune(before, maxEntries) {
      let n = expire.run(before).changes;
      const over = count.get()!.n - maxEntries;
      if (over > 0) n += trim.run(over).changes;
      return n;
    },
    async size() {
      return count.get()!.n;
    },
    async close() {
      db.close();
    },
  };
}
