import type { BackoffOptions } from './backoff';
import { forwardOne, type ForwardReport, type Upstream } from './forwardOne';
import { silentLogger, type Logger } from './logger';
import { createConcurrencyLimiter } from './concurrencyLimiter';
import type { Metrics } from './metrics';
import type { SharedHoldState, SharedHolds } from './sharedHolds';
import type { EventKey, Outcome, OutboxRecord, PullOutbox } from './outbox';
import { createWhopClient, type WhopClient } from './whopClient';

/** Optional outbox hooks (SqliteOutbox has both) that let the forwarder sleep instead of poll. */
interface _Wakeable {
  nextDueAt?(): Promise<number | null>;
  onAppend?(listener: () => void): () => void;
}

export interface ForwarderOptions {
  outbox: PullOutbox & _Wakeable;
  apiKey: string;
  /** Whop's API root. Default `https://api.whop.com/api/v1`. */
  baseURL?: string;
  /** The API events go to: `conversions` (default) or `events` (mapping: `toConversion` / `toEvent`). */
  upstream?: Upstream;
  /** Sends in flight at once (where the adaptive limit starts). Default 8. */
  concurrency?: number;
  /**
   * Most sends in flight: the limit grows from `concurrency` while Whop answers 2xx quickly and
   * backs off on 429/5xx/timeouts/slow answers (concurrencyLimiter). Default `concurrency` (fixed).
   */
  maxConcurrency?: number;
  /** Per-request timeout (ms). Default 10_000. */
  timeoutMs?: number;
  /** Dead-letter events not delivered within this long of receipt (ms). Default 7 days. */
  maxAgeMs?: number;
  /** Retry backoff. Default base 1 s, max 5 min, full jitter. */
  backoff?: BackoffOptions;
  /** After a 401/403/404, wait this long before probing the company again with one event (ms). Default 30_000. */
  pauseProbeMs?: number;
  /**
   * The companies this relay serves. An event for another (stored before the allowlist changed) is
   * dead-lettered unsent, so it can neither use the key nor pause anything. Default null: any.
   */
  companies?: ReadonlySet<string> | null;
  /** How long a claimed event is held before another claim may take it (ms). Default 2 × timeoutMs + 5 s. */
  leaseMs?: number;
  /** Longest sleep when idle (ms), a safety net for outboxes without `onAppend`. Default 5_000. */
  idlePollMs?: number;
  /** Logs pauses, resumes, retries and dead letters (ids and statuses only). Default silent. */
  logger?: Logger;
  /**
   * Counts `delivered_total`, `retried_total{reason}`, `dead_lettered_total{reason}`,
   * `forward_paused_total{status}` and observes `upstream_latency_seconds` and `outcome_store_seconds`
   * (Whop's answer to its outcome stored). Share the relay's registry.
   */
  metrics?: Pick<Metrics, 'inc' | 'observe'>;
  /** Replaces the @whop/sdk client (another transport, e.g. in a different runtime). */
  client?: WhopClient;
  /** Holds (Retry-After, paused companies) shared with the other relays on the same outbox. Default: this process only. */
  holds?: SharedHolds;
}

export interface Forwarder {
  /** Starts draining the outbox. Idempotent. */
  start(): void;
  /** Stops claiming and resolves once every send in flight has been settled. */
  stop(): Promise<void>;
  /** Companies whose forwarding is paused (Whop refused the key), for readiness. */
  status(): { paused: Array<{ company_id: string; reason: string }>; concurrency?: number; inFlight?: number; holdUntil?: number };
}

interface _Pause {
  _reason: string;
  _probeAt: number;
  _probing: boolean;
  /** The event that caused the pause or probed last: the next probe is another one, if there is one. */
  _last: string;
  /** The event whose answer paused the company. */
  _cause: string;
  /** The last probe's event was already put back once this round. */
  _deferred: boolean;
}

/** Most events remembered as suspects (see `suspects`). */
const _MAX_SUSPECTS = 1_000;

const _noop = () => {};
const _key = (k: EventKey) => JSON.stringify([k.company_id, k.event_name, k.event_id]);

/**
 * The Node-side delivery loop: claims due events from a pull outbox, sends each with `forwardOne`
 * (bounded concurrency), settles the outcome, then sleeps until the next event is due or a new one
 * is appended. A 401/403/404 pauses that company (its events stay pending) and one event probes it
 * again after `pauseProbeMs`, so a fixed key resumes on its own. A Retry-After holds all sends.
 */
