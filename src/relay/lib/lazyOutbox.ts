import type { EventKey, OutboxInput, OutboxRecord, OutboxStats, Outcome, PullOutbox } from './outbox';

/**
 * An outbox opened on first use, for handlers that must be built synchronously (a Next.js route
 * module) around a store that opens asynchronously (`createPostgresOutbox`). A failed open is
 * tried again on the next call, so a cold start while the database is down does not stick: the
 * calls in between reject (ingest answers 503 and the browser keeps its copy).
 */
export function lazyOutbox<T extends PullOutbox & { nextDueAt?(): Promise<number | null> }>(
  open: () => Promise<T>,
): PullOutbox & { opened(): Promise<T>; nextDueAt(): Promise<number | null> } {
  let store: Promise<T> | undefined;
  const get = (): Promise<T> => {
    if (!store) {
      const opening = open();
      store = opening;
      opening.catch(() => {
        if (store === opening) store = undefined;
      });
    }
    return store;
  };
  return {
    opened: get,
    append: async (events: readonly OutboxInput[]) => (await get()).append(events),
    stats: async (): Promise<OutboxStats> => (await get()).stats(),
    recent: async (limit: number): Promise<OutboxRecord[]> => (await get()).recent(limit),
    claim: async (now: number, limit: number, leaseMs: number) => (await get()).claim(now, limit, leaseMs),
    settle: async (key: EventKey, outcome: Outcome) => (await get()).settle(key, outcome),
    nextDueAt: async () => {
      const s = await get();
      return s.nextDueAt ? s.nextDueAt() : Date.now();
    },
    close: async () => {
      if (store) await (await store.catch(() => null))?.close();
    },
  };
}
