// Each scenario records its figures here. The chaos runner (scripts/chaos.mjs) sets
// WHOPQ_CHAOS_RESULTS to a file and turns the lines into docs/RELIABILITY.md; under plain
// `npm test` nothing is written. Figures are recorded before the assertions, so a failing
// scenario still shows what it measured.
import { appendFileSync } from 'node:fs';

export interface ScenarioFigures {
  /** Must equal the vitest test name, so the runner can attach the test's pass/fail verdict. */
  scenario: string;
  group: 'fault' | 'fuzz' | 'abuse' | 'privacy';
  sent: number;
  delivered: number;
  duplicated: number;
  lost: number;
  /** Anything else measured (status counts, RSS, attempts), in a few words. */
  notes?: string;
}

/** Appends one scenario's figures to the results file (when the chaos runner asked for one). */
export function recordScenario(figures: ScenarioFigures): void {
  const file = process.env.WHOPQ_CHAOS_RESULTS;
  if (file) appendFileSync(file, JSON.stringify(figures) + '\n');
}
