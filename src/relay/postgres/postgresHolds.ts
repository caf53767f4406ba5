import type { PgPool } from './pgTypes';
import type { SharedHoldState, SharedHolds } from '../lib/sharedHolds';
import type { PostgresOutbox } from './postgresOutbox';

/**
 * `SharedHolds` in the outbox database's `holds` table: scope '*' is the Retry-After hold, a
 * company id that company's pause. Reads are cached for `cacheMs` (the forwarder asks before every
 * claim); this process's own writes update the cache at once.
 */
export function createPostgresHolds(outbox: PostgresOutbox, options: { cacheMs?: number } = {}): SharedHolds {
  const pool: PgPool = outbox.pool;
  const table = outbox.tables.holds;
  const cacheMs = options.cacheMs ?? 1_000;
  let cached: { at: number; state: Promise<SharedHoldState> } | null = null;

  const load = async (): Promise<SharedHoldState> => {
    const { rows } = await pool.query<{ scope: string; until_at: string; probe_at: string; reason: string }>(
      `SELECT scope, until_at, probe_at, reason FROM ${table}`,
    );
    const state: SharedHoldState = { holdUntil: 0, paused: [] };
    for (const r of rows) {
      if (r.scope === '*') state.holdUntil = Number(r.until_at);
      else state.paused.push({ company_id: r.scope, probeAt: Number(r.probe_at), reason: r.reason });
    }
    return state;
  };
  const forget = () => (cached = null);

  return {
    read() {
      const now = Date.now();
      if (!cached || now - cached.at > cacheMs) {
        const state = load();
        cached = { at: now, state };
        state.catch(forget);
      }
      return cached.state;
    },
    async hold(until) {
      await pool.query(
        `INSERT INTO ${table} (scope, until_at, probe_at, reason) VALUES ('*', $1, 0, 'Retry-After')
         ON CONFLICT (scope) DO UPDATE SET until_at = greatest(${table}.until_at, excluded.until_at)`,
        [until],
      );
      forget();
    },
    async pause(company_id, probeAt, reason) {
      await pool.query(
        `INSERT INTO ${table} (scope, until_at, probe_at, reason) VALUES ($1, 0, $2, $3)
         ON CONFLICT (scope) DO UPDATE SET probe_at = excluded.probe_at, reason = excluded.reason`,
        [company_id, probeAt, reason],
      );
      forget();
    },
    async resume(company_id) {
      await pool.query(`DELETE FROM ${table} WHERE scope = $1`, [company_id]);
      forget();
    },
    async takeProbe(company_id, now, nextProbeAt) {
      // One statement: the row's probe moves on for everyone only if it was due; no row, no pause to honour.
      const { rows } = await pool.query<{ taken: boolean }>(
        `WITH t AS (UPDATE ${table} SET probe_at = $3 WHERE scope = $1 AND probe_at <= $2 RETURNING 1)
         SELECT EXISTS (SELECT 1 FROM t) OR NOT EXISTS (SELECT 1 FROM ${table} WHERE scope = $1) AS taken`,
        [company_id, now, nextProbeAt],
      );
      forget();
      return rows[0]?.taken ?? true;
    },
  };
}
