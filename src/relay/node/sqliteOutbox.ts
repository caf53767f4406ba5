import Database from 'better-sqlite3';
import type { Conversion } from '../../shared/conversion';
import {
  OutboxUnavailableError,
  type OutboxInput,
  type OutboxRecord,
  type OutboxState,
  type OutboxStats,
  type Outcome,
  type PullOutbox,
} from '../lib/outbox';

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

/** One write waiting for the next group commit. */
interface _Pending {
  _run: () => unknown;
  _resolve: (result: never) => void;
  _reject: (error: unknown) => void;
}

interface _Row {
  company_id: string;
  event_id: string;
  body: string;
  received_at: number;
  state: OutboxState;
  attempts: number;
  next_attempt_at: number | null;
  delivered_at: number | null;
  last_error: string | null;
  whop_id: string | null;
}

const _SCHEMA = `
CREATE TABLE IF NOT EXISTS events (
  seq INTEGER PRIMARY KEY,
  company_id TEXT NOT NULL,
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
  UNIQUE (company_id, event_id)
);
-- claim and nextDueAt: due pending events in due order (the rowid, seq, breaks ties). Not a partial
-- index: without ANALYZE statistics the planner would prefer events_state and sort the whole backlog.
CREATE INDEX IF NOT EXISTS events_due ON events (state, next_attempt_at);
-- stats: counts per state and the oldest pending receipt come from this index alone.
CREATE INDEX IF NOT EXISTS events_state ON events (state, received_at);
-- stats.per_minute: a range scan over the last hour.
CREATE INDEX IF NOT EXISTS events_received ON events (received_at);
`;

const _COLUMNS = 'company_id, event_id, body, received_at, state, attempts, next_attempt_at, delivered_at, last_error, whop_id';

/**
 * The Node outbox: one SQLite file in WAL mode (better-sqlite3), unique on (company_id, event_id).
 * Writes arriving in the same event-loop turn (appends, claims, settles) share one transaction and one fsync (group commit),
 * and each caller resolves only after that COMMIT. One relay process per database file: on open,
 * leases left by a previous process (killed mid-send) are released so their events go out again.
 */
export class SqliteOutbox implements PullOutbox {
  private _db: Database.Database;
  private _dryRun: boolean;
  private _queue: _Pending[] = [];
  private _scheduled = false;
  private _closed = false;
  private _listeners = new Set<() => void>();
  private _insert: Database.Statement;
  private _flushTx: Database.Transaction<(queue: _Pending[]) => unknown[]>;
  private _appended = false;
  private _retainMs: number;
  private _pruneTimer: ReturnType<typeof setInterval> | null = null;
  private _s: Record<'claim' | 'delivered' | 'retry' | 'dead' | 'counts' | 'oldest' | 'minutes' | 'recent' | 'nextDue' | 'prune', Database.Statement>;

