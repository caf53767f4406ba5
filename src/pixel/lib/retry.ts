// What to do with a batch after the relay answered (docs/PROTOCOL.md "Ingest response").

/** The relay's verdict on a batch: remove it (stored or refused for good) or keep it and retry. */
export const enum Verdict {
  Delivered,
  Retry,
  Drop,
}

/** 2xx delivered; 0 (network error), 408, 429 and 5xx retried; any other status dropped. */
export function classify(status: number): Verdict {
  return status > 199 && status < 300
    ? Verdict.Delivered
    : !status || status == 408 || status == 429 || status > 499
      ? Verdict.Retry
      : Verdict.Drop;
}

/**
 * Milliseconds to wait before retry number `attempt` (0-based): exponential from 1 s, capped at
 * 5 min, "equal jitter" (half fixed, half random) so tabs and visitors do not retry in step, and
 * never sooner than the relay's Retry-After, itself capped at one hour. Only the delta-seconds
 * form is read: it is what the relay sends; an HTTP-date (RFC 9110 allows it) counts as absent,
 * so our own backoff applies, which keeps date parsing out of the bundle.
 */
export function backoff(attempt: number, retryAfter?: string | null, random = Math.random()): number {
  const exp = Math.min(3e5, 1e3 * 2 ** attempt);
  return Math.max(exp / 2 + (random * exp) / 2, Math.min(+retryAfter! * 1e3 || 0, 36e5));
}
