import { join, resolve } from 'node:path';
import type Database from 'better-sqlite3';
import { loadBetterSqlite } from './loadBetterSqlite';

/**
 * Lock databases held by this process, by path: a second relay here on the same directory is
 * refused too, and the connection stays referenced (a collected connection closes, dropping the lock).
 */
const _held = new Map<string, Database.Database>();

/**
 * Claims `dir` for one relay process with an OS-level lock: `whopq.lock.db` is a SQLite database
 * held in `locking_mode=EXCLUSIVE` after a write, so the kernel's file lock (fcntl) is ours until
 * the connection closes or the process dies. Two relays on one SQLite outbox would each run a
 * forwarder and share leases they never agreed on; unlike a pid file, this lock cannot be taken
 * over by a relay in another pid namespace (two containers on one volume) nor won twice by two
 * relays starting at once, and a crash releases it by itself. Throws, in plain words, when another
 * process holds it. Returns the release function (idempotent), to call after the store is closed.
 */
export function lockDataDir(dir: string): () => void {
  // Not `whopq.lock`, the pid file of earlier versions: replacing that file in place would race.
  const path = resolve(join(dir, 'whopq.lock.db'));
  if (_held.has(path)) throw new Error(`The data directory ${resolve(dir)} is already used by a relay in this process.`);
  const busy = () =>
    new Error(`The data directory ${resolve(dir)} is in use by another relay. Stop it, or give this one its own WHOPQ_DATA_DIR.`);
  const Sqlite = loadBetterSqlite();
  const db: Database.Database = new Sqlite(path, { timeout: 0 });
  try {
    db.pragma('locking_mode = EXCLUSIVE');
    // The write takes the EXCLUSIVE lock; in this locking mode it is kept after the commit.
    db.exec('BEGIN EXCLUSIVE; CREATE TABLE IF NOT EXISTS holder (pid INTEGER); DELETE FROM holder; COMMIT;');
    db.prepare('INSERT INTO holder (pid) VALUES (?)').run(process.pid);
  } catch (error) {
    db.close();
    const code = (error as { code?: string }).code;
    if (code === 'SQLITE_BUSY' || code === 'SQLITE_LOCKED') throw busy();
    throw error;
  }
  _held.set(path, db);
  let released = false;
  return () => {
    if (released) return;
    released = true;
    _held.delete(path);
    try {
      db.close();
    } catch {}
  };
}
