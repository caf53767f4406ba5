import type { Logger } from './logger';
import { sha256Hex } from './sha256';
import { mergeRecords, pruneRecord, VISITOR_WINDOW_MS, type VisitorRecord } from './visitorRecord';

/** One stored record: a company's visitor under one key (`a:<anonymous id>`, `e:<sha256 email>`, `p:<sha256 phone>`). */
export interface VisitorRow {
  company_id: string;
  key: string;
  record: VisitorRecord;
}

/**
 * Where visitor records live: memory (`createMemoryVisitorStore`), SQLite on Node, Postgres, a
 * Durable Object on Workers. A plain key-value table; merging, hashing and batching are
 * `createVisitorMemory`'s.
 */
export interface VisitorStore {
  /** The records of one company under these keys (absent keys left out). */
  get(company_id: string, keys: readonly string[]): Promise<Map<string, VisitorRecord>>;
  /** Stores the rows, replacing any under the same company and key. */
  put(rows: readonly VisitorRow[]): Promise<void>;
  /** Deletes every record an anonymous id wrote last (its own key and the email/phone keys it wrote); returns how many. */
  forget(anonymousId: string): Promise<number>;
  /** Deletes records last written before `before`, then the oldest past `maxEntries`; returns how many. */
  prune(before: number, maxEntries: number): Promise<number>;
  /** Records stored. */
  size(): Promise<number>;
  close(): Promise<void>;
}

/** Who a visitor is, as an event names them: any of these. */
export interface VisitorKeys {
  anonymous_id?: string | null;
  email?: string | null;
  phone?: string | null;
}

export interface VisitorMemoryOptions {
  /** Most records kept; past it the oldest go at the next prune. Default 2,000,000. */
  maxEntries?: number;
  /** How long writes wait to be batched (ms). Default 100. */
  flushMs?: number;
  /** How often expired records are pruned (ms). Default 10 minutes. */
  pruneEveryMs?: number;
  /** The clock (tests move it). Default Date.now. */
  now?: () => number;
  logger?: Logger;
}

/** The relay's visitor memory: ingest remembers, the server endpoint recalls, `/forget` forgets. */
export interface VisitorMemory {
  /** Folds a record into the visitor's under each of its keys. Never awaited on the ingest path: writes are batched. */
  remember(company_id: string, keys: VisitorKeys, record: VisitorRecord): Promise<void>;
  /** The visitor's record (the records under each key merged), or null. `key` says which matched first. */
  recall(company_id: string, keys: VisitorKeys): Promise<{ record: VisitorRecord; matched: string[] } | null>;
  /** Forgets what this anonymous id wrote, pending writes included. */
  forget(anonymousId: string): Promise<number>;
  /** Writes what is pending now. */
  flush(): Promise<void>;
  /** Prunes expired records and past the cap now. */
  prune(): Promise<number>;
  size(): Promise<number>;
  close(): Promise<void>;
}

/**
 * The stored keys for a visitor, as Meta and Whop hash identities: the email trimmed and
 * lower-cased, the phone as digits only, each SHA-256 hex. The anonymous id is kept as is (the
 * pixel's random id, no personal data).
 */
export function visitorKeys(keys: VisitorKeys): Array<[kind: string, key: string]> {
  const out: Array<[string, string]> = [];
  if (keys.anonymous_id) out.push(['anonymous_id', 'a:' + keys.anonymous_id]);
  const email = keys.email?.trim().toLowerCase();
  if (email) out.push(['email', 'e:' + sha256Hex(email)]);
  const phone = keys.phone?.replace(/\D/g, '');
  if (phone) out.push(['phone', 'p:' + sha256Hex(phone)]);
  return out;
}

/**
 * Visitor memory over a store: writes gathered for `flushMs` and merged (one read and one write per
 * key a batch), reads that see the writes not yet flushed, expiry and the size cap pruned every
 * `pruneEveryMs`.
 */
