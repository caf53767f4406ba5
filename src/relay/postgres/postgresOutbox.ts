import type { Conversion } from '../../shared/conversion';
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
import type { PgClient, PgPool } from './pgTypes';
import { migratePostgres, quoteIdent } from './postgresSchema';
import { fairShares, interleave } from '../lib/fairClaim';

export interface PostgresOutboxOptions {
  /** `postgres://user:pass@host:5432/db` (WHOPQ_DATABASE_URL or DATABASE_URL). */
  connectionString: string;
  /** The Postgres schema holding whopq's tables (created when missing). Default `whopq`. */
  schema?: string;
  /** Store events as `dry_run` (never claimed, never forwarded): no API key is configured. Default false. */
  dryRun?: boolean;
  /** Most connections this process opens. Default 4 (one group commit at a time, the rest reads). */
  poolSize?: number;
  /** Caps the stored events' size (bodies plus a per-row allowance); past it appends fail (503). Default: no cap. */
  maxBytes?: number;
  /** Settled events are deleted this long after receipt (ms), checked every 10 minutes. Default 30 days; 0 keeps all. */
  retainMs?: number;
  /** How long startup waits for the database to answer (ms). Default 30_000. */
  startupTimeoutMs?: number;
  /** Extra `pg` pool settings (ssl, …), passed to `new pg.Pool()`. */
  pool?: Record<string, unknown>;
}

/** Bytes counted per row on top of its body (the columns and index entries), for the size cap. */
const _ROW_OVERHEAD = 160;
/** Counter slots: each process writes its own, so relays do not wait on one row to count. */
const _SLOTS = 64;
const _COLUMNS =
  'seq, company_id, event_name, event_id, body, received_at, state, attempts, next_attempt_at, delivered_at, last_error, whop_id, dropped';

type _Op = { k: 'append'; rows: _NewRow[] } | { k: 'settle'; key: EventKey; outcome: Outcome };

interface _Lane {
  _queue: _Pending[];
  _inFlight: boolean;
  _scheduled: boolean;
  /** The counter slot its transactions add to. */
  _slot: number;
}

interface _Claim {
  now: number;
  limit: number;
  leaseMs: number;
}

interface _NewRow {
  company_id: string;
  event_name: string;
  event_id: string;
  body: string;
  received_at: number;
  skipped: string | null;
  dropped: string | null;
}

interface _Pending {
  _op: _Op;
  _resolve: (value: never) => void;
  _reject: (error: unknown) => void;
}

interface _Row {
  seq: string;
  company_id: string;
  event_name: string;
  event_id: string;
  body: string;
  received_at: string;
  state: OutboxState;
  attempts: number;
  next_attempt_at: string | null;
  delivered_at: string | null;
  last_error: string | null;
  whop_id: string | null;
  dropped: string | null;
}

const _utf8 = new TextEncoder();

/** SQLSTATEs after which the same group is tried again: deadlock, serialization failure. */
const _RETRYABLE = new Set(['40P01', '40001']);

/**
 * The outbox in Postgres, shared by any number of relay processes (and serverless functions).
 *
 * Writes queued in one event-loop turn, or while the previous group was committing, share one
 * transaction and one commit (group commit; appends and settles each in a lane of their own, claims
 * one at a time beside them); each caller resolves after that COMMIT, which with
 * Postgres' default `synchronous_commit` is on disk. Claims take due rows with `FOR UPDATE SKIP
 * LOCKED` and lease them by moving `next_attempt_at` past the lease: a relay that dies mid-send
 * leaves rows that fall due again when the lease lapses, for any relay to take. Counts live in
 * per-process counter slots updated in the same transactions, so `stats()` never counts the table.
 *
 * Database down: writes reject with `OutboxUnavailableError` (503, the browser keeps its copy);
 * the pool reconnects by itself once it is back.
 */
