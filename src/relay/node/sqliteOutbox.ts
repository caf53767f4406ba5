import { createRequire } from 'node:module';
import { Worker } from 'node:worker_threads';
import type Database from 'better-sqlite3';
import type { RelayEvent } from '../lib/relayEvent';
import {
  OutboxUnavailableError,
  type EventKey,
  type EventRepair,
  type OutboxInput,
  type OutboxRecord,
  type OutboxState,
  type OutboxStats,
  type Outcome,
  type PullOutbox,
} from '../lib/outbox';
import { loadBetterSqlite } from './loadBetterSqlite';
import { sqliteWriterSource, type WriterConfig, type WriterOp, type WriterReply } from './sqliteWriter';

export interface SqliteOutboxOptions {
  /** The database file (created with its directory's WAL side files). `:memory:` works for tests. */
  path: string;
  /** Store events as `dry_run` (never claimed, never forwarded): no API key is configured. Default false. */
  dryRun?: boolean;
  /**
   * `FULL` (default) fsyncs the WAL at every commit, so an acknowledged event survives power loss.
   * `NORMAL` survives a process crash but may lose the last commits on power loss
   * (https://www.sqlite.org/pragma.html#pragma_synchronous).
   */
  synchronous?: 'FULL' | 'NORMAL';
  /** Caps the database size; past it appends fail (503) instead of filling the disk. Default: no cap. */
  maxBytes?: number;
  /**
   * Delivered, dead and dry-run events are deleted this long after receipt (ms), checked every
   * 10 minutes. Keep it well past the pixel's 7-day queue expiry: a deleted id is no longer
   * recognised as a duplicate. Default 30 days; 0 keeps everything.
   */
  retainMs?: number;
}

/** One write waiting for (or in) a group commit on the writer thread. */
interface _Pending {
  _op: WriterOp;
  _resolve: (result: never) => void;
  _reject: (error: unknown) => void;
}

interface _Row {
  company_id: string;
  event_name: string;
  event_id: string;
  body: string;
  received_at: number;
  state: OutboxState;
  attempts: number;
  next_attempt_at: number | null;
  delivered_at: number | null;
  last_error: string | null;
  whop_id: string | null;
  dropped: string | null;
}

/**
 * Schema version in `PRAGMA user_version`. 0/1: unique on (company_id, event_id), no event_name or
 * dropped column; 2: unique on the event identity (company_id, event_name, event_id).
 */
const _VERSION = 2;

const _TABLE = `
CREATE TABLE IF NOT EXISTS events (
  seq INTEGER PRIMARY KEY,
  company_id TEXT NOT NULL,
  event_name TEXT NOT NULL,
  event_id TEXT NOT NULL,
  body TEXT NOT NULL,
  received_at INTEGER NOT NULL,
  state TEXT NOT NULL,
  attempts INTEGER NOT NULL DEFAULT 0,
  next_attempt_at INTEGER,
  lease_until INTEGER,
  delivered_at INTEGER,
  last_error TEXT,
  whop_id TEXT,
  dropped TEXT,
  UNIQUE (company_id, event_name, event_id)
);
`;

const _INDEXES = `-- claim and nextDueAt: due pending events in due order (the rowid, seq, breaks ties). Not a partial
-- index: without ANALYZE statistics the planner would prefer events_state and sort the whole backlog.
CREATE INDEX IF NOT EXISTS events_due ON events (state, next_attempt_at);
-- fair claims: the companies with pending events, and each company's due events in due order.
CREATE INDEX IF NOT EXISTS events_company_due ON events (state, company_id, next_attempt_at);
-- stats: counts per state and the oldest pending receipt come from this index alone.
CREATE INDEX IF NOT EXISTS events_state ON events (state, received_at);
-- stats.per_minute: a range scan over the last hour.
CREATE INDEX IF NOT EXISTS events_received ON events (received_at);
`;

/** Leftovers of an older version that kept counts with triggers (a second write per insert). */
const _OLD_COUNTERS = `
DROP TRIGGER IF EXISTS events_counted_insert;
DROP TRIGGER IF EXISTS events_counted_insert_v2;
DROP TRIGGER IF EXISTS events_counted_delete;
DROP TRIGGER IF EXISTS events_counted_state;
DROP TABLE IF EXISTS event_counts;
DROP TABLE IF EXISTS event_minutes;
`;

const _COLUMNS =
  'company_id, event_name, event_id, body, received_at, state, attempts, next_attempt_at, delivered_at, last_error, whop_id, dropped';

/**
 * Creates the schema, or brings a store made by an older relay to `_VERSION` in one transaction:
 * SQLite cannot change a UNIQUE constraint in place, so the table is rebuilt with every row kept
 * (seq included, so the order and the forwarder's due order stay), event_name read from the body.
 */
