// What the shared contract (test/outboxContract.ts) does not cover: group commit, many processes
// claiming from one table, a database restart, the schema version, plans on a large table.
import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { afterAll, afterEach, beforeAll, describe, expect, inject, it, vi } from 'vitest';
import { OutboxUnavailableError } from '../lib/outbox';
import { event } from '../../../test/outboxContract';
import { startTestPostgres, type TestPostgres } from '../../../test/postgres/testPostgres';
import { createPostgresOutbox, type PostgresOutbox } from './postgresOutbox';
import { POSTGRES_SCHEMA_VERSION } from './postgresSchema';

const open: PostgresOutbox[] = [];
async function outbox(options: { schema?: string; url?: string; dryRun?: boolean; poolSize?: number } = {}): Promise<PostgresOutbox> {
  const o = await createPostgresOutbox({
    connectionString: options.url ?? inject('postgresUrl'),
    schema: options.schema ?? schemaName(),
    poolSize: options.poolSize ?? 3,
    dryRun: options.dryRun,
    startupTimeoutMs: 5_000,
  });
  open.push(o);
  return o;
}
const schemaName = () => `t_${randomBytes(6).toString('hex')}`;
async function sql<T extends pg.QueryResultRow>(text: string, values: unknown[] = [], url = inject('postgresUrl')): Promise<T[]> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    return (await client.query<T>(text, values)).rows;
  } finally {
    await client.end();
  }
}
afterEach(async () => {
  for (const o of open.splice(0)) await o.close();
});

describe('PostgresOutbox', () => {
  it('groups appends of one tick into one transaction, each resolved after its commit', async () => {
    const o = await outbox();
    const results = await Promise.all(Array.from({ length: 20 }, (_, i) => o.append([event(`e${i}a`), event(`e${i}b`)])));
    expect(results.flat().every(Boolean)).toBe(true);
    // Rows written by one transaction share its xmin: the 20 calls made one commit.
    const xmins = await sql<{ xmin: string }>(`SELECT DISTINCT xmin::text FROM ${o.tables.events}`);
    expect(xmins).toHaveLength(1);
    await o.append([event('later')]);
    expect(await sql(`SELECT DISTINCT xmin::text FROM ${o.tables.events}`)).toHaveLength(2);
  });

  it('lets many relays claim from one table concurrently, each event handed to exactly one', async () => {
    const schema = schemaName();
    const relays = await Promise.all([outbox({ schema }), outbox({ schema }), outbox({ schema })]);
    const t = Date.now();
    const total = 600;
    for (let i = 0; i < total; i += 100)
      await relays[i % 3]!.append(Array.from({ length: 100 }, (_, j) => event(`c${i + j}`, t - total + i + j, j % 2 ? 'biz_a' : 'biz_b')));
    const seen: string[] = [];
    await Promise.all(
      relays.map(async (r) => {
        for (;;) {
          const batch = await r.claim(Date.now(), 7, 60_000);
          if (batch.length === 0) return;
          seen.push(...batch.map((e) => `${e.company_id}/${e.event_id}`));
          await Promise.all(batch.map((e) => r.settle(e, { kind: 'delivered', at: Date.now(), whop_id: null })));
        }
      }),
    );
    expect(seen).toHaveLength(total);
    expect(new Set(seen).size).toBe(total);
    expect(await relays[0]!.stats()).toMatchObject({ pending: 0, delivered: total });
  });

  it('refuses a database whose schema is newer than this relay', async () => {
    const schema = schemaName();
    await (await outbox({ schema })).close();
    await sql(`UPDATE "${schema}".schema_version SET version = $1`, [POSTGRES_SCHEMA_VERSION + 1]);
    await expect(createPostgresOutbox({ connectionString: inject('postgresUrl'), schema, startupTimeoutMs: 2_000 })).rejects.toThrow(
      /newer than this relay/,
    );
  });

  it('migrates once when relays start together', async () => {
    const schema = schemaName();
    await Promise.all(Array.from({ length: 4 }, () => outbox({ schema })));
    expect(await sql(`SELECT version FROM "${schema}".schema_version`)).toEqual([{ version: POSTGRES_SCHEMA_VERSION }]);
  });

  it('keeps claim, nextDueAt and stats on indices (50k rows)', async () => {
    const o = await outbox();
    const t = Date.now();
    for (let i = 0; i < 50_000; i += 5_000) await o.append(Array.from({ length: 5_000 }, (_, j) => event(`e${i + j}`, t - 50_000 + i + j)));
    await sql(`ANALYZE ${o.tables.events}`);
    const plan = async (q: string) => (await sql<{ 'QUERY PLAN': string }>(`EXPLAIN ${q}`)).map((r) => r['QUERY PLAN']).join('\n');
    expect(
      await plan(
        `SELECT seq FROM ${o.tables.events} WHERE state = 'pending' AND next_attempt_at <= 1 ORDER BY next_attempt_at, seq LIMIT 8`,
      ),
    ).toMatch(/Index (Only )?Scan using events_due/);
    expect(await plan(`SELECT min(next_attempt_at) FROM ${o.tables.events} WHERE state = 'pending'`)).toMatch(/events_due/);
    expect(
      await plan(
        `SELECT seq FROM ${o.tables.events} WHERE state = 'pending' AND company_id = 'biz_a' AND next_attempt_at <= 1 ORDER BY next_attempt_at, seq LIMIT 8`,
      ),
    ).toMatch(/Index (Only )?Scan using events_company_due/);
    expect(await plan(`SELECT min(received_at) FROM ${o.tables.events} WHERE state = 'pending'`)).toMatch(/events_pending_received/);
    expect(await plan(`SELECT count(*) FROM ${o.tables.events} WHERE received_at >= ${t}`)).toMatch(/events_received/);
    expect(await plan(`SELECT count(*) FROM ${o.tables.events} WHERE received_at >= ${t}`)).not.toMatch(/Seq Scan/);
    expect((await o.claim(t, 3, 1000)).map((r) => r.event_id)).toEqual(['e0', 'e1', 'e2']);
    expect((await o.stats()).pending).toBe(50_000);
  });
});

describe('PostgresOutbox when the database goes away', () => {
  let server: TestPostgres;
  beforeAll(async () => {
    server = await startTestPostgres();
  }, 60_000);
  afterAll(async () => {
    await server?.dispose();
  });

  it('answers OutboxUnavailableError while the server is down and recovers by itself, losing nothing acknowledged', async () => {
    const o = await outbox({ url: server.url });
    expect(await o.append([event('before')])).toEqual([true]);
    await server.stop();
    await expect(o.append([event('during')])).rejects.toBeInstanceOf(OutboxUnavailableError);
    await expect(o.stats()).rejects.toBeInstanceOf(OutboxUnavailableError);
    await expect(o.claim(Date.now(), 10, 1000)).rejects.toBeInstanceOf(OutboxUnavailableError);
    await server.start();
    const resent = await vi.waitFor(() => o.append([event('during'), event('before')]), { timeout: 20_000, interval: 100 });
    expect(resent).toEqual([true, false]);
    expect(await o.stats()).toMatchObject({ pending: 2 });
  });
});