export function createVisitorMemory(store: VisitorStore, options: VisitorMemoryOptions = {}): VisitorMemory {
  const now = options.now ?? Date.now;
  const maxEntries = options.maxEntries ?? 2_000_000;
  const flushMs = options.flushMs ?? 100;
  let pending = new Map<string, VisitorRow>();
  let inFlight = new Map<string, VisitorRow>();
  let timer: ReturnType<typeof setTimeout> | null = null;
  let flushing: Promise<void> = Promise.resolve();
  // Started by the first write, not here: Workers allow no timers while a module is loading.
  let pruner: ReturnType<typeof setInterval> | null = null;

  const stopTimer = () => {
    if (timer) clearTimeout(timer);
    timer = null;
  };
  const flush = (): Promise<void> => {
    stopTimer();
    flushing = flushing.then(async () => {
      stopTimer();
      if (pending.size === 0) return;
      inFlight = pending;
      pending = new Map();
      try {
        const byCompany = new Map<string, VisitorRow[]>();
        for (const row of inFlight.values()) {
          const list = byCompany.get(row.company_id);
          if (list) list.push(row);
          else byCompany.set(row.company_id, [row]);
        }
        const rows: VisitorRow[] = [];
        for (const [company, list] of byCompany) {
          const old = await store.get(
            company,
            list.map((r) => r.key),
          );
          for (const r of list) {
            const prev = old.get(r.key);
            rows.push(prev ? { ...r, record: mergeRecords(prev, r.record) } : r);
          }
        }
        await store.put(rows);
      } catch (error) {
        // Memory is best effort: a failed write loses touches, never an event.
        options.logger?.warn('visitor memory: write failed', { error: String((error as Error)?.name ?? error) });
      } finally {
        inFlight = new Map();
      }
    });
    return flushing;
  };

  const prune = async () => {
    await flush();
    return store.prune(now() - VISITOR_WINDOW_MS, maxEntries);
  };

  return {
    remember(company_id, keys, record) {
      if (!pruner) {
        pruner = setInterval(() => void prune().catch(() => {}), options.pruneEveryMs ?? 600_000);
        (pruner as { unref?: () => void }).unref?.();
      }
      for (const [, key] of visitorKeys(keys)) {
        const id = company_id + '\u0000' + key;
        const prev = pending.get(id);
        pending.set(id, { company_id, key, record: prev ? mergeRecords({ ...prev.record, c: { ...prev.record.c } }, record) : record });
      }
      if (pending.size >= 5000) void flush();
      else timer ??= setTimeout(() => void flush(), flushMs);
      return Promise.resolve();
    },
    async recall(company_id, keys) {
      const named = visitorKeys(keys);
      if (named.length === 0) return null;
      let record: VisitorRecord | null = null;
      const matched: string[] = [];
      const fold = async (list: Array<[string, string]>) => {
        const stored = await store.get(
          company_id,
          list.map(([, k]) => k),
        );
        for (const [kind, key] of list) {
          const id = company_id + '\u0000' + key;
          for (const r of [stored.get(key), inFlight.get(id)?.record, pending.get(id)?.record]) {
            if (!r) continue;
            record = record ? mergeRecords(record, r) : { ...r, c: { ...r.c }, b: r.b && { ...r.b } };
            if (kind && !matched.includes(kind)) matched.push(kind);
          }
        }
      };
      await fold(named);
      // An email or phone record holds what the events naming it carried; the browser's own record
      // (its landing page, the page views before the visitor identified) is under its anonymous id.
      const aid = (record as VisitorRecord | null)?.aid;
      if (aid && !keys.anonymous_id) await fold([['', 'a:' + aid]]);
      return record && pruneRecord(record, now()) ? { record, matched } : null;
    },
    async forget(anonymousId) {
      let n = 0;
      for (const map of [pending, inFlight]) {
        for (const [id, row] of map) {
          if (row.record.aid !== anonymousId) continue;
          map.delete(id);
          n++;
        }
      }
      await flushing;
      return n + (await store.forget(anonymousId));
    },
    flush,
    prune,
    async size() {
      await flush();
      return store.size();
    },
    async close() {
      if (pruner) clearInterval(pruner);
      await flush();
      await store.close();
    },
  };
}
