import type { Outcome } from '../lib/outbox';

/** One write the SQLite writer thread runs inside a group commit. */
export type WriterOp =
  | {
      k: 'append';
      rows: Array<{
        company_id: string;
        event_name: string;
        event_id: string;
        body: string;
        received_at: number;
        skipped: string | null;
        dropped: string | null;
      }>;
    }
  | { k: 'claim'; now: number; limit: number; leaseMs: number }
  | { k: 'settle'; company_id: string; event_name: string; event_id: string; outcome: Outcome }
  | { k: 'prune'; before: number };

/** What the writer thread answers: `ready` once its connection is open, then one `results` per batch, in op order. */
export type WriterReply =
  | { ready: true }
  | {
      results: Array<{ ok: true; value: unknown; delta: Partial<Record<string, number>> } | { ok: false; message: string; code?: string }>;
    };

/** How the writer thread opens its connection (`workerData`). */
export interface WriterConfig {
  /** Absolute path of the better-sqlite3 package, resolved by the main thread. */
  sqlite: string;
  path: string;
  dryRun: boolean;
  synchronous: 'FULL' | 'NORMAL';
  maxBytes?: number;
}

/**
 * The writer thread's code, run with `new Worker(sqliteWriterSource, { eval: true, workerData })`.
 * A source string rather than a file of its own: every way the relay is built or run (vitest on the
 * TypeScript sources, dist/relay/cli.js, the CLI bundled into a temp dir by test/restart.test.ts,
 * the bench scripts that bundle sqliteOutbox.ts) carries it inside the module that starts it, with
 * no second entry point to keep next to the bundle. It loads better-sqlite3 from the absolute path
 * the main thread resolved, so it does not depend on the working directory, and it uses neither
 * `require` nor `import`: a worker inherits the process's flags, and under `--input-type=module`
 * (`node --input-type=module -e …`, as bench/ingest.mjs starts the relay) eval code is an ES module.
 *
 * Each `{ ops }` message is one group commit: all ops in one IMMEDIATE transaction, one fsync. If
 * the group fails (an append on a full disk), each op is retried in a transaction of its own, so a
 * settle that fits is not rolled back with an append that does not. Claims and settles are the
 * statements of the single-threaded outbox this replaced; the schema is created by the main thread.
 */