function _migrate(db: Database.Database): void {
  const version = db.pragma('user_version', { simple: true }) as number;
  if (version >= _VERSION) return;
  const columns = (db.prepare("SELECT name FROM pragma_table_info('events')").all() as Array<{ name: string }>).map((c) => c.name);
  db.transaction(() => {
    if (columns.length && !columns.includes('event_name')) {
      db.exec(
        'ALTER TABLE events RENAME TO events_v1; DROP INDEX IF EXISTS events_due; DROP INDEX IF EXISTS events_state; DROP INDEX IF EXISTS events_received;',
      );
      db.exec(_TABLE);
      db.exec(
        'INSERT INTO events (seq, company_id, event_name, event_id, body, received_at, state, attempts, next_attempt_at, lease_until, delivered_at, last_error, whop_id) ' +
          "SELECT seq, company_id, coalesce(json_extract(body, '$.event_name'), ''), event_id, body, received_at, state, attempts, next_attempt_at, lease_until, delivered_at, last_error, whop_id FROM events_v1 ORDER BY seq",
      );
      db.exec('DROP TABLE events_v1');
    }
    db.exec(_TABLE + _INDEXES);
    db.pragma(`user_version = ${_VERSION}`);
  }).immediate();
}

/** Longest wait before restarting a writer thread that keeps dying (ms). */
const _MAX_RESTART_DELAY = 5_000;

/**
 * The Node outbox: one SQLite file in WAL mode (better-sqlite3), unique on the event identity
 * (company_id, event_name, event_id); a store made by an older relay is migrated on open.
 *
 * Writes (appends, claims, settles, prunes) run on a writer thread with its own connection, so the
 * event loop keeps reading requests while a COMMIT waits on fsync. Writes queued in one event-loop
 * turn, or while the previous commit was in flight, share one transaction and one fsync (group
 * commit), and each caller resolves only after that COMMIT. Reads (stats, recent, nextDueAt) use a
 * connection on the main thread: WAL readers never wait for the writer.
 *
 * If the writer thread dies, the writes it held reject with `OutboxUnavailableError` (503: the
 * browser keeps its copy and resends; a resend of an event that did commit is a duplicate) and a
 * new thread is started. One relay process per database file: on open, leases left by a previous
 * process (killed mid-send) are released so their events go out again.
 */
export class SqliteOutbox implements PullOutbox {
  private _db: Database.Database;
  private _config: WriterConfig;
  private _worker: Worker | null = null;
  private _restartDelay = 0;
  private _restartTimer: ReturnType<typeof setTimeout> | null = null;
  private _queue: _Pending[] = [];
  private _inFlight: _Pending[] | null = null;
  private _scheduled = false;
  private _closed = false;
  private _closing: Promise<void> | null = null;
  private _idleWaiters: Array<() => void> = [];
  private _listeners = new Set<() => void>();
  private _retainMs: number;
  private _pruneTimer: ReturnType<typeof setInterval> | null = null;
  private _s: Record<'counts' | 'oldest' | 'minutes' | 'recent' | 'nextDue', Database.Statement>;
  private _minutes: { _at: number; _rows: Array<[number, number]> } | null = null;
  /**
   * Events per state: counted once at open (before the writer thread starts) and after a writer
   * thread dies holding writes that may have committed, else kept from the deltas each committed
   * write reports, so stats (and /ready, /metrics) never count rows.
   */
  private _counts: Record<string, number>;

  constructor(options: SqliteOutboxOptions) {
    this._db = new (loadBetterSqlite())(options.path);
    this._db.pragma('journal_mode = WAL');
    this._db.pragma('busy_timeout = 1000');
    _migrate(this._db);
    this._db.exec(_OLD_COUNTERS);
    // Before the writer thread starts: only here are all leases a previous process's.
    this._db
      .prepare("UPDATE events SET next_attempt_at = ?, lease_until = NULL WHERE state = 'pending' AND lease_until IS NOT NULL")
      .run(Date.now());
    const prepare = (sql: string) => this._db.prepare(sql);
    this._s = {
      counts: prepare('SELECT state, count(*) AS n FROM events GROUP BY state'),
      oldest: prepare("SELECT min(received_at) AS t FROM events WHERE state = 'pending'"),
      minutes: prepare('SELECT (received_at / 60000) * 60000 AS m, count(*) AS n FROM events WHERE received_at >= ? GROUP BY m ORDER BY m'),
      recent: prepare(`SELECT ${_COLUMNS} FROM events ORDER BY seq DESC LIMIT ?`),
      nextDue: prepare("SELECT min(next_attempt_at) AS t FROM events WHERE state = 'pending'"),
    };
    this._counts = this._countRows();
    this._config = {
      // Resolved here, where the bundle or source sits next to its node_modules, not from the cwd.
      sqlite: createRequire(import.meta.url).resolve('better-sqlite3'),
      path: options.path,
      dryRun: options.dryRun ?? false,
      synchronous: options.synchronous === 'NORMAL' ? 'NORMAL' : 'FULL',
      maxBytes: options.maxBytes,
    };
    this._startWorker();
    this._retainMs = options.retainMs ?? 30 * 24 * 3_600_000;
    if (this._retainMs > 0) {
      const prune = () => void this.prune().catch(() => {}); // a failed prune is retried next round
      prune();
      this._pruneTimer = setInterval(prune, 600_000);
      this._pruneTimer.unref?.();
    }
  }

