import type { VisitorStore } from '../lib/visitorMemory';
import type { VisitorRecord } from '../lib/visitorRecord';
import type { PostgresOutbox } from './postgresOutbox';

/**
 * Visitor memory in the outbox database's `visitors` table (schema migration 3), shared by every
 * relay on it, so a server event reaching one relay finds the visit another one took. Batches are
 * one statement each (`unnest`); a record two relays write at once keeps the last write. Takes the
 * outbox, or a `lazyOutbox` over one (a Next.js route module).
 */
export function createPostgresVisitorStore(outbox: PostgresOutbox | { opened(): Promise<PostgresOutbox> }): VisitorStore {
  const open = async () => {
    const o = 'opened' in outbox ? await outbox.opened() : outbox;
    return { pool: o.pool, table: o.tables.visitors };
  };
  return {
    async get(company_id, keys) {
      const { pool, table } = await open();
      const { rows } = await pool.query<{ key: string; record: string }>(
        `SELECT key, record FROM ${table} WHERE company_id = $1 AND key = ANY($2::text[])`,
        [company_id, keys],
      );
      return new Map(rows.map((r) => [r.key, JSON.parse(r.record) as VisitorRecord]));
    },
    async put(rows) {
      if (rows.length === 0) return;
      const { pool, table } = await open();
      await pool.query(
        `INSERT INTO ${table} (company_id, key, aid, at, record)
         SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::bigint[], $5::text[])
         ON CONFLICT (company_id, key) DO UPDATE SET aid = excluded.aid, at = excluded.at, record = excluded.record`,
        [
          rows.map((r) => r.company_id),
          rows.map((r) => r.key),
          rows.map((r) => r.record.aid ?? null),
          rows.map((r) => r.record.at),
          rows.map((r) => JSON.stringify(r.record)),
        ],
      );
    },
    async forget(anonymousId) {
      const { pool, table } = await open();
      return (await pool.query(`DELETE FROM ${table} WHERE aid = $1`, [anonymousId])).rowCount ?? 0;
    },
    async prune(before, maxEntries) {
      const { pool, table } = await open();
      let n = (await pool.query(`DELETE FROM ${table} WHERE at < $1`, [before])).rowCount ?? 0;
      const { rows } = await pool.query<{ n: string }>(`SELECT count(*) AS n FROM ${table}`);
      const over = Number(rows[0]?.n ?? 0) - maxEntries;
      if (over > 0)
        n +=
          (
            await pool.query(
              `DELETE FROM ${table} WHERE (company_id, key) IN (SELECT company_id, key FROM ${table} ORDER BY at LIMIT $1)`,
              [over],
            )
          ).rowCount ?? 0;
      return n;
    },
    async size() {
      const { pool, table } = await open();
      const { rows } = await pool.query<{ n: string }>(`SELECT count(*) AS n FROM ${table}`);
      return Number(rows[0]?.n ?? 0);
    },
    // The pool is the outbox's: it closes with it.
    async close() {},
  };
}