export const sqliteWriterSource = String.raw`'use strict';
const { parentPort, workerData: config } = process.getBuiltinModule('node:worker_threads');
const Database = process.getBuiltinModule('node:module').createRequire(config.sqlite)(config.sqlite);
const db = new Database(config.path);
db.pragma('journal_mode = WAL');
db.pragma('synchronous = ' + (config.synchronous === 'NORMAL' ? 'NORMAL' : 'FULL'));
// Only another process can hold the write lock; wait briefly, then fail the batch (503).
db.pragma('busy_timeout = 1000');
// Appends stop a little below the cap, so the small writes that settle events (a delivered mark
// grows a row) still fit on a store that ingest has filled.
let appendPages = Infinity;
if (config.maxBytes) {
  const pageSize = db.pragma('page_size', { simple: true });
  const maxPages = Math.max(1, Math.floor(config.maxBytes / pageSize));
  db.pragma('max_page_count = ' + maxPages);
  appendPages = maxPages - Math.min(Math.max(8, Math.ceil(maxPages * 0.02)), Math.floor(maxPages / 4));
}
// Checked after the rows went in: the throw rolls them back with the group (whose other ops are
// then retried alone).
function assertRoom() {
  if (appendPages === Infinity) return;
  const used = db.pragma('page_count', { simple: true }) - db.pragma('freelist_count', { simple: true });
  if (used > appendPages) throw Object.assign(new Error('database or disk is full'), { code: 'SQLITE_FULL' });
}
const COLUMNS = 'company_id, event_name, event_id, body, received_at, state, attempts, next_attempt_at, delivered_at, last_error, whop_id, dropped';
const insert = db.prepare(
  "INSERT OR IGNORE INTO events (company_id, event_name, event_id, body, received_at, state, next_attempt_at, dropped) VALUES (@company_id, @event_name, @event_id, @body, @received_at, " +
    (config.dryRun ? "'dry_run', NULL, @dropped)" : "'pending', @received_at, @dropped)"),
);
// Kept, never forwarded (a page view): a terminal state from the start, the reason as last_error.
const insertSkipped = db.prepare(
  "INSERT OR IGNORE INTO events (company_id, event_name, event_id, body, received_at, state, next_attempt_at, last_error, dropped) " +
    "VALUES (@company_id, @event_name, @event_id, @body, @received_at, 'skipped', NULL, @skipped, @dropped)",
);
// Fair claims: the companies with a pending event (a seek per company on events_company_due), then
// each due company's share of the claim, in due order.
const nextPendingCompany = db.prepare("SELECT company_id FROM events WHERE state = 'pending' AND company_id > ? ORDER BY company_id LIMIT 1");
const companyDue = db.prepare("SELECT 1 FROM events WHERE state = 'pending' AND company_id = ? AND next_attempt_at <= ? LIMIT 1");
const claimCompany = db.prepare(
  "UPDATE events SET next_attempt_at = @lease, lease_until = @lease, attempts = attempts + 1 " +
    "WHERE seq IN (SELECT seq FROM events WHERE state = 'pending' AND company_id = @company AND next_attempt_at <= @now ORDER BY next_attempt_at, seq LIMIT @limit) " +
    'RETURNING seq, ' + COLUMNS,
);
let turn = 0;

/**
 * Round-robin between companies: the limit is split evenly between the companies with due events
 * (the first ones in a rotating order take the remainder, so each gets turns when there are more
 * companies than the limit), and the result alternates between them, so one seller's backlog does
 * not delay another's events.
 */
function claimFair(op) {
  const due = [];
  for (let after = ''; due.length < 10000; ) {
    const next = nextPendingCompany.get(after);
    if (!next) break;
    after = next.company_id;
    if (companyDue.get(after, op.now)) due.push(after);
  }
  if (due.length === 0) return [];
  const start = turn++ % due.length;
  const order = due.slice(start).concat(due.slice(0, start)).slice(0, op.limit);
  const base = Math.floor(op.limit / order.length);
  const extra = op.limit % order.length;
  const lists = order.map((company, i) =>
    // RETURNING does not promise an order; each company's events oldest first.
    claimCompany.all({ company, now: op.now, lease: op.now + op.leaseMs, limit: base + (i < extra ? 1 : 0) }).sort((a, b) => a.seq - b.seq),
  );
  const out = [];
  for (let i = 0; out.length < op.limit; i++) {
    let any = false;
    for (const list of lists) if (i < list.length) (out.push(list[i]), (any = true));
    if (!any) break;
  }
  return out;
}
const delivered = db.prepare(
  "UPDATE events SET state = 'delivered', delivered_at = @at, whop_id = @whop_id, next_attempt_at = NULL, lease_until = NULL, last_error = NULL " +
    'WHERE company_id = @company_id AND event_name = @event_name AND event_id = @event_id',
);
// A retry only touches a pending event: a late answer must not revive a delivered or dead one.
const retry = db.prepare(
  'UPDATE events SET next_attempt_at = @next, lease_until = NULL, last_error = @error ' +
    "WHERE company_id = @company_id AND event_name = @event_name AND event_id = @event_id AND state = 'pending'",
);
const dead = db.prepare(
  "UPDATE events SET state = 'dead', next_attempt_at = NULL, lease_until = NULL, last_error = @error " +
    'WHERE company_id = @company_id AND event_name = @event_name AND event_id = @event_id',
);
const prune = db.prepare(
  "DELETE FROM events WHERE seq IN (SELECT seq FROM events WHERE state IN ('delivered', 'dead', 'dry_run', 'skipped') AND received_at < ? LIMIT 5000) RETURNING state",
);

// Each op's change to the per-state counts, sent back with its result: the main thread keeps the
// counts (stats never count rows), applying a delta only once its op is committed.
const stateOf = db.prepare('SELECT state FROM events WHERE company_id = @company_id AND event_name = @event_name AND event_id = @event_id');
let delta = {};
const bump = (state, n) => (delta[state] = (delta[state] || 0) + n);

function run(op) {
  if (op.k === 'append') {
    const fresh = op.rows.map((row) => {
      const added = (row.skipped ? insertSkipped : insert).run(row).changes === 1;
      if (added) bump(row.skipped ? 'skipped' : config.dryRun ? 'dry_run' : 'pending', 1);
      return added;
    });
    assertRoom();
    return fresh;
  }
  if (op.k === 'claim') {
    return claimFair(op);
  }
  if (op.k === 'settle') {
    const o = op.outcome;
    const params = { company_id: op.company_id, event_name: op.event_name, event_id: op.event_id, at: o.at };
    if (o.kind === 'retry') retry.run({ ...params, next: o.next_attempt_at, error: o.error });
    else {
      const before = stateOf.get(params);
      const changed = o.kind === 'delivered' ? delivered.run({ ...params, whop_id: o.whop_id }).changes : dead.run({ ...params, error: o.error }).changes;
      if (changed && before && before.state !== o.kind) (bump(before.state, -1), bump(o.kind, 1));
    }
    return undefined;
  }
  if (op.k === 'prune') {
    const gone = prune.all(op.before);
    for (const row of gone) bump(row.state, -1);
    return gone.length;
  }
  throw new Error('unknown outbox write ' + op.k);
}
const group = db.transaction((ops) => ops.map((op) => {
  delta = {};
  const value = run(op);
  return { ok: true, value, delta };
}));
const failed = (error) => ({ ok: false, message: String((error && error.message) || error), code: error && error.code });

parentPort.on('message', (message) => {
  if (message.close) {
    db.close();
    parentPort.close();
    return;
  }
  const ops = message.ops;
  let results;
  try {
    results = group.immediate(ops);
  } catch (error) {
    // Rolled back: nothing of this group was written. Alone, the error is this op's own.
    results = ops.length === 1 ? [failed(error)] : ops.map((op) => {
      try {
        return group.immediate([op])[0];
      } catch (alone) {
        return failed(alone);
      }
    });
  }
  parentPort.postMessage({ results });
});
parentPort.postMessage({ ready: true });
`;
