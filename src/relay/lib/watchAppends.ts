import type { Outbox } from './outbox';

/** How long a failed append keeps /ready at 503 when no later append has succeeded (ms). */
const _FAILING_FOR_MS = 30_000;

/**
 * Wraps an outbox so readiness knows whether the store still takes writes: `failure()` names the
 * last append's error while no later append has succeeded (for 30 s, after which one more request
 * may find out again). A full disk answers ingest 503 while reads still work; this makes /ready
 * say so too. Every other member is the outbox's own.
 */
export function watchAppends<T extends Outbox>(outbox: T): { outbox: T; failure(now?: number): string | null } {
  let failedAt = 0;
  let error = '';
  const append: Outbox['append'] = async (events) => {
    try {
      const result = await outbox.append(events);
      failedAt = 0;
      return result;
    } catch (e) {
      failedAt = Date.now();
      error = (e as Error)?.message ?? 'unknown error';
      throw e;
    }
  };
  const wrapped = new Proxy(outbox, {
    get(target, name) {
      if (name === 'append') return append;
      const value = Reflect.get(target, name, target) as unknown;
      return typeof value === 'function' ? value.bind(target) : value;
    },
  });
  return {
    outbox: wrapped,
    failure: (now = Date.now()) => (failedAt && now - failedAt < _FAILING_FOR_MS ? error : null),
  };
}