export function createForwarder(options: ForwarderOptions): Forwarder {
  const { outbox } = options;
  const limiter = createConcurrencyLimiter({ initial: Math.max(1, options.concurrency ?? 8), max: options.maxConcurrency });
  const timeoutMs = options.timeoutMs ?? 10_000;
  const pauseProbeMs = options.pauseProbeMs ?? 30_000;
  const idlePollMs = options.idlePollMs ?? 5_000;
  // A lease outlives the send it covers (timeout plus reading the body), so no event is sent twice in parallel.
  const leaseMs = options.leaseMs ?? timeoutMs * 2 + 5_000;
  const log = options.logger ?? silentLogger;
  const metrics = options.metrics;
  const client = options.client ?? createWhopClient({ apiKey: options.apiKey, baseURL: options.baseURL, timeoutMs });
  const holds = options.holds;

  const inFlight = new Set<Promise<void>>();
  const paused = new Map<string, _Pause>();
  // Final outcomes Whop already gave but the outbox could not record (a full disk refuses even the
  // small write that marks a row delivered). Remembered so the event is recorded, not sent again,
  // when its lease lapses and it is claimed once more. Lost on restart: Whop's event_id dedup covers that.
  const unrecorded = new Map<string, Outcome>();
  // Events whose 403/404 paused their company while another event then went through: the refusal
  // was about the event, not the key, so the next such answer dead-letters it instead of pausing again.
  const suspects = new Set<string>();
  const companies = options.companies ?? null;
  let running = false;
  let pumping: Promise<void> | null = null;
  let pumpAgain = false;
  let holdUntil = 0;
  let timer: ReturnType<typeof setTimeout> | null = null;
  let unsubscribe: () => void = _noop;

  const wake = () => {
    if (!running) return;
    if (pumping) {
      pumpAgain = true;
      return;
    }
    pumping = pump().finally(() => {
      pumping = null;
      // A wake that arrived while the pump was already going to sleep must not be lost.
      if (pumpAgain) wake();
    });
  };

  async function pump(): Promise<void> {
    try {
      do {
        pumpAgain = false;
        await syncHolds();
        while (running && inFlight.size < limiter.limit() && Date.now() >= holdUntil) {
          const batch = await outbox.claim(Date.now(), limiter.limit() - inFlight.size, leaseMs);
          if (!running) {
            // Stopped while claiming: hand the leases back at once instead of letting them lapse.
            await Promise.all(
              batch.map((r) =>
                outbox.settle(r, { kind: 'retry', at: Date.now(), next_attempt_at: Date.now(), error: r.last_error ?? 'released on stop' }),
              ),
            );
            return;
          }
          if (batch.length === 0) break;
          for (const record of batch) track(handle(record));
        }
      } while (pumpAgain && running);
      await sleep();
    } catch (error) {
      log.error('forwarder: outbox unavailable, retrying in 1 s', { error: (error as Error).message });
      arm(Date.now() + 1_000);
    }
  }

  /** Takes in the holds other relays recorded: a Retry-After, companies paused or resumed elsewhere. */
  async function syncHolds(): Promise<void> {
    if (!holds) return;
    let shared: SharedHoldState;
    try {
      shared = await holds.read();
    } catch {
      return; // unreadable: keep this process's own view
    }
    holdUntil = Math.max(holdUntil, shared.holdUntil);
    const elsewhere = new Set<string>();
    for (const p of shared.paused) {
      elsewhere.add(p.company_id);
      const local = paused.get(p.company_id);
      if (!local)
        paused.set(p.company_id, { _reason: p.reason, _probeAt: p.probeAt, _probing: false, _last: '', _cause: '', _deferred: false });
      else if (!local._probing) local._probeAt = Math.max(local._probeAt, p.probeAt);
    }
    for (const [company_id, local] of paused) if (!local._probing && !elsewhere.has(company_id)) paused.delete(company_id);
  }

  /**
   * Tries again, every half second while the lease lasts, to record an outcome the outbox refused
   * (a database restarting): recorded before the lease lapses, the event is not claimed and sent
   * again, by this relay or another on the same outbox.
   */
  function recordLater(record: OutboxRecord, outcome: Outcome): void {
    const key = _key(record);
    const until = Date.now() + leaseMs - 1_000;
    const attempt = () => {
      if (!unrecorded.has(key) || Date.now() > until) return;
      outbox.settle(record, outcome).then(
        () => unrecorded.delete(key),
        () => setTimeout(attempt, 500).unref?.(),
      );
    };
    setTimeout(attempt, 500).unref?.();
  }

  /** Arms the single wake-up timer for the next due event (or the idle poll), never a busy loop. */
  async function sleep(): Promise<void> {
    if (!running || inFlight.size >= limiter.limit()) return; // a finishing send wakes us
    const now = Date.now();
    let at = now + idlePollMs;
    if (outbox.nextDueAt) {
      const due = await outbox.nextDueAt();
      if (due != null) at = Math.min(at, Math.max(due, now + 10));
    }
    arm(Math.max(at, holdUntil));
  }

  function arm(at: number): void {
    if (timer) clearTimeout(timer);
    if (!running) return;
    timer = setTimeout(
      () => {
        timer = null;
        wake();
      },
      Math.max(0, at - Date.now()),
    );
    timer.unref?.();
  }

  function track(task: Promise<void>): void {
    inFlight.add(task);
    void task.finally(() => {
      inFlight.delete(task);
      wake();
    });
  }

  async function handle(record: OutboxRecord): Promise<void> {
    const { company_id, event_id } = record;
    let probe: _Pause | undefined;
    try {
      const known = unrecorded.get(_key(record));
      if (known) {
        await outbox.settle(record, known);
        unrecorded.delete(_key(record));
        return;
      }
      if (companies && !companies.has(company_id)) {
        await settle(record, {
          outcome: { kind: 'dead', at: Date.now(), error: 'not sent: this relay does not serve that company (WHOP_COMPANY_ID)' },
          status: null,
          latencyMs: 0,
          retryAfterMs: null,
        });
        return;
      }
      const pause = paused.get(company_id);
      if (pause && !pause._probing && Date.now() >= pause._probeAt && event_id === pause._last && !pause._deferred) {
        // Probes rotate: the event that probed last waits a second, so another one (if any) goes first.
        pause._deferred = true;
        await outbox.settle(record, {
          kind: 'retry',
          at: Date.now(),
          next_attempt_at: Date.now() + 1_000,
          error: record.last_error ?? pause._reason,
        });
        return;
      }
      if (pause && (pause._probing || Date.now() < pause._probeAt)) {
        // Not this company's turn: keep the event pending until the next probe, unsent.
        const next = pause._probing ? Date.now() + pauseProbeMs : pause._probeAt;
        await outbox.settle(record, { kind: 'retry', at: Date.now(), next_attempt_at: next, error: record.last_error ?? pause._reason });
        return;
      }
      if (pause && holds && !(await holds.takeProbe(company_id, Date.now(), Date.now() + pauseProbeMs).catch(() => true))) {
        // Another relay probes this round.
        pause._probeAt = Date.now() + pauseProbeMs;
        await outbox.settle(record, {
          kind: 'retry',
          at: Date.now(),
          next_attempt_at: pause._probeAt,
          error: record.last_error ?? pause._reason,
        });
        return;
      }
      if (pause) {
        probe = pause;
        pause._probing = true;
        pause._last = event_id;
        pause._deferred = false;
      }
      const report = await forwardOne(record, { client, upstream: options.upstream, maxAgeMs: options.maxAgeMs, backoff: options.backoff });
      await settle(record, report);
    } catch (error) {
      // The event stays leased and comes back when the lease lapses; a failed probe must not block later ones.
      if (probe) probe._probing = false;
      log.error('forwarder: could not settle an event', { company_id, event_id, error: (error as Error).message });
    }
  }

  async function settle(record: OutboxRecord, report: ForwardReport): Promise<void> {
    const { company_id, event_id } = record;
    if (report.latencyMs > 0) {
      metrics?.observe('upstream_latency_seconds', report.latencyMs / 1000);
      limiter.observe({ status: report.status, latencyMs: report.latencyMs });
    }
    let { outcome } = report;
    if (outcome.kind === 'pause' && outcome.status !== 401 && suspects.has(company_id + ' ' + event_id)) {
      // Refused again after another event of the company went through: it is this event Whop refuses.
      suspects.delete(company_id + ' ' + event_id);
      outcome = { kind: 'dead', at: outcome.at, error: outcome.error };
    }
    if (outcome.kind === 'pause') {
      const probeAt = outcome.at + pauseProbeMs;
      if (!paused.has(company_id) || paused.get(company_id)!._probing) {
        const reason = `Whop refused the API key for this company (HTTP ${outcome.status}); forwarding is paused and retried every ${Math.round(pauseProbeMs / 1000)} s`;
        if (!paused.has(company_id))
          log.warn('forwarder: company paused', {
            company_id,
            event_id,
            status: outcome.status,
            code: report.code ?? null,
            param: report.param ?? null,
          });
        paused.set(company_id, {
          _reason: reason,
          _probeAt: probeAt,
          _probing: false,
          _last: event_id,
          _cause: paused.get(company_id)?._cause ?? event_id,
          _deferred: false,
        });
        await holds?.pause(company_id, probeAt, reason).catch(() => {});
      }
      metrics?.inc('forward_paused_total', { status: String(outcome.status) });
      await outbox.settle(record, { kind: 'retry', at: outcome.at, next_attempt_at: probeAt, error: outcome.error });
      return;
    }
    const pause = paused.get(company_id);
    if (pause) {
      // Only an answer that got past Whop's auth (2xx, 400, 422) proves the key works again; a 5xx
      // or timeout says nothing, so the company stays paused until the next probe.
      if (
        report.status != null &&
        report.status < 500 &&
        report.status !== 408 &&
        report.status !== 429 &&
        (report.status < 300 || report.status >= 400)
      ) {
        paused.delete(company_id);
        if (pause._cause !== event_id) {
          if (suspects.size >= _MAX_SUSPECTS) suspects.delete(suspects.values().next().value!);
          suspects.add(company_id + ' ' + pause._cause);
        }
        log.info('forwarder: company resumed', { company_id });
        await holds?.resume(company_id).catch(() => {});
      } else {
        pause._probing = false;
        pause._probeAt = outcome.at + pauseProbeMs;
        await holds?.pause(company_id, pause._probeAt, pause._reason).catch(() => {});
      }
    }
    if (report.retryAfterMs != null) {
      holdUntil = Math.max(holdUntil, outcome.at + report.retryAfterMs);
      await holds?.hold(holdUntil).catch(() => {});
    }
    try {
      const answered = Date.now();
      await outbox.settle(record, outcome);
      // The window in which a crash sends an answered event again (it is not yet recorded).
      if (report.latencyMs > 0) metrics?.observe('outcome_store_seconds', (Date.now() - answered) / 1000);
    } catch (error) {
      if (outcome.kind !== 'retry') {
        unrecorded.set(_key(record), outcome);
        recordLater(record, outcome);
      }
      throw error;
    }
    if (outcome.kind === 'delivered') metrics?.inc('delivered_total');
    else if (outcome.kind === 'retry') {
      metrics?.inc('retried_total', { reason: report.status == null ? 'network' : String(report.status) });
      log.warn('forwarder: will retry', {
        company_id,
        event_id,
        attempts: record.attempts,
        status: report.status,
        code: report.code ?? null,
        param: report.param ?? null,
        next_attempt_at: outcome.next_attempt_at,
      });
    } else {
      // Status, code and param only: Whop's message or body may echo the values it was sent.
      metrics?.inc('dead_lettered_total', {
        reason:
          report.status == null ? (companies && !companies.has(company_id) ? 'company_not_served' : 'expired') : String(report.status),
      });
      log.warn('forwarder: dead-lettered', {
        company_id,
        event_id,
        status: report.status,
        code: report.code ?? null,
        param: report.param ?? null,
        reason: report.status == null ? outcome.error : undefined,
      });
    }
  }

  return {
    start() {
      if (running) return;
      running = true;
      unsubscribe = outbox.onAppend?.(wake) ?? _noop;
      wake();
    },
    async stop() {
      running = false;
      unsubscribe();
      if (timer) clearTimeout(timer);
      timer = null;
      await pumping;
      while (inFlight.size) await Promise.allSettled([...inFlight]);
    },
    status() {
      return {
        paused: [...paused].map(([company_id, p]) => ({ company_id, reason: p._reason })),
        concurrency: limiter.limit(),
        inFlight: inFlight.size,
        holdUntil,
      };
    },
  };
}