export class PostgresOutbox implements PullOutbox {
  private _pool: PgPool;
  private _t: { events: string; counts: string; holds: string; companies: string; visitors: string };
  /** Companies this process knows are in the companies table. */
  private _companies = new Set<string>();
  private _turn = 0;
  private _dryRun: boolean;
  private _slot = Math.floor(Math.random() * _SLOTS);
  private _maxBytes: number | undefined;
  private _retainMs: number;
  /**
   * Appends (ingest) and settles (the forwarder) are group-committed in lanes of their own, each
   * counting in its own slot: a settle never waits for a group of appends, nor an append for settles.
   */
  private _lanes: Record<_Op['k'], _Lane> = {
    append: { _queue: [], _inFlight: false, _scheduled: false, _slot: this._slot },
    settle: { _queue: [], _inFlight: false, _scheduled: false, _slot: (this._slot + 1) % _SLOTS },
  };
  /** The claim running now, if any (claims take turns). */
  private _claiming: Promise<void> = Promise.resolve();
  private _closed = false;
  private _closing: Promise<void> | null = null;
  private _idleWaiters: Array<() => void> = [];
  private _listeners = new Set<() => void>();
  private _pruneTimer: ReturnType<typeof setInterval> | null = null;
  private _bytes: { _at: number; _value: Promise<number> } | null = null;
  private _minutes = new Map<number, number>();
  private _minutesDoneBefore = 0;

  /** Use `createPostgresOutbox` (it loads `pg` and migrates the schema first). */
  constructor(pool: PgPool, options: PostgresOutboxOptions) {
    this._pool = pool;
    const s = quoteIdent(options.schema ?? 'whopq');
    this._t = { events: `${s}.events`, counts: `${s}.counts`, holds: `${s}.holds`, companies: `${s}.companies`, visitors: `${s}.visitors` };
    this._dryRun = options.dryRun ?? false;
    this._maxBytes = options.maxBytes;
    this._retainMs = options.retainMs ?? 30 * 24 * 3_600_000;
    if (this._retainMs > 0) {
      const prune = () => void this.prune().catch(() => {}); // a failed prune is retried next round
      prune();
      this._pruneTimer = setInterval(prune, 600_000);
      this._pruneTimer.unref?.();
    }
  }

  /** The pool, for the shared holds (`postgresHolds`) and tests. */
  get pool(): PgPool {
    return this._pool;
  }

  /** Qualified table names. */
  get tables(): { events: string; counts: string; holds: string; companies: string; visitors: string } {
    return this._t;
  }

  async append(events: readonly OutboxInput[]): Promise<boolean[]> {
    if (this._closed) throw new OutboxUnavailableError('outbox is closed');
    if (events.length === 0) return [];
    const rows = events.map((e) => ({
      company_id: e.company_id,
      event_name: e.event_name,
      event_id: e.event_id,
      body: JSON.stringify(e.body),
      received_at: e.received_at,
      skipped: e.skipped ?? null,
      dropped: e.dropped?.length ? JSON.stringify(e.dropped) : null,
    }));
    if (this._maxBytes !== undefined) {
      const adding = rows.reduce((n, r) => n + _utf8.encode(r.body).length + _ROW_OVERHEAD, 0);
      if ((await this._storedBytes()) + adding > this._maxBytes) throw new OutboxUnavailableError('outbox is full (maxBytes)');
    }
    return this._write<boolean[]>({ k: 'append', rows });
  }

  /**
   * Claims run one at a time on their own connection, each statement committing by itself, beside
   * the group commit of appends and settles: a claim never waits for a group of settles, nor a
   * settle (whose wait is the window in which a kill makes an answered event go out again) for a claim.
   */
  async claim(now: number, limit: number, leaseMs: number): Promise<OutboxRecord[]> {
    this._assertOpen();
    const claimed = this._claiming.then(() => this._query((c) => this._claimFair(c, { now, limit, leaseMs })));
    this._claiming = claimed.then(_noop, _noop);
    return (await claimed).map(_toRecord);
  }

  async settle(key: EventKey, outcome: Outcome): Promise<void> {
    await this._write<void>({
      k: 'settle',
      key: { company_id: key.company_id, event_name: key.event_name, event_id: key.event_id },
      outcome,
    });
  }

