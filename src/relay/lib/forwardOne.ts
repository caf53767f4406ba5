import { backoffDelay, parseRetryAfter, type BackoffOptions } from './backoff';
import type { Outcome, OutboxRecord } from './outbox';
import { toConversion } from './toConversion';
import { toEvent } from './toEvent';
import type { WhopClient } from './whopClient';

/** Whop refused the key for this company (401, or a 403/404 naming no parameter but the company): stop sending its events, keep them. */
export interface PauseSignal {
  kind: 'pause';
  at: number;
  status: number;
  /** Whop's error summary (status, type, code, param, message), the key redacted. */
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
  /** Whop's error `code` and `param`, what logs carry instead of the body (which may echo values). */
  code?: string | null;
  param?: string | null;
}

/** Which Whop API the relay forwards to: `conversions` (POST /conversions, the default) or `events` (POST /events). */
export type Upstream = 'conversions' | 'events';
export const UPSTREAMS: readonly Upstream[] = ['conversions', 'events'];

export interface ForwardOneOptions {
  client: WhopClient;
  /** The API events go to. Default `conversions`. */
  upstream?: Upstream;
  /**
   * Events older than this since receipt are dead-lettered as expired, not sent, once they have
   * also been tried about as often as that age implies (see `isExpired`). Default 7 days.
   */
  maxAgeMs?: number;
  backoff?: BackoffOptions;
  now?: () => number;
  random?: () => number;
}

/** The part of an outbox record forwardOne needs (a Queue message carries the same). */
export type ForwardItem = Pick<OutboxRecord, 'body' | 'received_at' | 'attempts'>;

/**
 * Sends ONE event to Whop (mapped to the configured upstream's body: `toConversion` or `toEvent`)
 * and classifies the answer the same way for both APIs. Runtime-neutral (no `node:*`), so the Node
 * forwarder and a Cloudflare Queue consumer share it. `item.attempts` counts this attempt (≥ 1).
 * - 2xx → delivered, keeping Whop's conversion id;
 * - 408, 429, 5xx, timeout, network error → retry after exponential backoff with full jitter, or
 *   after Retry-After when Whop sent one;
 * - 3xx → retry: redirects are never followed (the body would go to another host), nor taken as delivered;
 * - 400, 422 (and other 4xx) → dead, keeping Whop's error summary: resending the same body cannot help;
 * - 401 → pause: the key is wrong, the event is fine and stays pending; 403/404 pause too unless
 *   Whop names a parameter other than `company_id` (an unknown `product_id`): then only this event is dead;
 * - expired (`isExpired`) → dead ("expired") without sending.
 */
export async function forwardOne(item: ForwardItem, options: ForwardOneOptions): Promise<ForwardReport> {
  const now = options.now ?? Date.now;
  const maxAgeMs = options.maxAgeMs ?? 7 * 24 * 3_600_000;
  const started = now();
  if (isExpired(item, started, maxAgeMs, options.backoff)) {
    return {
      outcome: { kind: 'dead', at: started, error: `expired: not delivered within ${maxAgeMs} ms of receipt` },
      status: null,
      latencyMs: 0,
      retryAfterMs: null,
    };
  }
  let answer;
  if (options.upstream === 'events') {
    answer = await options.client.createEvent(toEvent(item.body).params);
  } else {
    const mapped = toConversion(item.body);
    if (!mapped)
      return {
        outcome: { kind: 'dead', at: started, error: `not a conversion: ${item.body.event_name} events are not sent to /conversions` },
        status: null,
        latencyMs: 0,
        retryAfterMs: null,
      };
    answer = await options.client.createConversion(JSON.stringify(mapped.body));
  }
  const at = now();
  const latencyMs = at - started;
  const retry = (error: string, status: number | null, retryAfterMs: number | null = null): ForwardReport => {
    const wait = retryAfterMs ?? backoffDelay(Math.max(item.attempts, 1), options.backoff, options.random);
    // Never schedule a retry past the event's expiry (it would only come back to be dead-lettered),
    // unless that is already past: a clock that jumped must not turn backoff into a busy loop.
    const expiry = item.received_at + maxAgeMs + 1;
    const next = expiry > at ? Math.min(at + wait, expiry) : at + wait;
    return { outcome: { kind: 'retry', at, next_attempt_at: next, error }, status, latencyMs, retryAfterMs, code, param };
  };
  let code: string | null = null;
  let param: string | null = null;

  if (answer.kind === 'ok')
    return { outcome: { kind: 'delivered', at, whop_id: answer.id }, status: answer.status, latencyMs, retryAfterMs: null };
  if (answer.kind === 'timeout' || answer.kind === 'network') return retry(`${answer.kind}: ${answer.message}`, null);

  const { status, body } = answer;
  code = answer.code ?? null;
  param = answer.param ?? null;
  const error = `HTTP ${status}: ${body}`;
  const namesEvent = param !== null && param !== 'company_id' && param !== 'account_id';
  if (status === 401 || ((status === 403 || status === 404) && !namesEvent))
    return { outcome: { kind: 'pause', at, status, error }, status, latencyMs, retryAfterMs: null, code, param };
  if (status === 408 || status === 429 || status >= 500 || (status >= 300 && status < 400)) {
    const hinted =
      answer.retryAfterMs != null && /^\d+$/.test(answer.retryAfterMs.trim())
        ? Number(answer.retryAfterMs)
        : parseRetryAfter(answer.retryAfter, at);
    return retry(error, status, hinted);
  }
  return { outcome: { kind: 'dead', at, error }, status, latencyMs, retryAfterMs: null, code, param };
}

/**
 * Whether an event is too old to send: older than `maxAgeMs` since receipt by the clock, AND tried
 * about as often as that age implies (a quarter of the attempts the backoff ceiling allows in that
 * time). The second half keeps a clock that jumps forward from dead-lettering events received
 * seconds earlier and never sent: the wall clock alone cannot tell a week of outage from a jump.
 */
export function isExpired(
  item: Pick<ForwardItem, 'received_at' | 'attempts'>,
  now: number,
  maxAgeMs: number,
  backoff?: BackoffOptions,
): boolean {
  if (now - item.received_at <= maxAgeMs) return false;
  const minAttempts = Math.floor(maxAgeMs / (4 * (backoff?.maxMs ?? 300_000)));
  return item.attempts > minAttempts;
}
