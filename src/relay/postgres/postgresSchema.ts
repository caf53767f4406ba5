import type { PgClient } from './pgTypes';

/** The schema version this build writes. Older databases are migrated up at startup; a newer one is refused. */
export const POSTGRES_SCHEMA_VERSION = 3;

/** `"name"` for SQL, with inner quotes doubled. */
export function quoteIdent(name: string): string {
  return '"' + name.replace(/"/g, '""') + '"';
}

/**
 * Migration N (index N-1) takes the schema from version N-1 to N, in `s` (the quoted schema name).
 * Never edit a shipped one: append the next.
 */
const _MIGRATIONS: Array<(s: string) => string> = [
  (s) => `
CREATE TABLE ${s}.events (
  seq bigserial PRIMARY KEY,
  company_id text NOT NULL,
  event_name text NOT NULL,
  event_id text NOT NULL,
  body text NOT NULL,
  received_at bigint NOT NULL,
  state text NOT NULL,
  attempts integer NOT NULL DEFAULT 0,
  next_attempt_at bigint,
  lease_until bigint,
  delivered_at bigint,
  last_error text,
  whop_id text,
  dropped text,
  bytes integer NOT NULL,
  CONSTRAINT events_identity UNIQUE (company_id, event_name, event_id)
);
-- claim and nextDueAt: due pending events in due order, from the pending rows only.
CREATE INDEX events_due ON ${s}.events (next_attempt_at, seq) WHERE state = 'pending';
-- stats.oldest_pending_at.
CREATE INDEX events_pending_received ON ${s}.events (received_at) WHERE state = 'pending';
-- stats.per_minute and pruning by age.
CREATE INDEX events_received ON ${s}.events (received_at);
-- Counts per state (and stored bytes) kept by every write, in slots so relays do not queue on one
-- row: stats() sums a few hundred rows instead of counting the table.
CREATE TABLE ${s}.counts (slot integer NOT NULL, key text NOT NULL, n bigint NOT NULL, PRIMARY KEY (slot, key));
-- Holds shared by every relay on this database: scope '*' is Whop's Retry-After for all sends,
-- a company id is that company's pause after Whop refused the key.
CREATE TABLE ${s}.holds (scope text PRIMARY KEY, until_at bigint NOT NULL, probe_at bigint NOT NULL, reason text NOT NULL);
`,
  // 2: fair claims between companies: the companies ever stored, and each one's due events in order.
  (s) => `
CREATE TABLE ${s}.companies (company_id text PRIMARY KEY);
INSERT INTO ${s}.companies SELECT DISTINCT company_id FROM ${s}.events ON CONFLICT DO NOTHING;
CREATE INDEX events_company_due ON ${s}.events (company_id, next_attempt_at, seq) WHERE state = 'pending';
`,
  // 3: visitor memory (docs/SERVER.md): a record per company and key (anonymous id, hashed email or phone).
  (s) => `
CREATE TABLE ${s}.visitors (
  company_id text NOT NULL,
  key text NOT NULL,
  aid text,
  at bigint NOT NULL,
  record text NOT NULL,
  PRIMARY KEY (company_id, key)
);
CREATE INDEX visitors_at ON ${s}.visitors (at);
CREATE INDEX visitors_aid ON ${s}.visitors (aid) WHERE aid IS NOT NULL;
`,
];

/**
 * Creates or migrates the schema. Runs under an advisory lock, so relays starting together migrate
 * once; each migration and the version bump commit together.
 */
export async function migratePostgres(client: PgClient, schema: string): Promise<number> {
  const s = quoteIdent(schema);
  await client.query('BEGIN');
  try {
    await client.query('SELECT pg_advisory_xact_lock(hashtext($1))', ['whopq schema ' + schema]);
    await client.query(`CREATE SCHEMA IF NOT EXISTS ${s}`);
    await client.query(`CREATE TABLE IF NOT EXISTS ${s}.schema_version (version integer NOT NULL)`);
    const { rows } = await client.query<{ version: number }>(`SELECT version FROM ${s}.schema_version`);
    let version = rows[0]?.version ?? 0;
    if (rows.length === 0) await client.query(`INSERT INTO ${s}.schema_version (version) VALUES (0)`);
    if (version > POSTGRES_SCHEMA_VERSION) {
      throw new Error(
        `the database schema ${schema} is at version ${version}, newer than this relay's ${POSTGRES_SCHEMA_VERSION}: upgrade whopq`,
      );
    }
    for (; version < POSTGRES_SCHEMA_VERSION; version++) await client.query(_MIGRATIONS[version]!(s));
    await client.query(`UPDATE ${s}.schema_version SET version = $1`, [version]);
    await client.query('COMMIT');
    return version;
  } catch (error) {
    await client.query('ROLLBACK').catch(() => {});
    throw error;
  }
}
