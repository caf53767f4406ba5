export interface RateLimitOptions {
  /** Sustained requests per second per IP. Default 20. */
  perSecond?: number;
  /** Bucket size: requests an IP may send at once. Default 60. */
  burst?: number;
  /** IPs tracked at most; past it the least recently seen is forgotten. Default 50_000 (a few MB). */
  maxIps?: number;
}

interface _Bucket {
  _tokens: number;
  _at: number;
}

/** Whether a request may pass, and if not, how many seconds until it would. */
export interface RateDecision {
  ok: boolean;
  retryAfter: number;
}

/**
 * A token bucket per IP. The table is a Map in least-recently-seen order (each hit moves the IP to
 * the end), capped at `maxIps`: a flood from many addresses evicts old entries instead of growing
 * memory. An evicted IP comes back with a full bucket, which only errs towards letting it through.
 */
export function createRateLimiter(options: RateLimitOptions = {}): { take(ip: string, now: number): RateDecision; size(): number } {
  const rate = options.perSecond ?? 20;
  const burst = options.burst ?? 60;
  const maxIps = Math.max(1, options.maxIps ?? 50_000);
  const buckets = new Map<string, _Bucket>();

  return {
    take(ip, now) {
      let b = buckets.get(ip);
      if (b) {
        buckets.delete(ip);
        b._tokens = Math.min(burst, b._tokens + ((now - b._at) / 1000) * rate);
        b._at = now;
      } else {
        b = { _tokens: burst, _at: now };
        if (buckets.size >= maxIps) buckets.delete(buckets.keys().next().value!);
      }
      buckets.set(ip, b);
      if (b._tokens >= 1) {
        b._tokens -= 1;
        return { ok: true, retryAfter: 0 };
      }
      return { ok: false, retryAfter: Math.max(1, Math.ceil((1 - b._tokens) / rate)) };
    },
    size: () => buckets.size,
  };
}
