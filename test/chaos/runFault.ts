// One fault scenario, the same shape every time: a stream of tracked events posted to the relay
// while Whop misbehaves for `SCALE.outageMs`, more events after it heals, then a wait (bounded) until
// the relay holds nothing pending, and the final count at the fake Whop API.
import { chaosEvent, sendUntilFinal, tally, until, type Tally } from './events';
import type { ChaosStack } from './relayStack';
import { SCALE } from './scale';

export interface FaultPlan {
  /** Short tag for event ids. */
  tag: string;
  /** Starts the fault (e.g. `whop.setMode('500')`). */
  fault(stack: ChaosStack): void;
  /** Ends it. */
  heal(stack: ChaosStack): void;
  /** Called during the outage after the first batches were acknowledged (e.g. check /ready). */
  during?(stack: ChaosStack): Promise<void>;
}

export interface FaultRun extends Tally {
  /** Batches the relay acknowledged with 200 (each event stored durably). */
  acknowledged: number;
  /** Statuses the fake Whop API answered, counted (0 = no answer: hang/reset). */
  whopStatuses: Record<string, number>;
  /** Events still pending in the outbox at the end. */
  pending: number;
  drainMs: number;
}

const BATCH = 5;

/** Runs the plan against a started stack and returns the figures (assertions are the caller's). */
export async function runFault(stack: ChaosStack, plan: FaultPlan): Promise<FaultRun> {
  const total = SCALE.events;
  const duringCount = Math.ceil((total * 2) / 3 / BATCH) * BATCH;
  const batches: Array<ReturnType<typeof chaosEvent>[]> = [];
  for (let i = 0; i < total; i += BATCH)
    batches.push(Array.from({ length: Math.min(BATCH, total - i) }, (_, j) => chaosEvent(plan.tag, i + j)));
  const duringBatches = batches.slice(0, duringCount / BATCH);
  const afterBatches = batches.slice(duringCount / BATCH);
  const deadline = Date.now() + SCALE.outageMs + SCALE.drainMs;
  let acknowledged = 0;
  const post = async (batch: unknown[]) => {
    const r = await sendUntilFinal(`${stack.base}/e`, batch, { deadline });
    if (r.status === 200) acknowledged++;
  };

  plan.fault(stack);
  const started = Date.now();
  const pace = SCALE.outageMs / Math.max(duringBatches.length, 1);
  for (let b = 0; b < duringBatches.length; b++) {
    await post(duringBatches[b]!);
    if (b === 1 && plan.during) await plan.during(stack);
    // Spread the stream over the outage (the relay answers fast; the wait is ours, not a check).
    const due = started + (b + 1) * pace;
    if (due > Date.now()) await new Promise((r) => setTimeout(r, due - Date.now()));
  }
  plan.heal(stack);
  const healed = Date.now();
  await Promise.all(afterBatches.map(post));

  const ids = batches.flat().map((e) => e.event_id);
  await until(deadline, async () => tally(stack.whop, ids).delivered === ids.length && (await stack.outbox.stats()).pending === 0, 100);
  const drainMs = Date.now() - healed;
  // Anything still in flight would land now: look once more after the outbox says it is drained.
  const stats = await stack.outbox.stats();
  const whopStatuses: Record<string, number> = {};
  for (const r of stack.whop.requests) whopStatuses[r.status] = (whopStatuses[r.status] ?? 0) + 1;
  return { ...tally(stack.whop, ids), acknowledged, whopStatuses, pending: stats.pending, drainMs };
}

/** "500×12, 200×60" — the fake's answers in a few words for the report. */
export function statusNote(statuses: Record<string, number>): string {
  return Object.entries(statuses)
    .map(([s, n]) => `${s === '0' ? 'no answer' : s}×${n}`)
    .join(', ');
}
