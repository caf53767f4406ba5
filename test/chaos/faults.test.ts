// Faults on the Whop side of the relay, each with a stream of tracked events and the final count at
// the fake Whop API: 500s for a period, 429 with Retry-After, hanging requests (timeouts),
// connection resets, a refused key fixed later. Expected: every acknowledged event delivered once.
import { afterEach, describe, expect, it } from 'vitest';
import { recordScenario } from './report';
import { runFault, statusNote, type FaultPlan } from './runFault';
import { CHAOS_KEY, startStack, type ChaosStack, type StackOptions } from './relayStack';
import { FULL, SCALE, SCENARIO_TIMEOUT } from './scale';

let stack: ChaosStack | undefined;
afterEach(async () => {
  await stack?.close();
  stack = undefined;
});

const minute = FULL ? 'a minute' : `${SCALE.outageMs} ms`;

async function scenario(name: string, plan: FaultPlan, expectFault: (statuses: Record<string, number>) => void, options?: StackOptions) {
  stack = await startStack(options);
  const run = await runFault(stack, plan);
  recordScenario({
    scenario: name,
    group: 'fault',
    sent: run.sent,
    delivered: run.delivered,
    duplicated: run.duplicated,
    lost: run.lost,
    notes: `Whop answered ${statusNote(run.whopStatuses)}; drained ${(run.drainMs / 1000).toFixed(1)} s after healing`,
  });
  // The fault really happened (otherwise the scenario proves nothing).
  expectFault(run.whopStatuses);
  expect(run.acknowledged * 5).toBeGreaterThanOrEqual(run.sent);
  expect({ lost: run.lost, duplicated: run.duplicated, unexpected: run.unexpected, pending: run.pending, lostIds: run.lostIds }).toEqual({
    lost: 0,
    duplicated: 0,
    unexpected: 0,
    pending: 0,
    lostIds: [],
  });
  expect(stack.whop.requests.every((r) => r.errors.length === 0)).toBe(true);
  expect(stack.logs.join('\n')).not.toContain(CHAOS_KEY);
}

describe('faults at Whop', () => {
  it(`Whop answers 500 for ${minute}`, { timeout: SCENARIO_TIMEOUT }, async () => {
    await scenario(
      `Whop answers 500 for ${minute}`,
      { tag: 'w500', fault: (s) => s.whop.setMode('500'), heal: (s) => s.whop.setMode('ok') },
      (st) => expect(st['500'] ?? 0).toBeGreaterThan(0),
    );
  });

  it(`Whop answers 429 with Retry-After for ${minute}`, { timeout: SCENARIO_TIMEOUT }, async () => {
    await scenario(
      `Whop answers 429 with Retry-After for ${minute}`,
      { tag: 'w429', fault: (s) => s.whop.setMode('429'), heal: (s) => s.whop.setMode('ok') },
      (st) => expect(st['429'] ?? 0).toBeGreaterThan(0),
    );
  });

  it(`Whop hangs (requests time out) for ${minute}`, { timeout: SCENARIO_TIMEOUT }, async () => {
    await scenario(
      `Whop hangs (requests time out) for ${minute}`,
      { tag: 'hang', fault: (s) => s.whop.setMode('hang'), heal: (s) => s.whop.setMode('ok') },
      (st) => expect(st['0'] ?? 0).toBeGreaterThan(0),
    );
  });

  it(`Whop resets connections for ${minute}`, { timeout: SCENARIO_TIMEOUT }, async () => {
    await scenario(
      `Whop resets connections for ${minute}`,
      { tag: 'reset', fault: (s) => s.whop.setMode('reset'), heal: (s) => s.whop.setMode('ok') },
      (st) => expect(st['0'] ?? 0).toBeGreaterThan(0),
    );
  });

  it(`Whop refuses the key (401) for ${minute}, then the key is fixed`, { timeout: SCENARIO_TIMEOUT }, async () => {
    let readyDuring = 0;
    await scenario(
      `Whop refuses the key (401) for ${minute}, then the key is fixed`,
      {
        tag: 'k401',
        // Whop does not know the relay's key yet (revoked, not yet active); later it does.
        fault: (s) => s.whop.setApiKey('k_another_key_at_whop'),
        heal: (s) => s.whop.setApiKey(CHAOS_KEY),
        during: async (s) => {
          // While paused, readiness says so (the events are kept, not dropped).
          const deadline = Date.now() + 10_000;
          while (Date.now() < deadline && readyDuring !== 503) {
            readyDuring = (await fetch(`${s.base}/ready`)).status;
            if (readyDuring !== 503) await new Promise((r) => setTimeout(r, 50));
          }
        },
      },
      (st) => expect(st['401'] ?? 0).toBeGreaterThan(0),
    );
    expect(readyDuring).toBe(503);
    expect((await fetch(`${stack!.base}/ready`)).status).toBe(200);
  });
});