  /** Deletes settled events received before `now - retainMs`, 5,000 a transaction. Resolves with how many. */
  async prune(now: number = Date.now()): Promise<number> {
    if (this._retainMs <= 0 || this._closed) return 0;
    let total = 0;
    for (;;) {
      const n = await this._transaction(async (c) => {
        const { rows } = await c.query<{ state: string; bytes: number }>(
          `DELETE FROM ${this._t.events} WHERE seq IN (SELECT seq FROM ${this._t.events} WHERE state <> 'pending' AND received_at < $1 ORDER BY received_at LIMIT 5000 FOR UPDATE SKIP LOCKED) RETURNING state, bytes`,
          [now - this._retainMs],
        );
        const delta = new Map<string, number>();
        for (const r of rows) {
          _add(delta, r.state, -1);
          _add(delta, 'bytes', -(r.bytes + _ROW_OVERHEAD));
        }
        await this._count(c, delta);
        return rows.length;
      });
      total += n;
      if (n < 5000) return total;
    }
  }

  async stats(): Promise<OutboxStats> {
    this._assertOpen();
    const stats: OutboxStats = { pending: 0, delivered: 0, dead: 0, dry_run: 0, skipped: 0, oldest_pending_at: null, per_minute: [] };
    const now = Date.now();
    const thisMinute = Math.floor(now / 60_000) * 60_000;
    const since = Math.floor((now - 3_600_000) / 60_000) * 60_000;
    // Minutes before the last one are final: counted once and kept, so each call reads about two.
    const from = Math.max(since, this._minutesDoneBefore);
    const [counts, oldest, minutes] = await this._query(
      async (c) =>
        [
          await c.query<{ key: string; n: string }>(`SELECT key, sum(n)::bigint AS n FROM ${this._t.counts} GROUP BY key`),
          await c.query<{ t: string | null }>(`SELECT min(received_at) AS t FROM ${this._t.events} WHERE state = 'pending'`),
          await c.query<{ m: string; n: string }>(
            `SELECT (received_at / 60000) * 60000 AS m, count(*) AS n FROM ${this._t.events} WHERE received_at >= $1 GROUP BY m`,
            [from],
          ),
        ] as const,
    );
    for (const { key, n } of counts.rows)
      if (key in stats && key !== 'oldest_pending_at' && key !== 'per_minute')
        (stats as unknown as Record<string, number>)[key] = Number(n);
    stats.oldest_pending_at = oldest.rows[0]?.t == null ? null : Number(oldest.rows[0].t);
    const done = thisMinute - 60_000;
    for (const [m] of this._minutes) if (m < since || m >= from) this._minutes.delete(m);
    const current: Array<[number, number]> = [];
    for (const { m, n } of minutes.rows) {
      if (Number(m) < done) this._minutes.set(Number(m), Number(n));
      else current.push([Number(m), Number(n)]);
    }
    this._minutesDoneBefore = Math.max(this._minutesDoneBefore, done);
    stats.per_minute = [...this._minutes, ...current].sort((a, b) => a[0] - b[0]);
    return stats;
  }

  async recent(limit: number): Promise<OutboxRecord[]> {
    this._assertOpen();
    const { rows } = await this._query((c) =>
      c.query<_Row>(`SELECT ${_COLUMNS} FROM ${this._t.events} ORDER BY seq DESC LIMIT $1`, [limit]),
    );
    return rows.map(_toRecord);
  }

  /** Epoch ms at which the next pending event is due (possibly past), or null when none is pending. */
  async nextDueAt(): Promise<number | null> {
    this._assertOpen();
    const { rows } = await this._query((c) =>
      c.query<{ t: string | null }>(`SELECT min(next_attempt_at) AS t FROM ${this._t.events} WHERE state = 'pending'`),
    );
    return rows[0]?.t == null ? null : Number(rows[0].t);
  }

  /** Calls `listener` after each commit of this process that stored new forwardable events. */
  onAppend(listener: () => void): () => void {
    this._listeners.add(listener);
    return () => this._listeners.delete(listener);
  }

