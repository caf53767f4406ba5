import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import type { Worker } from 'node:worker_threads';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { OutboxUnavailableError, type OutboxInput } from '../lib/outbox';
import { SqliteOutbox } from './sqliteOutbox';

let dir: string;
const open: SqliteOutbox[] = [];
function outbox(options: { dryRun?: boolean; maxBytes?: number; retainMs?: number } = {}): SqliteOutbox {
  const o = new SqliteOutbox({ path: join(dir, 'outbox.db'), ...options });
  open.push(o);
  return o;
}
function event(id: string, received_at = Date.now(), company_id = 'biz_a'): OutboxInput {
  return {
    company_id,
    event_name: 'lead',
    event_id: id,
    received_at,
    body: { company_id, event_id: id, event_name: 'lead', url: 'https://s.example/' },
  };
}
/** Reads the file with a second, independent connection: what is really on disk. */
function onDisk(): Array<{ event_id: string; state: string }> {
  const db = new Database(join(dir, 'outbox.db'), { readonly: true });
  try {
    return db.prepare('SELECT event_id, state FROM events ORDER BY seq').all() as Array<{ event_id: string; state: string }>;
  } finally {
    db.close();
  }
}

/**
 * Counts commit frames in the WAL file: a frame header's bytes 4..8 hold the database size after a
 * commit and zero otherwise (https://www.sqlite.org/fileformat.html#wal_file_format).
 */
function walCommits(): number {
  const wal = readFileSync(join(dir, 'outbox.db-wal'));
  const pageSize = wal.readUInt32BE(8);
  let commits = 0;
  for (let at = 32; at + 24 + pageSize <= wal.length; at += 24 + pageSize) if (wal.readUInt32BE(at + 4) !== 0) commits++;
  return commits;
}

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'whopq-outbox-'));
});
afterEach(async () => {
  for (const o of open.splice(0)) await o.close();
  rmSync(dir, { recursive: true, force: true });
});

