import { createForwarder, type ForwarderOptions } from './forwarder';
import type { PullOutbox } from './outbox';

export interface DrainOptions extends Omit<ForwarderOptions, 'outbox'> {
  outbox: PullOutbox & { nextDueAt(): Promise<number | null> };
  /** Stop claiming after this long (ms), letting sends in flight settle. Keep it under the function's time limit. Default 20_000. */
  budgetMs?: number;
}

export interface DrainReport {
  delivered: number;
  retried: number;
  dead_lettered: number;
  /** Companies paused because Whop refused the key. */
  paused: string[];
  /** When the next pending event is due (epoch ms), or null when none is pending. */
  next_due_at: number | null;
  /** `idle`: nothing was due any more; `budget`: time ran out first; `held`: Whop asked to wait past the budget. */
  stopped: 'idle' | 'budget' | 'held';
}

/**
 * One bounded run of the forwarder, for a scheduler to call (a Vercel Cron route, a serverless
 * function): sends every due event with the Node forwarder's policy (adaptive concurrency, fair
 * claims, backoff, pauses, Retry-After, leases), and returns once nothing is due or the budget is
 * spent, every send settled. A function killed mid-send leaves leases that lapse: the next run
 * sends those events again, nothing is lost.
 */
export async function drainOutbox(options: DrainOptions): Promise<DrainReport> {
  const counts = { delivered: 0, retried: 0, dead_lettered: 0 };
  const metrics: NonNullable<ForwarderOptions['metrics']> = {
    inc(name, labels, by) {
      if (name === 'delivered_total') counts.delivered++;
      else if (name === 'retried_total') counts.retried++;
      else if (name === 'dead_lettered_total') counts.dead_lettered++;
      options.metrics?.inc(name, labels, by);
    },
    observe(name, value, labels) {
      options.metrics?.observe(name, value, labels);
    },
  };
  const forwarder = createForwarder({ ...options, metrics, idlePollMs: 200 });
  const deadline = Date.now() + (options.budgetMs ?? 20_000);
  let stopped: DrainReport['stopped'] = 'budget';
  forwarder.start();
  try {
    while (Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, 50));
      const status = forwarder.status();
      if (status.inFlight) continue;
      if ((status.holdUntil ?? 0) > deadline) {
        stopped = 'held';
        break;
      }
      const due = await options.outbox.nextDueAt().catch(() => Date.now());
      if (due === null || due > Date.now() + 50) {
        stopped = 'idle';
        break;
      }
    }
  } finally {
    await forwarder.stop();
  }
  return {
    ...counts,
    paused: forwarder.status().paused.map((p) => p.company_id),
    next_due_at: await options.outbox.nextDueAt().catch(() => null),
    stopped,
  };
}
