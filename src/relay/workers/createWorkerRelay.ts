import { createRelay, type Relay } from '../createRelay';
import type { Upstream } from '../lib/forwardOne';
import { createLogger } from '../lib/logger';
import { createVisitorMemory, type VisitorMemory } from '../lib/visitorMemory';
import { durableVisitorStore } from './durableVisitorStore';
import type { WorkerEnv } from './env';
import { QueueOutbox } from './queueOutbox';
import { envList, envPairs } from '../lib/envList';

/** The pixel bundle, inlined at build time by scripts/buildWorker.mjs (null when it was not built). */
declare const __WHOPQ_PIXEL__: string | null;

/** The relay plus what the Worker's fetch needs around it. */
export interface WorkerRelay {
  relay: Relay;
  basePath: string;
  /** Visitor memory (a Durable Object per company), or null without the WHOPQ_VISITORS binding. Flush it in `waitUntil`. */
  memory: VisitorMemory | null;
  /** Reloads the paused companies from the ledgers (the core's readiness check is synchronous). */
  refreshPaused(): Promise<void>;
}

// One relay per isolate and env: bindings and vars do not change while an isolate lives, and the
// relay keeps state worth keeping between requests (rate-limit buckets, metrics, the bundle's ETag).
const _relays = new WeakMap<object, WorkerRelay>();

/** WHOPQ_UPSTREAM as the consumer and ingest read it: `events`, else `conversions`. */
export const workerUpstream = (env: WorkerEnv): Upstream =>
  env.WHOPQ_UPSTREAM?.trim().toLowerCase() === 'events' ? 'events' : 'conversions';

/** The relay core wired to Workers bindings: a `QueueOutbox`, companies and origins from vars. */
export function createWorkerRelay(env: WorkerEnv): WorkerRelay {
  const cached = _relays.get(env);
  if (cached) return cached;
  const companies = envList(env.WHOP_COMPANY_ID);
  const dryRun = !env.WHOP_API_KEY;
  const basePath = (env.WHOPQ_BASE_PATH || '/wq').replace(/\/+$/, '');
  const outbox = new QueueOutbox({ queue: env.WHOPQ_QUEUE, dedup: env.WHOPQ_DEDUP, companies, dryRun });
  let paused: Array<{ company_id: string; reason: string }> = [];
  const serverTokens = envList(env.WHOPQ_SERVER_TOKENS);
  const hooksCompany = env.WHOPQ_HOOKS_COMPANY?.trim() || (companies.length === 1 ? companies[0] : undefined);
  const hookSecrets = [env.WHOPQ_CALENDLY_SIGNING_KEY, env.WHOPQ_TYPEFORM_SECRET].filter((s): s is string => !!s);
  const memory = env.WHOPQ_VISITORS ? createVisitorMemory(durableVisitorStore(env.WHOPQ_VISITORS, companies), { flushMs: 10 }) : null;
  const relay = createRelay({
    outbox,
    companies,
    origins: envList(env.WHOPQ_ORIGINS),
    basePath,
    cookieDomain: env.WHOPQ_COOKIE_DOMAIN || undefined,
    piiParams: envList(env.WHOPQ_PII_PARAMS),
    bundle: typeof __WHOPQ_PIXEL__ === 'string' ? __WHOPQ_PIXEL__ : undefined,
    dryRun,
    upstream: workerUpstream(env),
    hasApiKey: !dryRun,
    logger: createLogger({
      quiet: true,
      secrets: [env.WHOP_API_KEY, env.WHOPQ_ADMIN_TOKEN, ...serverTokens, ...hookSecrets].filter((s): s is string => !!s),
    }),
    serverTokens,
    visitorMemory: memory ?? false,
    // Always reachable from the internet: /metrics only with the admin token, as in production on Node.
    adminToken: env.WHOPQ_ADMIN_TOKEN || undefined,
    production: true,
    // The consumer records 401/403/404 in each company's ledger; /ready reads them from there.
    forwarder: { status: () => ({ paused }) },
    hooks:
      hooksCompany && hookSecrets.length
        ? {
            company: hooksCompany,
            calendlySigningKey: env.WHOPQ_CALENDLY_SIGNING_KEY || undefined,
            typeformSecret: env.WHOPQ_TYPEFORM_SECRET || undefined,
            typeformEvents: envPairs(env.WHOPQ_TYPEFORM_EVENTS),
          }
        : undefined,
  });
  const made: WorkerRelay = {
    relay,
    basePath,
    memory,
    async refreshPaused() {
      paused = await outbox.paused().catch(() => paused);
    },
  };
  _relays.set(env, made);
  return made;
}
