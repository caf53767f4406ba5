// Visitor memory over each store (memory, SQLite, Postgres from test/postgres/globalSetup.ts): the
// same behaviour everywhere: merge per network, hashed keys, forget by anonymous id, expiry and cap.
import { createHash, randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, inject, it } from 'vitest';
import { createMemoryVisitorStore } from '../src/relay/lib/memoryVisitorStore';
import { createVisitorMemory, type VisitorStore } from '../src/relay/lib/visitorMemory';
import type { VisitorRecord } from '../src/relay/lib/visitorRecord';
import { createSqliteVisitorStore } from '../src/relay/node/sqliteVisitorStore';
import { createPostgresOutbox, type PostgresOutbox } from '../src/relay/postgres/postgresOutbox';
import { createPostgresVisitorStore } from '../src/relay/postgres/postgresVisitorStore';

const DAY = 86_400_000;
const T0 = Date.parse('2026-10-01T00:00:00Z');
const dirs: string[] = [];
const outboxes: PostgresOutbox[] = [];
afterAll(async () => {
  for (const o of outboxes) await o.close();
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

const STORES: Array<[string, () => Promise<VisitorStore>]> = [
  ['memory', async () => createMemoryVisitorStore()],
  [
    'SQLite',
    async () => {
      const dir = mkdtempSync(join(tmpdir(), 'whopq-visitors-'));
      dirs.push(dir);
      return createSqliteVisitorStore(join(dir, 'visitors.db'));
    },
  ],
  [
    'Postgres',
    async () => {
      const o = await createPostgresOutbox({
        connectionString: inject('postgresUrl'),
        schema: `v_${randomBytes(5).toString('hex')}`,
        poolSize: 2,
      });
      outboxes.push(o);
      return createPostgresVisitorStore(o);
    },
  ],
];

const rec = (over: Partial<VisitorRecord>): VisitorRecord => ({ c: {}, at: T0, ...over });

describe.each(STORES)('visitor memory on %s', (_name, open) => {
  it('merges per network, newest click wins, and finds the visitor by anonymous id, hashed email or phone', async () => {
    let clock = T0;
    const memory = createVisitorMemory(await open(), { now: () => clock, flushMs: 1 });
    await memory.remember(
      'biz_a',
      { anonymous_id: 'aid-1' },
      rec({ c: { meta: [{ fbclid: 'fb-old' }, T0] }, aid: 'aid-1', ip: '192.0.2.1' }),
    );
    await memory.flush();
    await memory.remember(
      'biz_a',
      { anonymous_id: 'aid-1', email: 'Ann@Example.com', phone: '+1 555 0100' },
      rec({
        c: { google: [{ gclid: 'g-1' }, T0 + DAY] },
        t: [{ utm_source: 'google' }, T0 + DAY],
        aid: 'aid-1',
        at: T0 + DAY,
        b: { fbp: 'fb.1.1.2' },
      }),
    );
    await memory.flush();
    clock = T0 + 2 * DAY;
    const byEmail = await memory.recall('biz_a', { email: 'ann@example.com' });
    expect(byEmail?.matched).toEqual(['email']);
    expect(byEmail?.record).toMatchObject({
      c: { meta: [{ fbclid: 'fb-old' }, T0], google: [{ gclid: 'g-1' }, T0 + DAY] },
      t: [{ utm_source: 'google' }, T0 + DAY],
      b: { fbp: 'fb.1.1.2' },
      ip: '192.0.2.1',
    });
    expect((await memory.recall('biz_a', { phone: '15550100' }))?.matched).toEqual(['phone']);
    expect(await memory.recall('biz_other', { anonymous_id: 'aid-1' })).toBeNull();
    expect(await memory.recall('biz_a', { email: 'someone@example.com' })).toBeNull();
    await memory.close();
  });

  it('keys emails and phones by SHA-256 of the normalised value, never the value', async () => {
    const store = await open();
    const memory = createVisitorMemory(store, { flushMs: 1, now: () => T0 });
    await memory.remember('biz_a', { email: ' Ann@Example.com', phone: '+44 20 7946 0000' }, rec({ aid: 'aid-9' }));
    await memory.flush();
    const sha = (s: string) => createHash('sha256').update(s).digest('hex');
    const rows = await store.get('biz_a', [`e:${sha('ann@example.com')}`, `p:${sha('442079460000')}`]);
    expect(rows.size).toBe(2);
    await memory.close();
  });

  it('forgets every record an anonymous id wrote, pending ones too', async () => {
    const store = await open();
    const memory = createVisitorMemory(store, { flushMs: 60_000, now: () => T0 });
    await memory.remember('biz_a', { anonymous_id: 'aid-f', email: 'f@example.com' }, rec({ aid: 'aid-f', ip: '192.0.2.9' }));
    await memory.flush();
    await memory.remember('biz_b', { anonymous_id: 'aid-f' }, rec({ aid: 'aid-f' }));
    await memory.remember('biz_a', { anonymous_id: 'aid-keep' }, rec({ aid: 'aid-keep' }));
    expect(await memory.forget('aid-f')).toBe(3);
    expect(await memory.recall('biz_a', { email: 'f@example.com' })).toBeNull();
    expect(await memory.recall('biz_b', { anonymous_id: 'aid-f' })).toBeNull();
    expect(await memory.size()).toBe(1);
    await memory.close();
  });

  it('drops records 90 days after their latest event, and the oldest past the cap', async () => {
    let clock = T0;
    const store = await open();
    const memory = createVisitorMemory(store, { flushMs: 1, now: () => clock, maxEntries: 3 });
    for (let i = 0; i < 5; i++) await memory.remember('biz_a', { anonymous_id: `aid-${i}` }, rec({ aid: `aid-${i}`, at: T0 + i * 1000 }));
    await memory.flush();
    expect(await memory.size()).toBe(5);
    expect(await memory.prune()).toBe(2);
    expect(await memory.recall('biz_a', { anonymous_id: 'aid-0' })).toBeNull();
    expect(await memory.recall('biz_a', { anonymous_id: 'aid-4' })).not.toBeNull();
    clock = T0 + 91 * DAY;
    expect(await memory.prune()).toBe(3);
    expect(await memory.size()).toBe(0);
    await memory.close();
  });
});