  /** Writes already queued still commit; later ones are refused. Resolves once the pool is closed. */
  close(): Promise<void> {
    this._closed = true;
    this._closing ??= (async () => {
      if (this._pruneTimer) clearInterval(this._pruneTimer);
      if (!this._idle()) await new Promise<void>((done) => this._idleWaiters.push(done));
      await this._claiming;
      this._listeners.clear();
      await this._pool.end().catch(() => {});
    })();
    return this._closing;
  }

  /** Stored bytes across all relays (the counters), re-read at most every 250 ms. */
  private _storedBytes(): Promise<number> {
    const now = Date.now();
    if (!this._bytes || now - this._bytes._at > 250) {
      const value = this._query((c) =>
        c.query<{ n: string | null }>(`SELECT sum(n)::bigint AS n FROM ${this._t.counts} WHERE key = 'bytes'`),
      ).then((r) => Number(r.rows[0]?.n ?? 0));
      this._bytes = { _at: now, _value: value };
      value.catch(() => (this._bytes = null));
    }
    return this._bytes._value;
  }

  private _write<T>(op: _Op): Promise<T> {
    if (this._closed) return Promise.reject(new OutboxUnavailableError('outbox is closed'));
    const lane = this._lanes[op.k];
    return new Promise<T>((resolve, reject) => {
      lane._queue.push({ _op: op, _resolve: resolve as (value: never) => void, _reject: reject });
      this._schedule(lane);
    });
  }

  private _idle(): boolean {
    return Object.values(this._lanes).every((lane) => !lane._inFlight && lane._queue.length === 0);
  }

  /** A lane's group leaves at the end of the event-loop turn when none of it is committing, else when that one is done. */
  private _schedule(lane: _Lane): void {
    if (lane._scheduled || lane._inFlight || lane._queue.length === 0) return;
    lane._scheduled = true;
    setImmediate(() => {
      lane._scheduled = false;
      if (lane._inFlight || lane._queue.length === 0) return;
      const group = lane._queue;
      lane._queue = [];
      lane._inFlight = true;
      void this._commitGroup(group, lane._slot).finally(() => {
        lane._inFlight = false;
        if (lane._queue.length) this._schedule(lane);
        else if (this._idle()) for (const waiter of this._idleWaiters.splice(0)) waiter();
      });
    });
  }

  private async _commitGroup(group: _Pending[], slot: number): Promise<void> {
    let results: unknown[];
    const ops = group.map((p) => p._op);
    // Settles alone (the forwarder's steady state), one per event: one statement, one round trip.
    const settles = ops.every((op) => op.k === 'settle') ? (ops as Array<Extract<_Op, { k: 'settle' }>>) : null;
    try {
      if (settles && new Set(settles.map((op) => _key(op.key))).size === settles.length) {
        await this._transaction((c) => this._settleStatement(c, settles, slot), true);
        results = ops.map(() => undefined);
      } else results = await this._transaction((c) => this._apply(c, ops, slot));
    } catch (error) {
      if (group.length === 1 || !_isStatementError(error)) {
        for (const p of group) p._reject(_unavailable(error));
        return;
      }
      // Rolled back: nothing of this group was written. Alone, each op meets only its own error.
      await Promise.all(group.map((p) => this._commitGroup([p], slot)));
      return;
    }
    let appended = false;
    group.forEach((p, i) => {
      if (p._op.k === 'append' && (results[i] as boolean[]).includes(true)) appended = true;
      p._resolve(results[i] as never);
    });
    if (appended && !this._dryRun) for (const listener of this._listeners) listener();
  }

  /** Runs `work` in one transaction (or, `single`, as one statement), again (up to 3 times) after a deadlock. */
  private async _transaction<T>(work: (c: PgClient) => Promise<T>, single = false): Promise<T> {
    for (let attempt = 1; ; attempt++) {
      const client = await this._connect();
      let broken: Error | undefined;
      try {
        // One statement commits by itself: no BEGIN and COMMIT round trips.
        if (!single) await client.query('BEGIN');
        const value = await work(client);
        if (!single) await client.query('COMMIT');
        return value;
      } catch (error) {
        if (!single) await client.query('ROLLBACK').catch((e: Error) => (broken = e));
        if (attempt < 3 && _RETRYABLE.has((error as { code?: string }).code ?? '')) continue;
        throw error;
      } finally {
        client.release(broken);
      }
    }
  }

