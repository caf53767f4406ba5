import type { Outcome } from '../lib/outbox';
import type { PauseSignal } from '../lib/forwardOne';
import type { CfDurableObjectState, CfDurableObjectStorage } from './cloudflare';

/**
 * Where one event stands in the ledger (keyed by `ledgerKey`: event_name and event_id).
 * `reserved`: ingest is writing it to the Queue (a lapsed
 * reservation means that write never finished, so the id is free again); `queued`: on the Queue,
 * not yet delivered; `sending`: a consumer holds it until `l`; then `delivered` / `dead` for good;
 * `dry_run`: accepted with no API key configured, never sent; `skipped`: kept, never sent (a page view).
 */
type _State = 'reserved' | 'queued' | 'sending' | 'delivered' | 'dead' | 'dry_run' | 'skipped';

interface _Entry {
  s: _State;
  /** When it entered this state (epoch ms). */
  t: number;
  /** Delivery attempts started. */
  a: number;
  /** Lease end of `reserved` / `sending` (epoch ms). */
  l?: number;
  /** Last error (Whop's body or a transport error). */
  e?: string;
  /** Whop's conversion id. */
  w?: string | null;
}

interface _Counts {
  pending: number;
  delivered: number;
  dead: number;
  dry_run: number;
  skipped: number;
}

/**
 * What `begin` tells a consumer: send now, drop the message (already settled), come back shortly
 * (another consumer holds the event), or come back when Whop's Retry-After for this company ends.
 */
export type BeginAnswer =
  | { go: 'send'; attempts: number }
  | { go: 'done' }
  | { go: 'busy'; waitMs: number }
  | { go: 'hold'; waitMs: number };

/** Ledger entries of delivered/dead events are kept this long, then purged by an alarm (30 days). */
const _RETENTION_MS = 30 * 24 * 3_600_000;
const _DAY_MS = 24 * 3_600_000;
const _ZERO: _Counts = { pending: 0, delivered: 0, dead: 0, dry_run: 0, skipped: 0 };

const _bucket = (state: _State | undefined): keyof _Counts | null =>
  state === undefined ? null : state === 'delivered' || state === 'dead' || state === 'dry_run' || state === 'skipped' ? state : 'pending';

/**
 * The dedup ledger for ONE company: a Durable Object, addressed by `idFromName(company_id)`.
 *
 * Why a Durable Object and not KV or D1: dedup needs a read-then-write that no two requests can
 * interleave ("is this event_id new? then it is mine"). KV is eventually consistent (a resend
 * landing in another location within ~60 s reads a stale "absent" and is enqueued twice), and D1 has
 * the UNIQUE constraint but no leases without extra round trips. A Durable Object is a single
 * thread per key with transactional storage (input/output gates), so check-and-set is atomic and
 * every read sees the last write, at ingest and at delivery alike. One object per company keeps each
 * seller's traffic on its own object (about a thousand requests a second per object).
 */
export class DedupStore {
  private readonly _state: CfDurableObjectState;

  constructor(state: CfDurableObjectState) {
    this._state = { storage: chunkedStorage(state.storage) };
  }

  /** RPC over fetch: `POST https://dedup/<op>` with a JSON body; answers JSON. */
  async fetch(request: Request): Promise<Response> {
    const op = new URL(request.url).pathname.slice(1);
    const input = (await request.json()) as never;
    switch (op) {
      case 'reserve':
        return Response.json(await this.reserve(input));
      case 'confirm':
        return Response.json(await this.confirm(input));
      case 'release':
        return Response.json(await this.release(input));
      case 'begin':
        return Response.json(await this.begin(input));
      case 'settle':
        return Response.json(await this.settle(input));
      case 'stats':
        return Response.json(await this.stats());
      default:
        return new Response('unknown op', { status: 404 });
    }
  }

