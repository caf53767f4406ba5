/** What one send to Whop came to, as the limiter sees it. */
export interface SendSignal {
  /** HTTP status, or null for a timeout or network error. */
  status: number | null;
  latencyMs: number;
}

export interface ConcurrencyLimiterOptions {
  /** Where it starts. Default 8. */
  initial?: number;
  /** Never below. Default 1. */
  min?: number;
  /** Never above. Default `initial` (a fixed limit). */
  max?: number;
  /**
   * A 2xx slower than this is a sign of load at Whop: the limit stops growing and eases down.
   * Default: 4 × the fastest recent answer, and at least 1,000 ms.
   */
  slowMs?: number;
}

export interface ConcurrencyLimiter {
  /** Sends allowed in flight now. */
  limit(): number;
  /** Feeds one send's answer. */
  observe(signal: SendSignal): void;
}

/**
 * Adaptive concurrency for the forwarder (AIMD). The drain rate is about concurrency ÷ Whop's
 * latency and Whop has no batch endpoint, so the limit grows while Whop answers 2xx quickly: by one
 * per answer until the first sign of trouble (doubling each round trip), then by one per round trip.
 * A 429, 5xx, timeout or network error halves it, at most once per round trip's worth of answers
 * (the sends already in flight report the same trouble); a slow 2xx takes a little off.
 */
export function createConcurrencyLimiter(options: ConcurrencyLimiterOptions = {}): ConcurrencyLimiter {
  const min = Math.max(1, Math.floor(options.min ?? 1));
  const initial = Math.max(min, Math.floor(options.initial ?? 8));
  const max = Math.max(initial, Math.floor(options.max ?? initial));
  let limit = initial;
  let slowStart = true;
  // Answers to ignore after a cut: the ones already in flight when it happened.
  let coolDown = 0;
  // The fastest answer among the last 100, as the baseline for "slow".
  const recent: number[] = [];

  const slowMs = () => options.slowMs ?? Math.max(1_000, 4 * Math.min(...recent));

  return {
    limit: () => Math.floor(limit),
    observe({ status, latencyMs }) {
      if (max === initial) return; // a fixed limit
      const trouble = status === null || status === 429 || status === 408 || status >= 500;
      if (coolDown > 0) coolDown--;
      if (trouble) {
        if (coolDown > 0) return;
        limit = Math.max(min, limit / 2);
        slowStart = false;
        coolDown = Math.ceil(limit * 2);
        return;
      }
      if (status < 200 || status >= 300) return; // a 4xx about one event says nothing about load
      recent.push(latencyMs);
      if (recent.length > 100) recent.shift();
      if (latencyMs > slowMs()) {
        if (coolDown === 0) limit = Math.max(min, limit - 1 / limit);
        slowStart = false;
        return;
      }
      limit = Math.min(max, limit + (slowStart ? 1 : 1 / limit));
    },
  };
}