// The contract every outbox keeps (dedup, claims, settles, stats, pruning) is test/outboxContract.ts;
// these are SQLite's own: commits in the WAL, the writer thread, the write lock, query plans.
describe('SqliteOutbox', () => {
  it('groups appends of one tick into one transaction, each resolved after commit', async () => {
    const o = outbox();
    const before = walCommits();
    const calls = Array.from({ length: 20 }, (_, i) => o.append([event(`e${i}a`), event(`e${i}b`)]));
    const results = await Promise.all(calls);
    expect(results).toEqual(Array.from({ length: 20 }, () => [true, true]));
    // Every caller's rows are visible to another connection once its promise resolved.
    expect(onDisk()).toHaveLength(40);
    // One commit for the 20 calls.
    expect(walCommits() - before).toBe(1);
    // Calls in a later tick get their own commit.
    await o.append([event('later')]);
    expect(walCommits() - before).toBe(2);
  });

  it('migrates a store made with the old (company_id, event_id) schema: events survive and dedup on the new key', async () => {
    const path = join(dir, 'outbox.db');
    const old = new Database(path);
    old.pragma('journal_mode = WAL');
    // The schema relays before the identity change created (user_version 0).
    old.exec(`CREATE TABLE events (seq INTEGER PRIMARY KEY, company_id TEXT NOT NULL, event_id TEXT NOT NULL, body TEXT NOT NULL,
      received_at INTEGER NOT NULL, state TEXT NOT NULL, attempts INTEGER NOT NULL DEFAULT 0, next_attempt_at INTEGER, lease_until INTEGER,
      delivered_at INTEGER, last_error TEXT, whop_id TEXT, UNIQUE (company_id, event_id));
      CREATE INDEX events_due ON events (state, next_attempt_at);
      CREATE INDEX events_state ON events (state, received_at);
      CREATE INDEX events_received ON events (received_at);`);
    const t = Date.now() - 10_000;
    const put = old.prepare(
      'INSERT INTO events (company_id, event_id, body, received_at, state, attempts, next_attempt_at, lease_until, delivered_at, whop_id) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)',
    );
    const body = (id: string, name: string) =>
      JSON.stringify({ company_id: 'biz_a', event_id: id, event_name: name, url: 'https://s.example/' });
    put.run('biz_a', 'old-delivered', body('old-delivered', 'lead'), t, 'delivered', 1, null, null, t + 1, 'conv_1');
    put.run('biz_a', 'old-pending', body('old-pending', 'schedule'), t + 1, 'pending', 0, t + 1, null, null, null);
    put.run('biz_a', 'old-leased', body('old-leased', 'lead'), t + 2, 'pending', 1, t + 60_000, t + 60_000, null, null);
    old.close();

    const o = outbox();
    expect(onDisk()).toEqual([
      { event_id: 'old-delivered', state: 'delivered' },
      { event_id: 'old-pending', state: 'pending' },
      { event_id: 'old-leased', state: 'pending' },
    ]);
    const recent = await o.recent(10);
    expect(recent.map((r) => [r.event_name, r.event_id, r.state])).toEqual([
      ['lead', 'old-leased', 'pending'],
      ['schedule', 'old-pending', 'pending'],
      ['lead', 'old-delivered', 'delivered'],
    ]);
    expect(recent[2]).toMatchObject({ whop_id: 'conv_1', attempts: 1 });
    // Dedup on the new key: a resend is a duplicate, the same id under another name is new.
    const resend: OutboxInput = {
      company_id: 'biz_a',
      event_name: 'lead',
      event_id: 'old-delivered',
      received_at: Date.now(),
      body: JSON.parse(body('old-delivered', 'lead')),
    };
    expect(await o.append([resend, { ...resend, event_name: 'schedule', body: { ...resend.body, event_name: 'schedule' } }])).toEqual([
      false,
      true,
    ]);
    // The previous process's lease was released: both pending events are due, in their old order.
    expect((await o.claim(Date.now(), 10, 60_000)).map((r) => r.event_id)).toEqual(['old-pending', 'old-leased', 'old-delivered']);
    await o.close();
    // Reopening a migrated store is a no-op.
    const again = outbox();
    expect((await again.stats()).pending).toBe(3);
  });

  it('lets a lapsed lease be claimed again, and releases leases on reopen (restart after a crash)', async () => {
    const o = outbox();
    const t = Date.now();
    await o.append([event('a', t)]);
    expect(await o.claim(t, 10, 60_000)).toHaveLength(1);
    expect(await o.claim(t + 59_999, 10, 60_000)).toHaveLength(0);
    expect(await o.claim(t + 60_000, 10, 60_000)).toHaveLength(1);
    // The process dies holding the lease; the next one resumes without waiting it out.
    await o.close();
    const reopened = outbox();
    expect((await reopened.claim(Date.now(), 10, 60_000)).map((r) => [r.event_id, r.attempts])).toEqual([['a', 3]]);
  });

  it('rejects with OutboxUnavailableError and writes nothing of the batch when the disk is full', async () => {
    const o = outbox({ maxBytes: 64 * 1024 });
    await o.append([event('small')]);
    const big = (id: string): OutboxInput => ({
      ...event(id),
      body: { ...event(id).body, url: `https://s.example/${'x'.repeat(20_000)}` },
    });
    // Same turn, one group: the batch that cannot fit fails as a whole; the caller whose write fits
    // is not taken down with it (each write is retried alone after a failed group commit).
    const [fits, tooBig] = await Promise.allSettled([o.append([event('g1')]), o.append([big('b1'), big('b2'), big('b3'), big('b4')])]);
    expect(fits).toEqual({ status: 'fulfilled', value: [true] });
    expect(tooBig.status).toBe('rejected');
    expect((tooBig as PromiseRejectedResult).reason).toBeInstanceOf(OutboxUnavailableError);
    expect(onDisk().map((r) => r.event_id)).toEqual(['small', 'g1']);
    // Alone, it still fails, and still writes none of its events.
    await expect(o.append([event('b5'), big('b6'), big('b7'), big('b8'), big('b9')])).rejects.toBeInstanceOf(OutboxUnavailableError);
    expect(onDisk().map((r) => r.event_id)).toEqual(['small', 'g1']);
    expect(await o.append([event('after')])).toEqual([true]);
  });

  it('rejects with OutboxUnavailableError when another connection holds the write lock, writing nothing', async () => {
    const o = outbox();
    await o.append([event('a')]);
    const other = new Database(join(dir, 'outbox.db'));
    other.exec('BEGIN IMMEDIATE');
    try {
      await expect(o.append([event('b'), event('c')])).rejects.toBeInstanceOf(OutboxUnavailableError);
      // Reads on the main thread are not held up by the lock.
      expect((await o.stats()).pending).toBe(1);
    } finally {
      other.exec('ROLLBACK');
      other.close();
    }
    expect(onDisk().map((r) => r.event_id)).toEqual(['a']);
    expect(await o.append([event('b')])).toEqual([true]);
  });

  it('keeps taking writes while a commit is in flight, and sends them as the next group', async () => {
    const o = outbox();
    await o.append([event('a')]);
    const before = walCommits();
    // The writer thread waits for the lock (busy_timeout) with 'b' in hand; the event loop does not.
    const other = new Database(join(dir, 'outbox.db'));
    other.exec('BEGIN IMMEDIATE');
    const first = o.append([event('b')]);
    await new Promise((r) => setImmediate(r));
    await new Promise((r) => setImmediate(r));
    const later = [o.append([event('c')])];
    await new Promise((r) => setImmediate(r));
    later.push(o.append([event('d'), event('b')]));
    other.exec('ROLLBACK');
    other.close();
    expect(await first).toEqual([true]);
    expect(await Promise.all(later)).toEqual([[true], [true, false]]);
    expect(onDisk().map((r) => r.event_id)).toEqual(['a', 'b', 'c', 'd']);
    // 'b' alone, then 'c' and 'd' (queued during its commit) together.
    expect(walCommits() - before).toBe(2);
  });

  it('reports unavailable when the writer thread dies, starts a new one, and loses nothing it acknowledged', async () => {
    const o = outbox();
    const woken: number[] = [];
    o.onAppend(() => woken.push(1));
    expect(await o.append([event('a')])).toEqual([true]);
    const worker = (o as unknown as { _worker: Worker })._worker;
    // 'b' is queued for the thread that is being stopped: it commits, or fails with a 503.
    const inFlight = o.append([event('b')]).then(
      (value) => ({ value }),
      (error: unknown) => ({ error }),
    );
    await worker.terminate();
    const b = await inFlight;
    if ('error' in b) expect(b.error).toBeInstanceOf(OutboxUnavailableError);
    else expect(b.value).toEqual([true]);
    // Unavailable until the new thread takes writes; then the browser's resend of 'b' is stored or recognised.
    const resent = await vi.waitFor(() => o.append([event('b'), event('c')]), { timeout: 10_000, interval: 20 });
    expect(resent).toEqual(['error' in b ? true : false, true]);
    expect((o as unknown as { _worker: Worker })._worker).not.toBe(worker);
    expect(onDisk().map((r) => r.event_id)).toEqual(['a', 'b', 'c']);
    expect(woken.length).toBeGreaterThanOrEqual(2);
    // Claims and settles go through the new thread too.
    const claimed = await o.claim(Date.now() + 1000, 10, 60_000);
    expect(claimed.map((r) => r.event_id)).toEqual(['a', 'b', 'c']);
    await o.settle({ company_id: 'biz_a', event_name: 'lead', event_id: 'a' }, { kind: 'delivered', at: Date.now(), whop_id: null });
    expect((await o.stats()).delivered).toBe(1);
  });

  it('commits the writes queued before close, and refuses later ones', async () => {
    const o = outbox();
    const queued = o.append([event('a'), event('b')]);
    const closing = o.close();
    await expect(o.append([event('c')])).rejects.toBeInstanceOf(OutboxUnavailableError);
    expect(await queued).toEqual([true, true]);
    await closing;
    expect(onDisk().map((r) => r.event_id)).toEqual(['a', 'b']);
  });

  it('keeps claim and stats on indices (100k rows)', async () => {
    const o = outbox();
    const t = Date.now();
    await o.append(Array.from({ length: 100_000 }, (_, i) => event(`e${i}`, t - 100_000 + i)));
    const db = (o as unknown as { _db: Database.Database })._db;
    const plan = (sql: string) =>
      (db.prepare(`EXPLAIN QUERY PLAN ${sql}`).all() as Array<{ detail: string }>).map((r) => r.detail).join(' | ');
    expect(plan("SELECT seq FROM events WHERE state = 'pending' AND next_attempt_at <= 1 ORDER BY next_attempt_at, seq LIMIT 8")).toMatch(
      /USING (COVERING )?INDEX events_due/,
    );
    expect(
      plan("SELECT seq FROM events WHERE state = 'pending' AND next_attempt_at <= 1 ORDER BY next_attempt_at, seq LIMIT 8"),
    ).not.toMatch(/TEMP B-TREE/);
    expect(plan("SELECT min(next_attempt_at) FROM events WHERE state = 'pending'")).toMatch(/USING COVERING INDEX events_due/);
    expect(plan("SELECT min(received_at) FROM events WHERE state = 'pending'")).toMatch(/USING COVERING INDEX events_state/);
    expect(plan('SELECT state, count(*) FROM events GROUP BY state')).toMatch(/USING COVERING INDEX events_state/);
    expect(plan('SELECT count(*) FROM events WHERE received_at >= 1')).toMatch(/USING COVERING INDEX events_received/);
    expect((await o.claim(t, 8, 1000)).map((r) => r.event_id)).toEqual(['e0', 'e1', 'e2', 'e3', 'e4', 'e5', 'e6', 'e7']);
    expect((await o.stats()).pending).toBe(100_000);
  });
});

