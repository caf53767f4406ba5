import type { BackoffOptions } from '../lib/backoff';
import { backoffDelay } from '../lib/backoff';
import { forwardOne, type PauseSignal, type Upstream } from '../lib/forwardOne';
import { silentLogger, type Logger } from '../lib/logger';
import type { Outcome, OutboxInput } from '../lib/outbox';
import type { WhopClient } from '../lib/whopClient';
import type { CfDurableObjectNamespace, CfMessage, CfMessageBatch, CfQueue } from './cloudflare';
import { dedupClient } from './dedupClient';
import { ledgerKey } from './queueOutbox';

/** What lands on the dead-letter queue: the event as ingested, and why Whop will never take it. */
export interface DeadLetter extends OutboxInput {
  error: string;
  attempts: number;
}

export interface ConsumerOptions {
  dedup: CfDurableObjectNamespace;
  client: WhopClient;
  /** The API events go to: `conversions` (default) or `events`. */
  upstream?: Upstream;
  /** Where refused (400/422) and exhausted events go. Without it they are only marked dead in the ledger. */
  deadLetters?: CfQueue<DeadLetter>;
  /** Sends per event before it is dead-lettered. Default: no limit (only `maxAgeMs`), as on Node. */
  maxAttempts?: number;
  /** Dead-letter events older than this since receipt (ms). Default 7 days. */
  maxAgeMs?: number;
  /** Retry backoff. Default base 1 s, max 5 min, full jitter. */
  backoff?: BackoffOptions;
  /** After a 401/403/404, the event comes back after this long (s). Default 300. */
  pauseDelaySeconds?: number;
  /**
   * The events queue itself. An event to retry (or paused) is sent to it again as a new delayed
   * message and the old one acknowledged, so a long Whop outage does not use up the queue's
   * `max_retries` (at most 100) and dead-letter events Whop would take later: like the Node
   * forwarder, only `maxAgeMs` (and `maxAttempts`, when set) give up on an event. Without it the
   * message is retried in place with `message.retry({ delaySeconds })`.
   */
  requeue?: CfQueue<OutboxInput>;
  /** How long one consumer holds an event while sending it (ms); past it another may retry. Default 30_000. */
  leaseMs?: number;
  /** A copy of an event that is being sent elsewhere comes back after this long (s). Default 2. */
  busyDelaySeconds?: number;
  /** Where dead letters, pauses and ledger failures are logged (ids and statuses only). Default silent. */
  logger?: Logger;
  now?: () => number;
}

// Cloudflare Queues accepts delays up to 12 hours (https://developers.cloudflare.com/queues/configuration/batching-retries/).
const _MAX_DELAY_S = 43_200;
const _seconds = (ms: number) => Math.min(_MAX_DELAY_S, Math.max(0, Math.ceil(ms / 1000)));

/** Brings the event back after `ms`: as a new delayed message when `requeue` is set, else by retrying this one. */
async function _later(message: CfMessage<OutboxInput>, options: ConsumerOptions, ms: number): Promise<void> {
  const delaySeconds = _seconds(ms);
  if (!options.requeue) return message.retry({ delaySeconds });
  // Re-sent before the ack: if the ack is lost too, the ledger drops the extra copy.
  await options.requeue.send(message.body, { contentType: 'json', delaySeconds });
  message.ack();
}

/**
 * The Queue consumer: forwards each message's event to Whop with `forwardOne` (the same policy as
 * the Node forwarder) and settles it in the company's `DedupStore`. Delivery from the Queue is
 * at-least-once; the ledger makes it once per event_id towards Whop: a redelivered or duplicate
 * message whose event is delivered is acknowledged without a POST, and one being sent elsewhere
 * waits for that lease. Retries wait for the backoff delay or Whop's Retry-After (see `requeue`).
 */
export async function consumeBatch(batch: CfMessageBatch<OutboxInput>, options: ConsumerOptions): Promise<void> {
  await Promise.all(batch.messages.map((message) => _consumeOne(message, options)));
}

async function _consumeOne(message: CfMessage<OutboxInput>, options: ConsumerOptions): Promise<void> {
  const now = options.now ?? Date.now;
  const logger = options.logger ?? silentLogger;
  const event = message.body;
  if (!event || typeof event.company_id !== 'string' || typeof event.event_id !== 'string' || !event.body) {
    // Not something ingest wrote (another producer on this queue): keep it for a human, do not retry it.
    logger.error('queue message is not an event', { message_id: message.id });
    try {
      await options.deadLetters?.send(
        { ...(event as OutboxInput), error: 'malformed queue message', attempts: 0 },
        { contentType: 'json' },
      );
      message.ack();
    } catch {
      message.retry();
    }
    return;
  }
  const ids = { company_id: event.company_id, event_name: event.event_name, event_id: event.event_id };
  const key = ledgerKey(event);
  try {
    const ledger = dedupClient(options.dedup, event.company_id);
    const begun = await ledger.begin(key, now(), options.leaseMs ?? 30_000);
    if (begun.go === 'done') return message.ack();
    if (begun.go === 'busy')
      return message.retry({ delaySeconds: _seconds(Math.min(begun.waitMs, (options.busyDelaySeconds ?? 2) * 1000)) });
    if (begun.go === 'hold') return await _later(message, options, begun.waitMs);

    const report = await forwardOne(
      { body: event.body, received_at: event.received_at, attempts: begun.attempts },
      {
        client: options.client,
        upstream: options.upstream,
        maxAgeMs: options.maxAgeMs,
        backoff: options.backoff,
        now,
      },
    );
    let outcome: Outcome | PauseSignal = report.outcome;
    const maxAttempts = options.maxAttempts ?? Infinity;
    if (outcome.kind === 'retry' && begun.attempts >= maxAttempts) {
      outcome = { kind: 'dead', at: outcome.at, error: `gave up after ${begun.attempts} attempts: ${outcome.error}` };
    }

    if (outcome.kind === 'delivered') {
      // Acknowledge even if the ledger write fails: a retry would send the event a second time.
      await ledger.settle(key, outcome).catch(() => undefined);
      return message.ack();
    }
    if (outcome.kind === 'dead' || outcome.kind === 'pause')
      logger.warn(`event ${outcome.kind}`, { ...ids, status: report.status, attempts: begun.attempts });
    if (outcome.kind === 'dead') {
      // Dead-letter first: if that write fails the message is retried and the ledger still says "sending".
      await options.deadLetters?.send({ ...event, error: outcome.error, attempts: begun.attempts }, { contentType: 'json' });
      await ledger.settle(key, outcome);
      return message.ack();
    }
    const holdUntil = report.retryAfterMs != null ? outcome.at + report.retryAfterMs : undefined;
    await ledger.settle(key, outcome, holdUntil).catch(() => undefined);
    await _later(message, options, outcome.kind === 'pause' ? (options.pauseDelaySeconds ?? 300) * 1000 : outcome.next_attempt_at - now());
  } catch (error) {
    // The ledger or the dead-letter queue is unreachable: try the message again later.
    logger.error('consumer could not settle an event', { ...ids, error: (error as Error).message });
    message.retry({ delaySeconds: _seconds(backoffDelay(message.attempts, options.backoff)) });
  }
}