  /**
   * Deletes settled events received before `now - retainMs`, in chunks of 5,000 per commit so
   * ingest never waits long behind it. Resolves with how many were deleted.
   */
  async prune(now: number = Date.now()): Promise<number> {
    if (this._retainMs <= 0) return 0;
    let total = 0;
    for (;;) {
      const n = await this._write<number>({ k: 'prune', before: now - this._retainMs });
      total += n;
      if (n < 5000) return total;
    }
  }

  async append(events: readonly OutboxInput[]): Promise<boolean[]> {
    if (events.length === 0) {
      if (this._closed) throw new OutboxUnavailableError('outbox is closed');
      return [];
    }
    const rows = events.map((e) => ({
      company_id: e.company_id,
      event_name: e.event_name,
      event_id: e.event_id,
      body: JSON.stringify(e.body),
      received_at: e.received_at,
      skipped: e.skipped ?? null,
      dropped: e.dropped?.length ? JSON.stringify(e.dropped) : null,
    }));
    return this._write<boolean[]>({ k: 'append', rows });
  }

  async claim(now: number, limit: number, leaseMs: number): Promise<OutboxRecord[]> {
    const rows = await this._write<_Row[]>({ k: 'claim', now, limit, leaseMs });
    return rows.map(_toRecord);
  }

  async settle(key: EventKey, outcome: Outcome): Promise<void> {
    await this._write<void>({ k: 'settle', company_id: key.company_id, event_name: key.event_name, event_id: key.event_id, outcome });
  }

  /**
   * Queues a write for the next group commit. A group leaves for the writer thread at the end of
   * the event-loop turn (setImmediate, after this turn's I/O callbacks) when no commit is in
   * flight, else as soon as the one in flight is answered: batches grow with load by themselves.
   */
  private _write<T>(op: WriterOp): Promise<T> {
    if (this._closed) return Promise.reject(new OutboxUnavailableError('outbox is closed'));
    if (!this._worker) return Promise.reject(new OutboxUnavailableError('outbox writer is restarting'));
    return new Promise<T>((resolve, reject) => {
      this._queue.push({ _op: op, _resolve: resolve as (result: never) => void, _reject: reject });
      this._schedule();
    });
  }

  private _schedule(): void {
    if (this._scheduled || this._inFlight || this._queue.length === 0) return;
    this._scheduled = true;
    setImmediate(() => {
      this._scheduled = false;
      if (this._inFlight || this._queue.length === 0 || !this._worker) return;
      this._inFlight = this._queue;
      this._queue = [];
      // Keep the process alive while a commit is owed to someone; idle, the thread does not.
      this._worker.ref();
      this._worker.postMessage({ ops: this._inFlight.map((p) => p._op) });
    });
  }

  private _startWorker(): void {
    this._restartTimer = null;
    const worker = new Worker(sqliteWriterSource, { eval: true, workerData: this._config });
    worker.unref();
    let crash: unknown;
    worker.on('message', (reply: WriterReply) => {
      if ('ready' in reply) {
        this._restartDelay = 0;
        return;
      }
      const batch = this._inFlight ?? [];
      this._inFlight = null;
      let appended = false;
      reply.results.forEach((result, i) => {
        const pending = batch[i]!;
        if (result.ok) {
          for (const state in result.delta) this._counts[state] = (this._counts[state] ?? 0) + result.delta[state]!;
          if (pending._op.k === 'append' && (result.value as boolean[]).includes(true)) appended = true;
          pending._resolve(result.value as never);
        } else {
          const cause = Object.assign(new Error(result.message), { code: result.code });
          pending._reject(new OutboxUnavailableError(`outbox cannot write: ${result.message}`, { cause }));
        }
      });
      if (appended && !this._config.dryRun) for (const listener of this._listeners) listener();
      if (this._queue.length) this._schedule();
      else this._onIdle();
    });
    worker.on('error', (error) => (crash = error));
    worker.on('exit', (code) => {
      if (worker !== this._worker) return; // closed on purpose
      this._worker = null;
      // Whatever the thread held may or may not have committed; the callers are told it failed
      // (503, the browser resends, a resend of a committed event is a duplicate) and nothing waits.
      const reason = (crash as Error | undefined)?.message ?? `exit code ${code}`;
      const lost = [...(this._inFlight ?? []), ...this._queue];
      // What the thread held may have committed: count again, now that no write is in flight.
      if (this._inFlight?.length) this._counts = this._countRows();
      this._inFlight = null;
      this._queue = [];
      for (const pending of lost) pending._reject(new OutboxUnavailableError(`outbox writer stopped: ${reason}`, { cause: crash }));
      this._onIdle();
      if (this._closed) return;
      const delay = this._restartDelay;
      this._restartDelay = Math.min(_MAX_RESTART_DELAY, Math.max(100, delay * 2));
      this._restartTimer = setTimeout(() => this._startWorker(), delay);
      this._restartTimer.unref?.();
      // Writes fail fast (503) until the new thread exists.
    });
    this._worker = worker;
  }

