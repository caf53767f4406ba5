// Regression: on a full disk, an append that cannot fit must not roll back the forwarder's settles
// committed in the same group. Before the fix, the whole group failed together, so events Whop had
// already accepted stayed leased and were sent again when the lease lapsed (a duplicate at Whop),
// and the forwarder could not drain the store while ingest kept failing.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, expect, it } from 'vitest';
import { SqliteOutbox } from '../../src/relay/node/sqliteOutbox';
import { chaosEvent } from './events';

let dir: string | undefined;
let outbox: SqliteOutbox | undefined;
afterEach(async () => {
  await outbox?.close();
  if (dir) rmSync(dir, { recursive: true, force: true });
  outbox = dir = undefined;
});

const input = (tag: string, i: number) => {
  const e = chaosEvent(tag, i);
  return { company_id: e.company_id, event_name: e.event_name, event_id: e.event_id, body: e as never, received_at: Date.now() };
};

it('a full store refuses the append but still records the settles written in the same turn', async () => {
  dir = mkdtempSync(join(tmpdir(), 'whopq-full-'));
  outbox = new SqliteOutbox({ path: join(dir, 'o.db'), maxBytes: 128 * 1024 });
  let n = 0;
  let full = false;
  // Fill it (bounded): the cap turns into SQLITE_FULL, i.e. OutboxUnavailableError.
  while (!full && n < 5_000) await outbox.append([input('fill', n++)]).catch(() => (full = true));
  expect(full).toBe(true);
  const claimed = await outbox.claim(Date.now(), 10, 60_000);
  expect(claimed).toHaveLength(10);

  // Same event-loop turn: one append that does not fit, ten settles that do.
  const results = await Promise.allSettled([
    outbox.append(Array.from({ length: 50 }, (_, i) => input('late', i))),
    ...claimed.map((r) => outbox!.settle(r, { kind: 'delivered', at: Date.now(), whop_id: 'conv_1' })),
  ]);
  expect(results[0]!.status).toBe('rejected');
  expect(results.slice(1).map((r) => r.status)).toEqual(Array(10).fill('fulfilled'));
  expect((await outbox.stats()).delivered).toBe(10);
});
