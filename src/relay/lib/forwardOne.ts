import { backoffDelay, parseRetryAfter, type BackoffOptions } from './backoff';
import type { Outcome, OutboxRecord } from './outbox';
import type { WhopClient } from './whopClient';

/** Whop refused the key for this company (401/403/404): stop sending its events, keep them. */
export interface PauseSignal {
  kind: 'pause';
  at: number;
  status: number;
  /** Whop's error body, for readiness and logs. Never contains the key. */
  error: string;
}

/** One attempt's result: an outbox `Outcome`, or a pause signal, plus what the forwarder reports. */
export interface ForwardReport {
  outcome: Outcome | PauseSignal;
  /** HTTP status, or null on timeout/network error/expiry. */
  status: number | null;
  /** Time spent waiting for Whop (ms); 0 when nothing was sent. */
  latencyMs: number;
  /** Set when Whop asked us to wait (Retry-After): the forwarder holds all sends until then. */
  retryAfterMs: number | null;
}

export interface ForwardOneOptions {
  client: WhopClient;
  /** Events older than this since receipt are dead-lettered as expired, not sent. Default 7 days. */
  maxAgeMs?: number;
  backoff?: BackoffOptions;
  now?: () => number;
  random?: () => number;
}

/** The part of an outbox record forwardOne needs (a Queue message carries the same). */
export type ForwardItem = Pick<OutboxRecord, 'body' | 'received_at' | 'attempts'>;

/**
 * Sends ONE event to Whop and classifies the answer. Runtime-neutral (no `node:*`), so the Node
 * forwarder and a Cloudflare Queue consumer share it. `item.attempts` counts this attempt (≥ 1).
 * - 2xx → delivered, keeping Whop's conversion id;
 * - 408, 429, 5xx, timeout, network error → retry after exponential backoff with full jitter, or
 *   after Retry-After when Whop sent one;
 * - 400, 422 (and other 4xx) → dead, keeping Whop's error body: resending the same body cannot help;
 * - 401, 403, 404 → pause: the key or company is wrong, the event is fine and stays pending;
 * - older than `maxAgeMs` since receipt → dead ("expired") without sending.
 */
export async function forwardOne(item: ForwardItem, options: ForwardOneOptions): Promise<ForwardReport> {
  const now = options.now ?? Date.now;
  const maxAgeMs = options.maxAgeMs ?? 7 * 24 * 3_600_000;
  const started = now();
  if (started - item.received_at > maxAgeMs) {
    return { outcome: { kind: 'dead', at: started, error: `expired: not delivered within ${maxAgeMs} ms of receipt` }, status: null, latencyMs: 0, retryAfterMs: null };
  }
  const answer = await options.client.createConversion(JSON.stringify(item.body));
  const at = now();
  const latencyMs = at - started;
  const retry = (error: string, status: number | null, retryAfterMs: number | null = null): ForwardReport => {
    const wait = retryAfterMs ?? backoffDelay(Math.max(item.attempts, 1), options.backoff, options.random);
    // Never schedule a retry past the event's expiry: it would only come back to be dead-lettered.
    const next = Math.min(at + wait, item.received_at + maxAgeMs + 1);
    return { outcome: { kind: 'retry', at, next_attempt_at: next, error }, status, latencyMs, retryAfterMs };
  };

  if (answer.kind === 'ok') return { outcome: { kind: 'delivered', at, whop_id: answer.id }, status: answer.status, latencyMs, retryAfterMs: null };
  if (answer.kind === 'timeout' || answer.kind === 'network') return retry(`${answer.kind}: ${answer.message}`, null);

  const { status, body } = answer;
  const error = `HTTP ${status}: ${body}`;
  if (status === 401 || status === 403 || status === 404) return { outcome: { kind: 'pause', at, status, error }, status, latencyMs, retryAfterMs: null };
  if (status === 408 || status === 429 || status >= 500) {
    const hinted = answer.retryAfterMs != null && /^\d+$/.test(answer.retryAfterMs.trim()) ? Number(answer.retryAfterMs) : parseRetryAfter(answer.retryAfter, at);
    return retry(error, status, hinted);
  }
  return { outcome: { kind: 'dead', at, error }, status, latencyMs, retryAfterMs: null };
}
