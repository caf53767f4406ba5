// The shared outbox contract (outboxContract.ts) against SQLite, Postgres (the server the test run
// started: test/postgres/globalSetup.ts) and memory.
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, inject } from 'vitest';
import { MemoryOutbox } from '../src/relay/lib/memoryOutbox';
import { SqliteOutbox } from '../src/relay/node/sqliteOutbox';
import { createPostgresOutbox, type PostgresOutbox } from '../src/relay/postgres/postgresOutbox';
import { describeOutboxContract, type ContractOptions } from './outboxContract';

const dirs: string[] = [];
afterAll(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

const sqlitePaths = new WeakMap<object, { path: string; options?: ContractOptions }>();
describeOutboxContract({
  name: 'SQLite',
  pull: true,
  identityHasName: true,
  releasesLeasesOnOpen: true,
  async open(options) {
    const dir = mkdtempSync(join(tmpdir(), 'whopq-contract-'));
    dirs.push(dir);
    const path = join(dir, 'outbox.db');
    const o = new SqliteOutbox({ path, ...options });
    sqlitePaths.set(o, { path, options });
    return o;
  },
  async reopen(previous) {
    const { path, options } = sqlitePaths.get(previous)!;
    return new SqliteOutbox({ path, ...options });
  },
});

const pgSchemas = new WeakMap<object, { schema: string; options?: ContractOptions }>();
describeOutboxContract({
  name: 'Postgres',
  pull: true,
  identityHasName: true,
  async open(options) {
    const schema = `t_${randomBytes(6).toString('hex')}`;
    const o: PostgresOutbox = await createPostgresOutbox({ connectionString: inject('postgresUrl'), schema, poolSize: 3, ...options });
    pgSchemas.set(o, { schema, options });
    return o;
  },
  async reopen(previous) {
    const { schema, options } = pgSchemas.get(previous)!;
    return createPostgresOutbox({ connectionString: inject('postgresUrl'), schema, poolSize: 3, ...options });
  },
});

describeOutboxContract({
  name: 'memory',
  pull: false,
  identityHasName: true,
  closes: false,
  async open(options) {
    return new MemoryOutbox({ dryRun: options?.dryRun });
  },
});