  private async _query<T>(work: (c: PgClient) => Promise<T>): Promise<T> {
    const client = await this._connect();
    let broken: Error | undefined;
    try {
      return await work(client);
    } catch (error) {
      if (!_isStatementError(error)) broken = error as Error;
      throw _unavailable(error);
    } finally {
      client.release(broken);
    }
  }

  private async _connect(): Promise<PgClient> {
    try {
      return await this._pool.connect();
    } catch (error) {
      throw _unavailable(error);
    }
  }

  /** Every op of a group, in few statements: one INSERT for all appends, one lock + one UPDATE for all settles. */
  private async _apply(c: PgClient, ops: _Op[], slot: number): Promise<unknown[]> {
    const results: unknown[] = new Array(ops.length);
    const delta = new Map<string, number>();
    const appends: number[] = [];
    const settles: number[] = [];
    ops.forEach((op, i) => (op.k === 'append' ? appends : settles).push(i));

    if (appends.length) {
      // First occurrence of each identity in the group, in arrival order (seq is the order of receipt).
      // Two relays inserting the same resent events in opposite orders can deadlock: the group is retried.
      const first = new Map<string, _NewRow>();
      for (const i of appends) for (const r of (ops[i] as { rows: _NewRow[] }).rows) if (!first.has(_key(r))) first.set(_key(r), r);
      const unique = [...first.values()];
      // A skipped event (a page view) is stored in its terminal state with the reason as last_error.
      const stateOf = (r: _NewRow) => (r.skipped ? 'skipped' : this._dryRun ? 'dry_run' : 'pending');
      const { rows } = await c.query<{ company_id: string; event_name: string; event_id: string; state: string; bytes: number }>(
        `INSERT INTO ${this._t.events} (company_id, event_name, event_id, body, received_at, state, next_attempt_at, last_error, dropped, bytes)
         SELECT u.c, u.n, u.i, u.b, u.r, u.s, CASE WHEN u.s = 'pending' THEN u.r END, u.e, u.d, octet_length(u.b)
         FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::bigint[], $6::text[], $7::text[], $8::text[]) WITH ORDINALITY AS u(c, n, i, b, r, s, e, d, o) ORDER BY u.o
         ON CONFLICT ON CONSTRAINT events_identity DO NOTHING RETURNING company_id, event_name, event_id, state, bytes`,
        [
          unique.map((r) => r.company_id),
          unique.map((r) => r.event_name),
          unique.map((r) => r.event_id),
          unique.map((r) => r.body),
          unique.map((r) => r.received_at),
          unique.map(stateOf),
          unique.map((r) => r.skipped),
          unique.map((r) => r.dropped),
        ],
      );
      const fresh = [...new Set(rows.map((r) => r.company_id))].filter((c) => !this._companies.has(c));
      if (fresh.length) {
        await c.query(`INSERT INTO ${this._t.companies} (company_id) SELECT * FROM unnest($1::text[]) ON CONFLICT DO NOTHING`, [
          fresh.sort(),
        ]);
        // Known once this transaction commits; a rolled-back one costs one more upsert next time.
        for (const company of fresh) this._companies.add(company);
      }
      const inserted = new Set(rows.map(_key));
      for (const r of rows) {
        _add(delta, r.state, 1);
        _add(delta, 'bytes', r.bytes + _ROW_OVERHEAD);
      }
      for (const i of appends) {
        results[i] = (ops[i] as { rows: _NewRow[] }).rows.map((r) => {
          const k = _key(r);
          if (!inserted.has(k) || first.get(k) !== r) return false;
          return true;
        });
      }
    }

    if (settles.length)
      await this._settleAll(
        c,
        settles.map((i) => ops[i] as Extract<_Op, { k: 'settle' }>),
        delta,
      );
    await this._count(c, delta, slot);
    return results;
  }