  constructor(options: SqliteOutboxOptions) {
    this._dryRun = options.dryRun ?? false;
    this._db = new Database(options.path);
    this._db.pragma('journal_mode = WAL');
    this._db.pragma(`synchronous = ${options.synchronous === 'NORMAL' ? 'NORMAL' : 'FULL'}`);
    // Only another writer (a second process, which should not exist) can hold the write lock in WAL
    // mode. better-sqlite3 waits synchronously, blocking the event loop, so wait briefly and then
    // fail (503, the browser keeps its copy) rather than stall every request.
    this._db.pragma('busy_timeout = 1000');
    this._db.exec(_SCHEMA);
    if (options.maxBytes) {
      const pageSize = this._db.pragma('page_size', { simple: true }) as number;
      this._db.pragma(`max_page_count = ${Math.max(1, Math.floor(options.maxBytes / pageSize))}`);
    }
    this._db
      .prepare("UPDATE events SET next_attempt_at = ?, lease_until = NULL WHERE state = 'pending' AND lease_until IS NOT NULL")
      .run(Date.now());
    this._insert = this._db.prepare(
      `INSERT OR IGNORE INTO events (company_id, event_id, body, received_at, state, next_attempt_at)
       VALUES (@company_id, @event_id, @body, @received_at, '${this._dryRun ? 'dry_run' : 'pending'}', ${this._dryRun ? 'NULL' : '@received_at'})`,
    );
    this._flushTx = this._db.transaction((queue: _Pending[]) => queue.map((pending) => pending._run()));
    const prepare = (sql: string) => this._db.prepare(sql);
    this._s = {
      claim: prepare(
        `UPDATE events SET next_attempt_at = @lease, lease_until = @lease, attempts = attempts + 1
         WHERE seq IN (SELECT seq FROM events WHERE state = 'pending' AND next_attempt_at <= @now ORDER BY next_attempt_at, seq LIMIT @limit)
         RETURNING seq, ${_COLUMNS}`,
      ),
      delivered: prepare(
        `UPDATE events SET state = 'delivered', delivered_at = @at, whop_id = @whop_id, next_attempt_at = NULL, lease_until = NULL, last_error = NULL
         WHERE company_id = @company_id AND event_id = @event_id`,
      ),
      // A retry only touches a pending event: a late answer must not revive a delivered or dead one.
      retry: prepare(
        `UPDATE events SET next_attempt_at = @next, lease_until = NULL, last_error = @error
         WHERE company_id = @company_id AND event_id = @event_id AND state = 'pending'`,
      ),
      dead: prepare(
        `UPDATE events SET state = 'dead', next_attempt_at = NULL, lease_until = NULL, last_error = @error
         WHERE company_id = @company_id AND event_id = @event_id`,
      ),
      counts: prepare('SELECT state, count(*) AS n FROM events GROUP BY state'),
      oldest: prepare("SELECT min(received_at) AS t FROM events WHERE state = 'pending'"),
      minutes: prepare('SELECT (received_at / 60000) * 60000 AS m, count(*) AS n FROM events WHERE received_at >= ? GROUP BY m ORDER BY m'),
      recent: prepare(`SELECT ${_COLUMNS} FROM events ORDER BY seq DESC LIMIT ?`),
      nextDue: prepare("SELECT min(next_attempt_at) AS t FROM events WHERE state = 'pending'"),
      prune: prepare(
        `DELETE FROM events WHERE seq IN (SELECT seq FROM events WHERE state IN ('delivered', 'dead', 'dry_run') AND received_at < ? LIMIT 5000)`,
      ),
    };
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
      const n = await this._write(() => this._s.prune.run(now - this._retainMs).changes);
      total += n;
      if (n < 5000) return total;
    }
  }

  append(events: readonly OutboxInput[]): Promise<boolean[]> {
    if (events.length === 0) return this._closed ? Promise.reject(new OutboxUnavailableError('outbox is closed')) : Promise.resolve([]);
    let rows: Array<{ company_id: string; event_id: string; body: string; received_at: number }>;
    try {
      rows = events.map((e) => ({ company_id: e.company_id, event_id: e.event_id, body: JSON.stringify(e.body), received_at: e.received_at }));
    } catch (error) {
      return Promise.reject(error);
    }
    return this._write(() => {
      const stored = rows.map((row) => this._insert.run(row).changes === 1);
      if (stored.includes(true)) this._appended = true;
      return stored;
    });
  }

  claim(now: number, limit: number, leaseMs: number): Promise<OutboxRecord[]> {
    return this._write(() => {
      const rows = this._s.claim.all({ lease: now + leaseMs, now, limit }) as Array<_Row & { seq: number }>;
      // RETURNING does not promise an order; hand them out oldest first.
      rows.sort((a, b) => a.seq - b.seq);
      return rows.map(_toRecord);
    });
  }

  settle(company_id: string, event_id: string, outcome: Outcome): Promise<void> {
    const params = { company_id, event_id, at: outcome.at };
    return this._write(() => {
      if (outcome.kind === 'delivered') this._s.delivered.run({ ...params, whop_id: outcome.whop_id });
      else if (outcome.kind === 'retry') this._s.retry.run({ ...params, next: outcome.next_attempt_at, error: outcome.error });
      else this._s.dead.run({ ...params, error: outcome.error });
    });
  }

  /**
   * Group commit: every write (appends from ingest, claims and settles from the forwarder) queued
   * in the same event-loop turn runs in one transaction with one fsync, and each caller resolves
   * only after that COMMIT. setImmediate runs after this turn's I/O callbacks; while a commit
   * blocks on fsync, new requests pile up for the next one, so batches grow with load.
   */
  private _write<T>(run: () => T): Promise<T> {
    if (this._closed) return Promise.reject(new OutboxUnavailableError('outbox is closed'));
    return new Promise<T>((resolve, reject) => {
      this._queue.push({ _run: run, _resolve: resolve as (result: never) => void, _reject: reject });
      if (!this._scheduled) {
        this._scheduled = true;
        setImmediate(() => this._flush());
      }
    });
  }

  private _flush(): void {
    this._scheduled = false;
    const queue = this._queue;
    this._queue = [];
    if (queue.length === 0) return;
    this._appended = false;
    let results: unknown[];
    try {
      if (this._closed) throw new Error('outbox is closed');
      results = this._flushTx.immediate(queue);
    } catch (error) {
      // The transaction rolled back: nothing of any caller in this group was written.
      if (this._closed || queue.length === 1) {
        const unavailable = new OutboxUnavailableError(`outbox cannot write: ${(error as Error).message}`, { cause: error });
        for (const pending of queue) pending._reject(unavailable);
        return;
      }
      // One failing write must not take the others down with it: on a full disk an append fails
      // while the forwarder's settles (in-place updates) still fit, and a settle rolled back here
      // would leave a delivered event leased, to be sent to Whop again. Retry each write alone.
      this._appended = false;
      for (const pending of queue) this._flushOne(pending);
      if (this._appended && !this._dryRun) for (const listener of this._listeners) listener();
      return;
    }
    queue.forEach((pending, i) => pending._resolve(results[i] as never));
    if (this._appended && !this._dryRun) for (const listener of this._listeners) listener();
  }

  /** One write in a transaction of its own (the fallback when a group commit failed). */
  private _flushOne(pending: _Pending): void {
    let result: unknown;
    try {
      result = this._flushTx.immediate([pending])[0];
    } catch (error) {
      pending._reject(new OutboxUnavailableError(`outbox cannot write: ${(error as Error).message}`, { cause: error }));
      return;
    }
    pending._resolve(result as never);
  }

  async stats(): Promise<OutboxStats> {
    this._assertOpen();
    const stats: OutboxStats = { pending: 0, delivered: 0, dead: 0, dry_run: 0, oldest_pending_at: null, per_minute: [] };
    const counts = this._s.counts.all() as Array<{ state: OutboxState; n: number }>;
    for (const { state, n } of counts) if (state in stats) stats[state] = n;
    const oldest = this._s.oldest.get() as { t: number | null };
    stats.oldest_pending_at = oldest.t;
    const since = Math.floor((Date.now() - 3_600_000) / 60_000) * 60_000;
    const minutes = this._s.minutes.all(since) as Array<{ m: number; n: number }>;
    stats.per_minute = minutes.map(({ m, n }) => [m, n]);
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

  async close(): Promise<void> {
    if (this._closed) return;
    // Appends already queued in this turn still commit; later ones are refused.
    if (this._queue.length) this._flush();
    this._closed = true;
    if (this._pruneTimer) clearInterval(this._pruneTimer);
    this._listeners.clear();
    this._db.close();
  }

  private _assertOpen(): void {
    if (this._closed) throw new OutboxUnavailableError('outbox is closed');
  }
}

function _toRecord(row: _Row): OutboxRecord {
  return {
    company_id: row.company_id,
    event_id: row.event_id,
    body: JSON.parse(row.body) as Conversion,
    received_at: row.received_at,
    state: row.state,
    attempts: row.attempts,
    next_attempt_at: row.next_attempt_at,
    delivered_at: row.delivered_at,
    last_error: row.last_error,
    whop_id: row.whop_id,
  };
}
