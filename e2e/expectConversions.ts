// The one assertion every scenario ends with: what the fake Whop API finally accepted. It waits
// (bounded) until the accepted conversions match the expectation, then until the relay has nothing
// left in flight, and checks again: the count is exact, each expectation is met by a different
// conversion (partial, deep matching), and no event_id was accepted twice. On failure it prints
// everything Whop received, so a failing run explains itself.
import type { Conversion } from '../src/shared/conversion';
import type { FakeWhop } from '../test/fakeWhop';

type DeepPartial<T> = { [K in keyof T]?: T[K] extends object | null | undefined ? DeepPartial<NonNullable<T[K]>> | null : T[K] | RegExp };

/** A conversion as a scenario expects it: only the fields named are compared (strings may be RegExps). */
export type ExpectedConversion = DeepPartial<Conversion>;

export interface ExpectConversionsOptions {
  /** How long to wait for the conversions to arrive (ms). Default 15_000. */
  timeout?: number;
  /** Resolves true once the relay holds nothing pending (so nothing more can arrive). Default: none. */
  drained?: () => Promise<boolean>;
}

function _matches(actual: unknown, expected: unknown): boolean {
  if (expected instanceof RegExp) return typeof actual === 'string' && expected.test(actual);
  if (expected !== null && typeof expected === 'object') {
    if (actual === null || typeof actual !== 'object') return false;
    return Object.entries(expected).every(([k, v]) => _matches((actual as Record<string, unknown>)[k], v));
  }
  return Object.is(actual, expected);
}

/** Assigns each expectation a distinct conversion (small n: plain backtracking). */
function _assign(received: Conversion[], expected: ExpectedConversion[], i = 0, used = new Set<number>()): boolean {
  if (i === expected.length) return true;
  for (let j = 0; j < received.length; j++) {
    if (used.has(j) || !_matches(received[j], expected[i])) continue;
    used.add(j);
    if (_assign(received, expected, i + 1, used)) return true;
    used.delete(j);
  }
  return false;
}

function _problem(whop: FakeWhop, expected: ExpectedConversion[]): string | null {
  const received = whop.conversions.map((c) => c.body);
  const dups = whop.duplicates();
  if (dups.length) return `event_ids accepted more than once: ${dups.join(', ')}`;
  if (received.length !== expected.length) return `expected ${expected.length} conversion(s), Whop accepted ${received.length}`;
  if (!_assign(received, expected)) return 'the conversions Whop accepted do not match the expected ones';
  return null;
}

function _report(whop: FakeWhop, expected: ExpectedConversion[], problem: string): string {
  const show = (v: unknown) => JSON.stringify(v, (_k, x) => (x instanceof RegExp ? String(x) : x), 2);
  const requests = whop.requests.map(
    (r) => `  #${r.n} ${r.method} ${r.path} → ${r.status}${r.errors.length ? ` (spec errors: ${r.errors.join('; ')})` : ''}`,
  );
  return [
    problem,
    `Expected (${expected.length}):`,
    show(expected),
    `Accepted by the fake Whop API (${whop.conversions.length}):`,
    show(whop.conversions.map((c) => c.body)),
    `Every request it received (${whop.requests.length}):`,
    ...requests,
  ].join('\n');
}

async function _until(deadline: number, check: () => Promise<boolean> | boolean): Promise<boolean> {
  for (;;) {
    if (await check()) return true;
    if (Date.now() > deadline) return false;
    await new Promise((r) => setTimeout(r, 100));
  }
}

/**
 * Waits until the fake Whop API has accepted exactly `expected` (in any order), then, when
 * `drained` is given, until the relay has nothing pending, and checks once more so a late
 * duplicate is caught. Throws with the full record of what was received otherwise.
 */
export async function expectConversions(
  whop: FakeWhop,
  expected: ExpectedConversion[],
  options: ExpectConversionsOptions = {},
): Promise<Conversion[]> {
  const deadline = Date.now() + (options.timeout ?? 15_000);
  const ok = await _until(deadline, () => _problem(whop, expected) === null);
  if (ok && options.drained) {
    const drained = options.drained;
    if (!(await _until(deadline, () => drained())))
      throw new Error(_report(whop, expected, 'the relay still had events pending at the deadline'));
  }
  const problem = _problem(whop, expected);
  if (problem) throw new Error(_report(whop, expected, problem));
  return whop.conversions.map((c) => c.body);
}