  private _onIdle(): void {
    this._worker?.unref();
    for (const waiter of this._idleWaiters.splice(0)) waiter();
  }

  private _countRows(): Record<string, number> {
    const counts: Record<string, number> = {};
    for (const { state, n } of this._s.counts.all() as Array<{ state: string; n: number }>) counts[state] = n;
    return counts;
  }

  async stats(): Promise<OutboxStats> {
    this._assertOpen();
    const stats: OutboxStats = { pending: 0, delivered: 0, dead: 0, dry_run: 0, skipped: 0, oldest_pending_at: null, per_minute: [] };
    for (const state in this._counts) if (state in stats) stats[state as OutboxState] = this._counts[state]!;
    const oldest = this._s.oldest.get() as { t: number | null };
    stats.oldest_pending_at = oldest.t;
    // The last hour's receipts per minute scan that hour's rows: at most every 5 s, whoever asks.
    const now = Date.now();
    if (!this._minutes || now - this._minutes._at > 5_000) {
      const since = Math.floor((now - 3_600_000) / 60_000) * 60_000;
      const minutes = this._s.minutes.all(since) as Array<{ m: number; n: number }>;
      this._minutes = { _at: now, _rows: minutes.map(({ m, n }) => [m, n]) };
    }
    stats.per_minute = this._minutes._rows.map(([m, n]) => [m, n]);
    return stats;
  }

  async recent(limit: number): Promise<OutboxRecord[]> {
    this._assertOpen();
    const rows = this._s.recent.all(limit) as _Row[];
    return rows.map(_toRecord);
  }

  /**
   * Epoch ms at which the next pending event is due (possibly in the past), or null when none is
   * pending. The forwarder sleeps until then instead of polling.
   */
  async nextDueAt(): Promise<number | null> {
    this._assertOpen();
    const row = this._s.nextDue.get() as { t: number | null };
    return row.t;
  }

  /** Calls `listener` after each commit that stored new forwardable events. Returns an unsubscribe. */
  onAppend(listener: () => void): () => void {
    this._listeners.add(listener);
    return () => this._listeners.delete(listener);
  }

  /** Writes already queued still commit; later ones are refused. Resolves once the file is closed. */
  close(): Promise<void> {
    this._closed = true;
    this._closing ??= (async () => {
      if (this._pruneTimer) clearInterval(this._pruneTimer);
      if (this._restartTimer) clearTimeout(this._restartTimer);
      if (this._inFlight || this._queue.length) await new Promise<void>((done) => this._idleWaiters.push(done));
      const worker = this._worker;
      this._worker = null;
      if (worker) {
        const exited = new Promise((done) => worker.once('exit', done));
        // An idle writer is unref'd; a process whose last act is `await close()` must wait for it.
        worker.ref();
        worker.postMessage({ close: true });
        await exited;
      }
      this._listeners.clear();
      this._db.close();
    })();
    return this._closing;
  }

  private _assertOpen(): void {
    if (this._closed) throw new OutboxUnavailableError('outbox is closed');
  }
}

function _toRecord(row: _Row): OutboxRecord {
  return {
    company_id: row.company_id,
    event_name: row.event_name,
    event_id: row.event_id,
    body: JSON.parse(row.body) as RelayEvent,
    received_at: row.received_at,
    state: row.state,
    attempts: row.attempts,
    next_attempt_at: row.next_attempt_at,
    delivered_at: row.delivered_at,
    last_error: row.last_error,
    whop_id: row.whop_id,
    skipped: row.state === 'skipped' ? row.last_error : null,
    dropped: row.dropped ? (JSON.parse(row.dropped) as EventRepair[]) : null,
  };
}
