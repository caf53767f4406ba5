import { OutboxUnavailableError, type Outbox, type OutboxInput, type OutboxRecord, type OutboxStats } from '../lib/outbox';
import type { CfDurableObjectNamespace, CfQueue } from './cloudflare';
import { dedupClient } from './dedupClient';

export interface QueueOutboxOptions {
  /** The Queue producer binding the consumer drains. */
  queue: CfQueue<OutboxInput>;
  /** The `DedupStore` namespace (one object per company). */
  dedup: CfDurableObjectNamespace;
  /** Companies summed by `stats()`. */
  companies: readonly string[];
  /** Record events as `dry_run` and never enqueue them (no API key configured). Default false. */
  dryRun?: boolean;
  /**
   * How long an ingest reservation holds an event_id while its Queue write is in flight (ms).
   * If the request dies before the write, the id is free again after this. Default 30_000.
   */
  reserveMs?: number;
  now?: () => number;
}

// Cloudflare Queues limits: 100 messages and 256 KB per sendBatch, 128 KB per message
// (https://developers.cloudflare.com/queues/platform/limits/). Stay under the byte limit with room for framing.
const _BATCH_COUNT = 100;
const _BATCH_BYTES = 200_000;

/**
 * The outbox on Cloudflare Workers: a Cloudflare Queue, with a `DedupStore` Durable Object per
 * company as the ledger of event_ids. `append` reserves the ids (resends come back `false`), sends
 * the new events with `sendBatch`, and resolves only once the Queue has acknowledged them, so a 200
 * to the browser means the events are durable. If the Queue write fails the reservations are
 * released and it rejects with `OutboxUnavailableError` (the handler answers 503, the browser keeps
 * its copy).
 */
export class QueueOutbox implements Outbox {
  constructor(private readonly _options: QueueOutboxOptions) {}

  async append(events: readonly OutboxInput[]): Promise<boolean[]> {
    const now = (this._options.now ?? Date.now)();
    const byCompany = new Map<string, number[]>();
    events.forEach((event, index) => {
      const list = byCompany.get(event.company_id) ?? [];
      list.push(index);
      byCompany.set(event.company_id, list);
    });
    const result: boolean[] = events.map(() => false);
    await Promise.all(
      [...byCompany].map(async ([company, indexes]) => {
        const fresh = await this._appendCompany(
          company,
          indexes.map((i) => events[i]!),
          now,
        );
        indexes.forEach((index, k) => (result[index] = fresh[k]!));
      }),
    );
    return result;
  }

  private async _appendCompany(company: string, events: OutboxInput[], now: number): Promise<boolean[]> {
    const ledger = dedupClient(this._options.dedup, company);
    const ids = events.map(ledgerKey);
    // Kept, never sent (a page view): recorded as settled in the ledger, not put on the Queue.
    const skipped = events.map((event) => (event.skipped ? true : false));
    let fresh: boolean[];
    try {
      fresh = await ledger.reserve(ids, now, this._options.reserveMs ?? 30_000, this._options.dryRun, skipped);
    } catch (error) {
      throw new OutboxUnavailableError(`dedup store unavailable: ${(error as Error).message}`);
    }
    if (this._options.dryRun) return fresh;
    const send = events.filter((event, i) => fresh[i] && !event.skipped);
    const sentIds = send.map(ledgerKey);
    try {
      for (const chunk of _chunks(send)) await this._options.queue.sendBatch(chunk.map((body) => ({ body, contentType: 'json' as const })));
    } catch (error) {
      // Some chunks may have gone through; they are redelivered harmlessly (the consumer dedups).
      await ledger.release(sentIds).catch(() => undefined);
      throw new OutboxUnavailableError(`queue unavailable: ${(error as Error).message}`);
    }
    // The events are durable now; a failed confirm only leaves reservations that lapse on their own.
    if (sentIds.length) await ledger.confirm(sentIds, now).catch(() => undefined);
    return fresh;
  }

  /** Counters summed over the configured companies. The Queue keeps no per-minute history. */
  async stats(): Promise<OutboxStats> {
    const total: OutboxStats = { pending: 0, delivered: 0, dead: 0, dry_run: 0, skipped: 0, oldest_pending_at: null, per_minute: [] };
    const all = await Promise.all(this._options.companies.map((company) => dedupClient(this._options.dedup, company).stats()));
    for (const { counts } of all) {
      total.pending += counts.pending;
      total.delivered += counts.delivered;
      total.dead += counts.dead;
      total.dry_run += counts.dry_run;
      total.skipped += counts.skipped ?? 0;
    }
    return total;
  }

  /** Companies Whop refused (401/403/404) on their last attempt, for readiness. */
  async paused(): Promise<Array<{ company_id: string; reason: string }>> {
    const all = await Promise.all(
      this._options.companies.map(async (company_id) => ({
        company_id,
        stats: await dedupClient(this._options.dedup, company_id).stats(),
      })),
    );
    return all.filter((c) => c.stats.paused).map((c) => ({ company_id: c.company_id, reason: c.stats.paused!.error }));
  }

  /** The bodies live in the Queue, which cannot be browsed: the inspector shows counts only here. */
  async recent(): Promise<OutboxRecord[]> {
    return [];
  }

  async close(): Promise<void> {}
}

/**
 * The ledger key of an event inside its company's `DedupStore`: event_name and event_id (the
 * identity Whop counts). A message queued by an older relay carries no event_name; its ledger entry
 * is keyed by the bare event_id, so it is settled under that key.
 */
export function ledgerKey(event: Pick<OutboxInput, 'event_id'> & { event_name?: string }): string {
  return event.event_name === undefined ? event.event_id : JSON.stringify([event.event_name, event.event_id]);
}

function* _chunks(events: OutboxInput[]): Generator<OutboxInput[]> {
  let chunk: OutboxInput[] = [];
  let bytes = 0;
  for (const event of events) {
    const size = JSON.stringify(event).length + 100;
    if (chunk.length && (chunk.length === _BATCH_COUNT || bytes + size > _BATCH_BYTES)) {
      yield chunk;
      chunk = [];
      bytes = 0;
    }
    chunk.push(event);
    bytes += size;
  }
  if (chunk.length) yield chunk;
}