  /**
   * Round-robin between companies (fairClaim): the companies with due events (one index probe
   * each), then each one's share, oldest first, skipping rows another relay is claiming.
   */
  private async _claimFair(c: PgClient, op: _Claim): Promise<_Row[]> {
    const { rows: due } = await c.query<{ company_id: string }>(
      `SELECT company_id FROM ${this._t.companies} c WHERE EXISTS
         (SELECT 1 FROM ${this._t.events} e WHERE e.state = 'pending' AND e.company_id = c.company_id AND e.next_attempt_at <= $1)
       ORDER BY company_id`,
      [op.now],
    );
    const shares = fairShares(
      due.map((r) => r.company_id),
      op.limit,
      this._turn++,
    );
    if (shares.length === 0) return [];
    const { rows } = await c.query<_Row & { due: string; o: string }>(
      `UPDATE ${this._t.events} e SET next_attempt_at = $2, lease_until = $2, attempts = e.attempts + 1
       FROM (SELECT d.seq, d.next_attempt_at AS due, c.o FROM unnest($3::text[], $4::integer[]) WITH ORDINALITY AS c(company_id, n, o)
             CROSS JOIN LATERAL (SELECT seq, next_attempt_at FROM ${this._t.events}
               WHERE state = 'pending' AND company_id = c.company_id AND next_attempt_at <= $1
               ORDER BY next_attempt_at, seq LIMIT c.n FOR UPDATE SKIP LOCKED) d) d
       WHERE e.seq = d.seq RETURNING d.due, d.o, ${_COLUMNS
         .split(', ')
         .map((col) => 'e.' + col)
         .join(', ')}`,
      [op.now, op.now + op.leaseMs, shares.map((s) => s.company_id), shares.map((s) => s.n)],
    );
    // RETURNING promises no order: each company's in due order, then alternating between them.
    const lists: _Row[][] = shares.map(() => []);
    for (const row of rows.sort((a, b) => Number(a.due) - Number(b.due) || Number(a.seq) - Number(b.seq)))
      lists[Number(row.o) - 1]!.push(row);
    return interleave(lists);
  }

  /** Locks the rows settled (in seq order), applies each outcome in order in memory, writes each row once. */
  private async _settleAll(c: PgClient, settles: Array<Extract<_Op, { k: 'settle' }>>, delta: Map<string, number>): Promise<void> {
    const { rows } = await c.query<{
      seq: string;
      company_id: string;
      event_name: string;
      event_id: string;
      state: OutboxState;
      next_attempt_at: string | null;
      delivered_at: string | null;
      whop_id: string | null;
      last_error: string | null;
    }>(
      `SELECT seq, company_id, event_name, event_id, state, next_attempt_at, delivered_at, whop_id, last_error FROM ${this._t.events}
       WHERE (company_id, event_name, event_id) IN (SELECT * FROM unnest($1::text[], $2::text[], $3::text[])) ORDER BY seq FOR UPDATE`,
      [settles.map((s) => s.key.company_id), settles.map((s) => s.key.event_name), settles.map((s) => s.key.event_id)],
    );
    const changed = new Map<string, (typeof rows)[number]>();
    for (const s of settles) {
      for (const row of rows) {
        if (row.company_id !== s.key.company_id || row.event_name !== s.key.event_name || row.event_id !== s.key.event_id) continue;
        const o = s.outcome;
        const before = row.state;
        if (o.kind === 'delivered') {
          if (row.state !== 'pending' && row.state !== 'dead') continue;
          Object.assign(row, {
            state: 'delivered',
            delivered_at: String(o.at),
            whop_id: o.whop_id,
            next_attempt_at: null,
            last_error: null,
          });
        } else if (o.kind === 'retry') {
          // Only a pending event: a late answer must not revive a delivered or dead one.
          if (row.state !== 'pending') continue;
          Object.assign(row, { next_attempt_at: String(o.next_attempt_at), last_error: o.error });
        } else {
          if (row.state !== 'pending') continue;
          Object.assign(row, { state: 'dead', next_attempt_at: null, last_error: o.error });
        }
        if (before !== row.state) {
          _add(delta, before, -1);
          _add(delta, row.state, 1);
        }
        changed.set(row.seq, row);
      }
    }
    if (changed.size === 0) return;
    const list = [...changed.values()];
    await c.query(
      `UPDATE ${this._t.events} e SET state = u.state, next_attempt_at = u.next, lease_until = NULL, delivered_at = u.delivered_at, whop_id = u.whop_id, last_error = u.last_error
       FROM unnest($1::bigint[], $2::text[], $3::bigint[], $4::bigint[], $5::text[], $6::text[]) AS u(seq, state, next, delivered_at, whop_id, last_error)
       WHERE e.seq = u.seq`,
      [
        list.map((r) => r.seq),
        list.map((r) => r.state),
        list.map((r) => r.next_attempt_at),
        list.map((r) => r.delivered_at),
        list.map((r) => r.whop_id),
        list.map((r) => r.last_error),
      ],
    );
  }

