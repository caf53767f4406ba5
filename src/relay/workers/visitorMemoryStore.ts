import type { VisitorRecord } from '../lib/visitorRecord';
import { VISITOR_WINDOW_MS } from '../lib/visitorRecord';
import type { CfDurableObjectState, CfDurableObjectStorage } from './cloudflare';
import { chunkedStorage } from './dedupStore';

const _DAY_MS = 24 * 3_600_000;
const _day = (at: number) => String(Math.floor(at / _DAY_MS)).padStart(6, '0');

/**
 * Visitor memory for ONE company on Workers: a Durable Object addressed by `idFromName(company_id)`.
 * Why not KV: a server event often follows the visit by seconds (a form posted to the seller's
 * backend), and KV is eventually consistent (a write can take ~60 s to be read elsewhere) and takes
 * one write a second per key; a Durable Object reads its last write, merges in one place, and its
 * alarm prunes without a scan. Keys: `v:<key>` the record, `i:<anonymous id>\0<key>` (what
 * `/forget` deletes), `t:<day>\0<key>` (expiry by day), `n` the record count (the cap: past it new
 * visitors are not remembered until expiry frees room).
 */
export class VisitorMemoryStore {
  private readonly _storage: CfDurableObjectStorage;

  constructor(state: CfDurableObjectState) {
    this._storage = chunkedStorage(state.storage);
  }

  /** RPC over fetch: `POST https://visitors/<op>` with a JSON body; answers JSON. */
  async fetch(request: Request): Promise<Response> {
    const op = new URL(request.url).pathname.slice(1);
    const input = (await request.json()) as never;
    switch (op) {
      case 'get':
        return Response.json(await this.get(input));
      case 'put':
        return Response.json(await this.put(input));
      case 'forget':
        return Response.json(await this.forget(input));
      case 'size':
        return Response.json((await this._storage.get<number>('n')) ?? 0);
      default:
        return new Response('unknown op', { status: 404 });
    }
  }

  async get(input: { keys: string[] }): Promise<Record<string, VisitorRecord>> {
    const found = await this._storage.get<VisitorRecord>(input.keys.map((k) => 'v:' + k));
    const out: Record<string, VisitorRecord> = {};
    for (const [k, v] of found) out[k.slice(2)] = v;
    return out;
  }

  /** Stores records (already merged by the caller); a new key past `max` records is not stored. */
  async put(input: { rows: Array<{ key: string; record: VisitorRecord }>; max: number }): Promise<number> {
    const storage = this._storage;
    const old = await storage.get<VisitorRecord>(input.rows.map((r) => 'v:' + r.key));
    let n = (await storage.get<number>('n')) ?? 0;
    const writes: Record<string, unknown> = {};
    const drop: string[] = [];
    for (const { key, record } of input.rows) {
      const prev = old.get('v:' + key);
      if (!prev && n >= input.max) continue;
      if (!prev) n++;
      if (prev && _day(prev.at) !== _day(record.at)) drop.push(`t:${_day(prev.at)}\0${key}`);
      if (prev?.aid && prev.aid !== record.aid) drop.push(`i:${prev.aid}\0${key}`);
      writes['v:' + key] = record;
      writes[`t:${_day(record.at)}\0${key}`] = 1;
      if (record.aid) writes[`i:${record.aid}\0${key}`] = 1;
    }
    writes.n = n;
    if (drop.length) await storage.delete(drop);
    await storage.put(writes);
    if ((await storage.getAlarm()) === null) await storage.setAlarm(Date.now() + _DAY_MS);
    return n;
  }

  /** Deletes the records this anonymous id wrote last. */
  async forget(input: { aid: string }): Promise<number> {
    const index = await this._storage.list<number>({ prefix: `i:${input.aid}\0` });
    return this._delete([...index.keys()].map((k) => k.slice(k.indexOf('\0') + 1)));
  }

  /** Daily: deletes the records whose latest event is past the 90-day window, a bounded number of pages a run. */
  async alarm(): Promise<void> {
    const before = Date.now() - VISITOR_WINDOW_MS;
    const end = `t:${_day(before)}`;
    for (let page = 0; page < 100; page++) {
      const due = await this._storage.list<number>({ prefix: 't:', end, limit: 512 });
      if (due.size === 0) break;
      await this._storage.delete([...due.keys()]);
      await this._delete(
        [...due.keys()].map((k) => k.slice(k.indexOf('\0') + 1)),
        (r) => r.at < before,
      );
    }
    await this._storage.setAlarm(Date.now() + _DAY_MS);
  }

  private async _delete(keys: string[], which: (r: VisitorRecord) => boolean = () => true): Promise<number> {
    if (keys.length === 0) return 0;
    const found = await this._storage.get<VisitorRecord>(keys.map((k) => 'v:' + k));
    for (const [k, r] of found) if (!which(r)) found.delete(k);
    const drop: string[] = [];
    for (const [k, record] of found) {
      const key = k.slice(2);
      drop.push(k, `t:${_day(record.at)}\0${key}`);
      if (record.aid) drop.push(`i:${record.aid}\0${key}`);
    }
    const n = (await this._storage.get<number>('n')) ?? 0;
    await this._storage.delete(drop);
    await this._storage.put({ n: Math.max(0, n - found.size) });
    return found.size;
  }
}
