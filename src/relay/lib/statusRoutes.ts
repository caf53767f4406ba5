import type { Metrics } from './metrics';
import type { Outbox, OutboxStats } from './outbox';
import { jsonResponse } from './whopError';

export interface StatusConfig {
  outbox: Outbox;
  /** The last append's error while appends fail (a full disk), else null: readiness fails with it. */
  writeFailure?: () => string | null;
  /** Companies the relay serves (null: any); only their pauses count against readiness. */
  companies?: ReadonlySet<string> | null;
  dryRun: boolean;
  hasApiKey: boolean;
  forwarder?: { status(): { paused: Array<{ company_id: string; reason: string }> } };
  metrics: Metrics;
}

/** Paused companies listed by /ready; past it only their count, so the body stays small. */
const _MAX_PAUSED_SHOWN = 10;

/**
 * `/health`, `/ready` and the outbox gauges for `/metrics`. Readiness is what a load balancer
 * should route on: the store answers, a key is set (or the relay is knowingly in dry-run), and no
 * company is paused because Whop refused the key.
 */
export function createStatusRoutes(config: StatusConfig) {
  const { outbox, metrics } = config;

  // One stats() read serves every gauge of a scrape.
  let cached: { _at: number; _stats: Promise<OutboxStats> } | null = null;
  const stats = () => {
    const now = Date.now();
    if (!cached || now - cached._at > 1000) cached = { _at: now, _stats: outbox.stats() };
    return cached._stats;
  };
  metrics.gauge('queue_depth', 'Events waiting to be forwarded.', async () => [{ value: (await stats()).pending }]);
  metrics.gauge('oldest_pending_age_seconds', 'Age of the oldest event waiting to be forwarded.', async () => {
    const s = await stats();
    return [{ value: s.oldest_pending_at === null ? 0 : Math.max(0, (Date.now() - s.oldest_pending_at) / 1000) }];
  });
  metrics.gauge('outbox_events', 'Stored events by state.', async () => {
    const s = await stats();
    return (['pending', 'delivered', 'dead', 'dry_run', 'skipped'] as const).map((state) => ({ labels: { state }, value: s[state] }));
  });
  metrics.describe('received_total', 'Events received at ingest.');
  metrics.describe('accepted_total', 'Events stored (new).');
  metrics.describe('duplicates_total', 'Events already stored (resends), dropped at ingest.');
  metrics.describe('rejected_total', 'Events or requests refused at ingest, by reason.');
  metrics.describe('dropped_fields_total', 'Fields of accepted events repaired or left out at ingest (the event kept), by field.');
  metrics.describe(
    'forward_left_out_total',
    'Fields the relay stores that the upstream (/conversions or /events) has no place for, left out of the forwarded body, by field.',
  );
  metrics.describe('delivered_total', 'Events Whop accepted.');
  metrics.describe('retried_total', 'Forwarding attempts to be retried, by status.');
  metrics.describe('dead_lettered_total', 'Events Whop refused for good, by status.');
  metrics.describe('upstream_latency_seconds', "Whop's response time.");

  /**
   * The readiness answer, computed at most once a second whatever the number of callers (it is
   * public: a loop of /ready calls must not cost the store a query each), and bounded in size.
   */
  let answer: { _at: number; _body: Promise<{ status: number; body: unknown }> } | null = null;
  const readiness = async (): Promise<{ status: number; body: unknown }> => {
    const reasons: string[] = [];
    let queue: OutboxStats | null = null;
    try {
      queue = await outbox.stats();
    } catch (error) {
      reasons.push(`the event store cannot be read: ${String((error as Error)?.message ?? 'unknown error').slice(0, 200)}`);
    }
    const failure = config.writeFailure?.();
    if (failure) reasons.push(`the event store refuses writes: ${failure.slice(0, 200)}`);
    if (!config.hasApiKey && !config.dryRun) reasons.push('no Whop API key is configured (set WHOP_API_KEY, or run in dry-run)');
    const companies = config.companies ?? null;
    const paused = (config.forwarder?.status().paused ?? []).filter((p) => !companies || companies.has(p.company_id));
    const shown = paused.slice(0, _MAX_PAUSED_SHOWN);
    for (const p of shown) reasons.push(`forwarding for ${p.company_id} is paused: ${p.reason}`);
    if (paused.length > shown.length) reasons.push(`and ${paused.length - shown.length} more companies are paused`);
    const ready = reasons.length === 0;
    return {
      status: ready ? 200 : 503,
      body: {
        ready,
        mode: config.dryRun ? 'dry-run' : 'forwarding',
        reasons,
        paused: shown,
        paused_count: paused.length,
        queue: queue && {
          pending: queue.pending,
          delivered: queue.delivered,
          dead: queue.dead,
          dry_run: queue.dry_run,
          oldest_pending_at: queue.oldest_pending_at,
        },
      },
    };
  };

  return {
    health: () => jsonResponse(200, { ok: true }),
    async ready(): Promise<Response> {
      const now = Date.now();
      if (!answer || now - answer._at >= 1000) answer = { _at: now, _body: readiness() };
      const { status, body } = await answer._body;
      return jsonResponse(status, body);
    },
    async metrics(): Promise<Response> {
      return new Response(await metrics.render(), {
        headers: { 'content-type': 'text/plain; version=0.0.4; charset=utf-8', 'cache-control': 'no-store' },
      });
    },
  };
}