  /**
   * Settles of distinct events as one statement: locks the rows (in seq order), applies each
   * outcome where the state allows it (as `_settleAll` does) and adds the state changes to this
   * process's counter slot.
   */
  private async _settleStatement(c: PgClient, settles: Array<Extract<_Op, { k: 'settle' }>>, slot: number): Promise<void> {
    const o = settles.map((s) => s.outcome);
    await c.query(
      `WITH u AS (
         SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::bigint[], $6::bigint[], $7::text[], $8::text[])
           AS u(c, n, i, kind, at, next, whop_id, err)),
       old AS (
         SELECT e.seq, e.state, u.kind, u.at, u.next, u.whop_id, u.err FROM ${this._t.events} e
         JOIN u ON e.company_id = u.c AND e.event_name = u.n AND e.event_id = u.i
         WHERE CASE WHEN u.kind = 'delivered' THEN e.state IN ('pending', 'dead') ELSE e.state = 'pending' END
         ORDER BY e.seq FOR UPDATE OF e),
       upd AS (
         UPDATE ${this._t.events} e SET
           state = CASE o.kind WHEN 'retry' THEN e.state ELSE o.kind END,
           next_attempt_at = CASE o.kind WHEN 'retry' THEN o.next END,
           lease_until = NULL,
           delivered_at = CASE o.kind WHEN 'delivered' THEN o.at ELSE e.delivered_at END,
           whop_id = CASE o.kind WHEN 'delivered' THEN o.whop_id ELSE e.whop_id END,
           last_error = CASE o.kind WHEN 'delivered' THEN NULL ELSE o.err END
         FROM old o WHERE e.seq = o.seq
         RETURNING o.state AS before, e.state AS after),
       delta AS (
         SELECT k, sum(d)::bigint AS d FROM (
           SELECT before AS k, -1 AS d FROM upd WHERE before <> after
           UNION ALL SELECT after, 1 FROM upd WHERE before <> after) x GROUP BY k)
       INSERT INTO ${this._t.counts} (slot, key, n) SELECT $9, k, d FROM delta WHERE d <> 0 ORDER BY k
       ON CONFLICT (slot, key) DO UPDATE SET n = ${this._t.counts}.n + excluded.n`,
      [
        settles.map((s) => s.key.company_id),
        settles.map((s) => s.key.event_name),
        settles.map((s) => s.key.event_id),
        o.map((x) => x.kind),
        o.map((x) => x.at),
        o.map((x) => (x.kind === 'retry' ? x.next_attempt_at : null)),
        o.map((x) => (x.kind === 'delivered' ? x.whop_id : null)),
        o.map((x) => (x.kind === 'delivered' ? null : x.error)),
        slot,
      ],
    );
  }

