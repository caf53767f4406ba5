// How big and how long each scenario runs. `npm test` runs the fast variant (seconds per scenario);
// `npm run test:chaos` sets WHOPQ_CHAOS_FULL=1: real minute-long outages and ≥ 10,000 fuzzed bodies.

/** True in the full run (`npm run test:chaos`). */
export const FULL = process.env.WHOPQ_CHAOS_FULL === '1';

/** Scenario sizes: fast values keep `npm test` within seconds per scenario. */
export const SCALE = {
  /** How long Whop fails in the 500/429/hang/reset/401 scenarios (ms). The "a minute". */
  outageMs: FULL ? 60_000 : 1_500,
  /** Events sent during one fault scenario (spread over the outage and after it). */
  events: FULL ? 600 : 60,
  /** Bodies posted to the ingest endpoint by the fuzzer. */
  fuzzBodies: FULL ? 10_000 : 400,
  /** Garbage calls made to the pixel's `whopq(...)` in Chromium. */
  pixelCalls: FULL ? 5_000 : 500,
  /** Forwarder retry backoff: short in the fast run, the relay's default base in the full one. */
  backoff: FULL ? { baseMs: 1_000, maxMs: 10_000 } : { baseMs: 20, maxMs: 200 },
  /**
   * Per-request timeout towards Whop (ms). Not shorter: on a loaded machine an answer Whop already
   * gave can arrive after a short timeout, and the resend (same event_id, which Whop deduplicates)
   * would count as a duplicate at the fake, which does not.
   */
  timeoutMs: FULL ? 10_000 : 2_000,
  /** How long a scenario may wait for everything to arrive (ms). */
  drainMs: FULL ? 120_000 : 20_000,
};

/** Test timeout for a fault scenario: the outage, the drain, and room for a loaded machine. */
export const SCENARIO_TIMEOUT = SCALE.outageMs + SCALE.drainMs + 30_000;