  /** Periodic purge of settled entries past retention, in bounded pages. */
  async alarm(): Promise<void> {
    const storage = this._state.storage;
    const now = Date.now();
    const counts = { ..._ZERO, ...(await storage.get<_Counts>('c')) };
    let start: string | undefined;
    for (let page = 0; page < 200; page++) {
      const entries = await storage.list<_Entry>({ prefix: 'e:', start, limit: 512 });
      if (entries.size === 0) break;
      const drop: string[] = [];
      for (const [key, entry] of entries) {
        start = key + '\0';
        const bucket = _bucket(entry.s);
        if (bucket !== 'pending' && now - entry.t > _RETENTION_MS && bucket) {
          drop.push(key);
          counts[bucket]--;
        }
      }
      if (drop.length) await storage.delete(drop);
    }
    await storage.put({ c: counts });
    await storage.setAlarm(now + _DAY_MS);
  }

  /** Claims new ids for ingest; `false` for an id already known (a resend). `skipped[i]`: record it as settled, never sent. */
  async reserve(input: { ids: string[]; now: number; leaseMs: number; dryRun?: boolean; skipped?: boolean[] }): Promise<boolean[]> {
    const storage = this._state.storage;
    const keys = input.ids.map((id) => `e:${id}`);
    const found = await storage.get<_Entry>([...new Set(keys)]);
    const counts = { ..._ZERO, ...(await storage.get<_Counts>('c')) };
    const writes: Record<string, _Entry | _Counts> = {};
    const fresh = keys.map((key, i) => {
      const entry = (writes[key] as _Entry | undefined) ?? found.get(key);
      // A reservation whose Queue write never completed (its request died) frees the id again.
      const lapsed = entry?.s === 'reserved' && (entry.l ?? 0) < input.now;
      if (entry && !lapsed) return false;
      const state: _State = input.skipped?.[i] ? 'skipped' : input.dryRun ? 'dry_run' : 'reserved';
      if (!entry) counts[_bucket(state)!]++;
      else if (state !== 'reserved') counts.pending--, counts[_bucket(state)!]++;
      writes[key] =
        state === 'reserved' ? { s: state, t: input.now, a: 0, l: input.now + input.leaseMs } : { s: state, t: input.now, a: 0 };
      return true;
    });
    writes.c = counts;
    await storage.put(writes);
    if ((await storage.getAlarm()) === null) await storage.setAlarm(input.now + _DAY_MS);
    return fresh;
  }

  /** The Queue accepted these: they now wait for the consumer. */
  async confirm(input: { ids: string[]; now: number }): Promise<null> {
    await this._move(input.ids, (entry) => (entry.s === 'reserved' ? { s: 'queued', t: input.now, a: entry.a } : null));
    return null;
  }

  /** The Queue write failed: forget the reservations so the browser's retry is taken as new. */
  async release(input: { ids: string[] }): Promise<null> {
    const storage = this._state.storage;
    const found = await storage.get<_Entry>(input.ids.map((id) => `e:${id}`));
    const drop = [...found].filter(([, entry]) => entry.s === 'reserved').map(([key]) => key);
    if (drop.length) {
      const counts = { ..._ZERO, ...(await storage.get<_Counts>('c')) };
      counts.pending -= drop.length;
      await storage.delete(drop);
      await storage.put({ c: counts });
    }
    return null;
  }

  /** A consumer wants to send `id`: only one may hold it at a time, and never after it settled. */
  async begin(input: { id: string; now: number; leaseMs: number }): Promise<BeginAnswer> {
    const storage = this._state.storage;
    const key = `e:${input.id}`;
    const entry = await storage.get<_Entry>(key);
    if (entry && (entry.s === 'delivered' || entry.s === 'dead' || entry.s === 'dry_run' || entry.s === 'skipped')) return { go: 'done' };
    if (entry?.s === 'sending' && (entry.l ?? 0) > input.now) return { go: 'busy', waitMs: (entry.l ?? 0) - input.now };
    // Whop asked this company's sender to wait (429/503 with Retry-After): no event goes out before then.
    const hold = await storage.get<number>('h');
    if (hold && hold > input.now) return { go: 'hold', waitMs: hold - input.now };
    const attempts = (entry?.a ?? 0) + 1;
    const writes: Record<string, _Entry | _Counts> = { [key]: { s: 'sending', t: input.now, a: attempts, l: input.now + input.leaseMs } };
    if (!entry) {
      // Purged, or put on the Queue by other code than ingest: count it as pending from now.
      const counts = { ..._ZERO, ...(await storage.get<_Counts>('c')) };
      counts.pending++;
      writes.c = counts;
    }
    await storage.put(writes);
    return { go: 'send', attempts };
  }