  /** Adds this transaction's count changes to one of this process's slots. */
  private async _count(c: PgClient, delta: Map<string, number>, slot = this._slot): Promise<void> {
    const keys = [...delta.keys()].filter((k) => delta.get(k) !== 0).sort();
    if (keys.length === 0) return;
    if (this._bytes && delta.has('bytes')) this._bytes = null;
    await c.query(
      `INSERT INTO ${this._t.counts} (slot, key, n) SELECT $1, u.k, u.n FROM unnest($2::text[], $3::bigint[]) AS u(k, n)
       ON CONFLICT (slot, key) DO UPDATE SET n = ${this._t.counts}.n + excluded.n`,
      [slot, keys, keys.map((k) => delta.get(k)!)],
    );
  }

  private _assertOpen(): void {
    if (this._closed) throw new OutboxUnavailableError('outbox is closed');
  }
}

/**
 * Opens the Postgres outbox: loads `pg` (only now, so relays on SQLite never need it), creates or
 * migrates the schema, waiting up to `startupTimeoutMs` for the database to answer.
 */
export async function createPostgresOutbox(options: PostgresOutboxOptions): Promise<PostgresOutbox> {
  let pg: typeof import('pg').default;
  try {
    pg = (await import('pg')).default;
  } catch (error) {
    throw new Error('the Postgres outbox needs the `pg` package: npm install pg', { cause: error });
  }
  const pool: PgPool = new pg.Pool({
    connectionString: options.connectionString,
    max: options.poolSize ?? 4,
    connectionTimeoutMillis: 5_000,
    idleTimeoutMillis: 30_000,
    // A statement stuck on a lock or a dying server fails (503) instead of holding ingest.
    statement_timeout: 15_000,
    query_timeout: 20_000,
    application_name: 'whopq',
    ...options.pool,
  });
  // A connection dropped by the server (restart, failover) is discarded and the next checkout
  // reconnects; the error reaches the query that was using it, never the process (an unhandled
  // 'error' event on a checked-out client would end it).
  pool.on('error', () => {});
  pool.on('connect', (client) => client.on('error', () => {}));
  const deadline = Date.now() + (options.startupTimeoutMs ?? 30_000);
  for (;;) {
    try {
      const client = await pool.connect();
      try {
        await migratePostgres(client, options.schema ?? 'whopq');
      } finally {
        client.release();
      }
      break;
    } catch (error) {
      if (Date.now() >= deadline || _isStatementError(error)) {
        await pool.end().catch(() => {});
        throw new Error(`the Postgres outbox cannot start: ${(error as Error).message}`, { cause: error });
      }
      await new Promise((r) => setTimeout(r, 500));
    }
  }
  return new PostgresOutbox(pool, options);
}

const _noop = () => {};

const _key = (r: { company_id: string; event_name: string; event_id: string }) =>
  r.company_id + '\u0000' + r.event_name + '\u0000' + r.event_id;

function _add(map: Map<string, number>, key: string, n: number): void {
  map.set(key, (map.get(key) ?? 0) + n);
}

/** An error the server raised for a statement (it has a SQLSTATE), as opposed to a lost connection. */
function _isStatementError(error: unknown): boolean {
  const code = (error as { code?: unknown })?.code;
  return typeof code === 'string' && /^[0-9A-Z]{5}$/.test(code) && !code.startsWith('08') && !code.startsWith('57P');
}

function _unavailable(error: unknown): OutboxUnavailableError {
  if (error instanceof OutboxUnavailableError) return error;
  return new OutboxUnavailableError(`outbox cannot write: ${(error as Error)?.message ?? String(error)}`, { cause: error });
}

function _toRecord(row: _Row): OutboxRecord {
  return {
    company_id: row.company_id,
    event_name: row.event_name,
    event_id: row.event_id,
    body: JSON.parse(row.body) as Conversion,
    received_at: Number(row.received_at),
    state: row.state,
    attempts: row.attempts,
    next_attempt_at: row.next_attempt_at == null ? null : Number(row.next_attempt_at),
    delivered_at: row.delivered_at == null ? null : Number(row.delivered_at),
    last_error: row.last_error,
    whop_id: row.whop_id,
    skipped: row.state === 'skipped' ? row.last_error : null,
    dropped: row.dropped ? (JSON.parse(row.dropped) as EventRepair[]) : null,
  };
}
