/** How long to wait between attempts to forward one event. */
export interface BackoffOptions {
  /** First retry waits up to this long (ms). Default 1000. */
  baseMs?: number;
  /** No wait exceeds this (ms), whatever the attempt count. Default 300_000 (5 min). */
  maxMs?: number;
}

/** Retry-After values past this are treated as a misconfigured upstream and clamped (1 hour). */
const _MAX_RETRY_AFTER_MS = 3_600_000;

/**
 * Exponential backoff with full jitter: a uniform wait in [0, min(max, base·2^(attempt−1))].
 * Full jitter spreads a burst of failed events so they do not retry in lockstep
 * (https://aws.amazon.com/blogs/architecture/exponential-backoff-and-jitter/).
 * `attempt` counts from 1 (the attempt that just failed).
 */
export function backoffDelay(attempt: number, options: BackoffOptions = {}, random: () => number = Math.random): number {
  const base = options.baseMs ?? 1000;
  const max = options.maxMs ?? 300_000;
  // Cap the exponent before Math.pow so a huge attempt count cannot overflow to Infinity.
  const ceiling = Math.min(max, base * 2 ** Math.min(Math.max(attempt - 1, 0), 30));
  return Math.floor(random() * ceiling);
}

/**
 * Parses a `Retry-After` header (delta seconds or an HTTP date, RFC 9110 §10.2.3) into a wait in ms
 * from `now`. Returns null when absent or unparseable, so the caller falls back to its backoff.
 */
export function parseRetryAfter(value: string | null | undefined, now: number): number | null {
  if (value == null) return null;
  const text = value.trim();
  if (text === '') return null;
  let ms: number;
  if (/^\d+(\.\d+)?$/.test(text)) ms = Number(text) * 1000;
  else {
    const date = Date.parse(text);
    if (Number.isNaN(date)) return null;
    ms = date - now;
  }
  return Math.min(Math.max(Math.ceil(ms), 0), _MAX_RETRY_AFTER_MS);
}
