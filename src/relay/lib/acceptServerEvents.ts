import { DEFAULT_PII_PARAMS, piiMatcher } from './cleanUrl';
import type { Upstream } from './forwardOne';
import type { Logger } from './logger';
import type { Metrics } from './metrics';
import type { EventRepair, Outbox, OutboxInput } from './outbox';
import { outboxInput, prepareEvents, type RejectedEvent } from './prepareEvents';
import type { VisitorMemory } from './visitorMemory';
import { fillFromRecord } from './visitorRecord';
import type { WhopErrorBody } from './whopError';

export interface ServerAcceptConfig {
  outbox: Outbox;
  companies: ReadonlySet<string> | null;
  piiParams?: readonly string[];
  upstream: Upstream;
  /** Fills what a server event lacks from what the visitor's browser sent; null: nothing filled. */
  memory: VisitorMemory | null;
  metrics: Metrics;
  logger: Logger;
  now: () => number;
}

/** What became of one server event, by its index in the call. */
export interface ServerEventResult {
  index: number;
  status: 'accepted' | 'duplicate' | 'rejected';
  /** The stored event's id (as sent, or generated when it had none); absent when rejected. */
  event_id?: string;
  event_name?: string;
  /** Why it was rejected. */
  error?: WhopErrorBody;
  /** Fields filled from visitor memory (`context.fbclid`, `url`, …). */
  filled?: string[];
  /** Which of the visitor's keys found the memory (`anonymous_id`, `email`, `phone`). */
  matched?: string[];
}

/** The answer of `acceptServerEvents`: the browser endpoint's counts and lists, plus what was filled, plus one result per event. */
export interface ServerAcceptResult {
  accepted: number;
  duplicates: number;
  rejected: RejectedEvent[];
  dropped: Array<EventRepair & { index: number }>;
  filled: Array<{ index: number; fields: string[]; matched: string[] }>;
  results: ServerEventResult[];
}

/**
 * Stores events a server sends (the `/s` endpoint, the webhooks), through the browser's path
 * (`prepareEvents`, the outbox) with a server's rules: `context.ip_address` and `user_agent` kept as
 * given, event_ids kept as given, no cookies, and what the event lacks filled from the visitor's
 * memory. `source` names the sender for metrics (`server`, `calendly`, …).
 * Rejects with `OutboxUnavailableError` when the store cannot write (the caller answers 503).
 */
export type AcceptServerEvents = (events: readonly unknown[], options: { source: string }) => Promise<ServerAcceptResult>;

const _SOURCE = /^[a-z0-9_-]{1,32}$/;

/** Builds `acceptServerEvents` over the relay's outbox and memory. */
export function createServerAcceptor(config: ServerAcceptConfig): AcceptServerEvents {
  const { metrics, memory } = config;
  const isPii = piiMatcher(config.piiParams ?? DEFAULT_PII_PARAMS);
  return async (events, { source }) => {
    const label = _SOURCE.test(source) ? source : 'server';
    const now = config.now();
    metrics.inc('server_received_total', { source: label }, events.length);
    const { good, rejected, dropped } = prepareEvents(events, now, config.companies, isPii);
    for (const r of rejected) metrics.inc('rejected_total', { reason: r.error.code ?? r.error.type });
    const filled: ServerAcceptResult['filled'] = [];
    const inputs: OutboxInput[] = [];
    for (const g of good) {
      const e = g._event;
      if (memory && (e.user?.anonymous_id || e.user?.email || e.user?.phone)) {
        const found = await memory.recall(e.company_id, e.user ?? {});
        const fields = found ? fillFromRecord(e, found.record, Date.parse(e.event_time!)) : [];
        if (found && fields.length) {
          filled.push({ index: g._index, fields, matched: found.matched });
          for (const f of fields) {
            g._dropped.push({ param: f, message: `Filled from visitor memory (matched by ${found.matched.join(', ')}).` });
            metrics.inc('memory_filled_total', { field: f });
          }
        }
      }
      inputs.push(outboxInput(e, g._dropped, now, config.upstream));
    }
    const fresh = inputs.length ? await config.outbox.append(inputs) : [];
    const accepted = fresh.filter(Boolean).length;
    metrics.inc('accepted_total', undefined, accepted);
    if (fresh.length - accepted) metrics.inc('duplicates_total', undefined, fresh.length - accepted);
    const results: ServerEventResult[] = events.map((_, index) => ({ index, status: 'rejected' as const }));
    for (const r of rejected) results[r.index]!.error = r.error;
    good.forEach((g, i) => {
      const f = filled.find((x) => x.index === g._index);
      results[g._index] = {
        index: g._index,
        status: fresh[i] ? 'accepted' : 'duplicate',
        event_id: inputs[i]!.event_id,
        event_name: inputs[i]!.event_name,
        ...(f ? { filled: f.fields, matched: f.matched } : {}),
      };
    });
    return { accepted, duplicates: fresh.length - accepted, rejected, dropped, filled, results };
  };
}