describe('issue 17: stats from counters', () => {
  it('keeps exact counts through appends, settles, prunes and a reopen, without counting rows per call', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'whopq-counts-'));
    const path = join(dir, 'o.db');
    try {
      let box = new SqliteOutbox({ path, retainMs: 0 });
      const now = Date.now();
      const input = Array.from({ length: 30 }, (_, i) => ({
        company_id: 'biz_c',
        event_name: 'lead',
        event_id: `c${i}`,
        received_at: now - (i < 5 ? 40 * 86_400_000 : 0),
        body: { company_id: 'biz_c', event_name: 'lead' as const, event_id: `c${i}` },
      }));
      await box.append(input);
      await box.append(input.slice(0, 3)); // duplicates change nothing
      const key = (i: number) => ({ company_id: 'biz_c', event_name: 'lead', event_id: `c${i}` });
      for (let i = 0; i < 5; i++) await box.settle(key(i), { kind: 'delivered', at: now, whop_id: null });
      for (let i = 5; i < 8; i++) await box.settle(key(i), { kind: 'dead', at: now, error: 'x' });
      await box.settle(key(8), { kind: 'retry', at: now, next_attempt_at: now, error: 'y' });
      expect(await box.stats()).toMatchObject({ pending: 22, delivered: 5, dead: 3, dry_run: 0 });
      await box.close();
      box = new SqliteOutbox({ path, retainMs: 30 * 86_400_000 });
      await box.prune(); // after the one the constructor started, which deleted the 5 old delivered events
      const s = await box.stats();
      expect(s).toMatchObject({ pending: 22, delivered: 0, dead: 3 });
      expect(s.per_minute.reduce((n, [, c]) => n + c, 0)).toBe(25);
      // The counts are kept, not counted per call: rows added behind the outbox's back do not show.
      const raw = new Database(path);
      raw
        .prepare(
          "INSERT INTO events (company_id, event_name, event_id, body, received_at, state) VALUES ('biz_c', 'lead', 'behind', '{}', 0, 'pending')",
        )
        .run();
      raw.close();
      expect((await box.stats()).pending).toBe(22);
      await box.close();
      // A reopen counts the rows once.
      box = new SqliteOutbox({ path, retainMs: 0 });
      expect((await box.stats()).pending).toBe(23);
      await box.close();
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