  /**
   * Records one attempt's outcome. A pause keeps the event pending and marks the company paused;
   * `holdUntil` (from Retry-After) holds every send of the company until then.
   */
  async settle(input: { id: string; outcome: Outcome | PauseSignal; holdUntil?: number }): Promise<null> {
    const { outcome } = input;
    if (input.holdUntil) {
      const hold = (await this._state.storage.get<number>('h')) ?? 0;
      if (input.holdUntil > hold) await this._state.storage.put({ h: input.holdUntil });
    }
    await this._move([input.id], (entry) => {
      if (outcome.kind === 'delivered') return { s: 'delivered', t: outcome.at, a: entry.a, w: outcome.whop_id };
      if (outcome.kind === 'dead') return { s: 'dead', t: outcome.at, a: entry.a, e: outcome.error };
      return { s: 'queued', t: outcome.at, a: entry.a, e: outcome.error };
    });
    if (outcome.kind === 'pause') await this._state.storage.put({ p: { status: outcome.status, error: outcome.error, at: outcome.at } });
    else if (outcome.kind === 'delivered') await this._state.storage.delete(['p']);
    return null;
  }

  /** Counters and the pause flag, for /ready and /metrics. */
  async stats(): Promise<{ counts: _Counts; paused: { status: number; error: string; at: number } | null }> {
    const storage = this._state.storage;
    return {
      counts: { ..._ZERO, ...(await storage.get<_Counts>('c')) },
      paused: (await storage.get<{ status: number; error: string; at: number }>('p')) ?? null,
    };
  }

  /** Applies `next` to each existing entry (null: leave it) and keeps the counters in step. */
  private async _move(ids: string[], next: (entry: _Entry) => _Entry | null): Promise<void> {
    const storage = this._state.storage;
    const found = await storage.get<_Entry>(ids.map((id) => `e:${id}`));
    const counts = { ..._ZERO, ...(await storage.get<_Counts>('c')) };
    const writes: Record<string, _Entry | _Counts> = {};
    for (const [key, entry] of found) {
      const moved = next(entry);
      if (!moved) continue;
      const from = _bucket(entry.s);
      const to = _bucket(moved.s);
      if (from && to && from !== to) {
        counts[from]--;
        counts[to]++;
      }
      writes[key] = moved;
    }
    if (Object.keys(writes).length === 0) return;
    writes.c = counts;
    await storage.put(writes);
  }
}

/** Cloudflare takes at most 128 keys per get/put/delete call (https://developers.cloudflare.com/durable-objects/platform/limits/). */
const _MAX_KEYS = 128;

function _slices<T>(items: readonly T[]): T[][] {
  const out: T[][] = [];
  for (let i = 0; i < items.length; i += _MAX_KEYS) out.push(items.slice(i, i + _MAX_KEYS));
  return out;
}

/**
 * The storage with get/put/delete split into calls of at most 128 keys. The puts of one call are
 * issued together without an await between them, so the runtime still commits them as one atomic
 * write (https://developers.cloudflare.com/durable-objects/api/storage-api/#supported-options).
 */
export function chunkedStorage(storage: CfDurableObjectStorage): CfDurableObjectStorage {
  const get = storage.get.bind(storage) as (key: string | string[]) => Promise<unknown>;
  return {
    list: storage.list.bind(storage),
    getAlarm: storage.getAlarm.bind(storage),
    setAlarm: storage.setAlarm.bind(storage),
    get: (async (key: string | string[]) => {
      if (!Array.isArray(key)) return get(key);
      const parts = (await Promise.all(_slices(key).map((slice) => get(slice)))) as Map<string, unknown>[];
      return new Map(parts.flatMap((part) => [...part]));
    }) as CfDurableObjectStorage['get'],
    put: async (entries) => {
      await Promise.all(_slices(Object.entries(entries)).map((slice) => storage.put(Object.fromEntries(slice))));
    },
    delete: async (keys) => (await Promise.all(_slices(keys).map((slice) => storage.delete(slice)))).reduce((a, b) => a + b, 0),
  };
}
