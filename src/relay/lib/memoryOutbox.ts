import { OutboxUnavailableError, type EventKey, type Outbox, type OutboxInput, type OutboxRecord, type OutboxStats } from './outbox';

export interface MemoryOutboxOptions {
  /** Store as `dry_run` instead of `pending`. Default false. */
  dryRun?: boolean;
  /** Most events kept; past it appends fail with OutboxUnavailableError (503). Default 100_000. */
  maxEvents?: number;
}

/**
 * An outbox in memory: for tests, demos and runtimes without a disk. Not durable: a restart loses
 * everything. `failing = true` makes appends fail as a broken disk would.
 */
export class MemoryOutbox implements Outbox {
  /** Set to make `append` and `stats` reject with OutboxUnavailableError. */
  failing = false;
  private readonly _records = new Map<string, OutboxRecord>();
  private readonly _dryRun: boolean;
  private readonly _max: number;

  constructor(options: MemoryOutboxOptions = {}) {
    this._dryRun = options.dryRun ?? false;
    this._max = options.maxEvents ?? 100_000;
  }

  async append(events: readonly OutboxInput[]): Promise<boolean[]> {
    if (this.failing) throw new OutboxUnavailableError('memory outbox set to fail');
    const fresh = new Set(events.map(_id).filter((id) => !this._records.has(id)));
    if (this._records.size + fresh.size > this._max) throw new OutboxUnavailableError('memory outbox full');
    return events.map((e) => {
      const id = _id(e);
      if (this._records.has(id)) return false;
      const state = e.skipped ? 'skipped' : this._dryRun ? 'dry_run' : 'pending';
      this._records.set(id, {
        ...e,
        state,
        attempts: 0,
        next_attempt_at: state === 'pending' ? e.received_at : null,
        delivered_at: null,
        last_error: e.skipped ?? null,
        whop_id: null,
      });
      return true;
    });
  }

  async stats(): Promise<OutboxStats> {
    if (this.failing) throw new OutboxUnavailableError('memory outbox set to fail');
    const s: OutboxStats = { pending: 0, delivered: 0, dead: 0, dry_run: 0, skipped: 0, oldest_pending_at: null, per_minute: [] };
    const minutes = new Map<number, number>();
    for (const r of this._records.values()) {
      s[r.state]++;
      if (r.state === 'pending' && (s.oldest_pending_at === null || r.received_at < s.oldest_pending_at))
        s.oldest_pending_at = r.received_at;
      const m = Math.floor(r.received_at / 60_000) * 60_000;
      minutes.set(m, (minutes.get(m) ?? 0) + 1);
    }
    const since = Date.now() - 3_600_000;
    s.per_minute = [...minutes].filter(([m]) => m >= since).sort((a, b) => a[0] - b[0]);
    return s;
  }

  async recent(limit: number): Promise<OutboxRecord[]> {
    return [...this._records.values()].reverse().slice(0, limit);
  }

  /** Every stored record, oldest first (tests). */
  all(): OutboxRecord[] {
    return [...this._records.values()];
  }

  async close(): Promise<void> {}
}

/** The identity as one map key (JSON: no separator an id could contain is ambiguous). */
const _id = (e: EventKey) => JSON.stringify([e.company_id, e.event_name, e.event_id]);
