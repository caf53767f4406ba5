import type { OutboxInput } from '../lib/outbox';
import type { CfDurableObjectNamespace, CfQueue } from './cloudflare';
import type { DeadLetter } from './consumer';

/** The Worker's bindings and variables (see examples/cloudflare/wrangler.toml). */
export interface WorkerEnv {
  /** Producer binding of the events queue (the outbox). */
  WHOPQ_QUEUE: CfQueue<OutboxInput>;
  /** Producer binding of the dead-letter queue: events Whop refused for good, with the reason. */
  WHOPQ_DLQ?: CfQueue<DeadLetter>;
  /** The `DedupStore` Durable Object namespace. */
  WHOPQ_DEDUP: CfDurableObjectNamespace;
  /** Whop company API key (a secret: `wrangler secret put WHOP_API_KEY`). Unset: dry run. */
  WHOP_API_KEY?: string;
  /** Whop's API root. Default `https://api.whop.com/api/v1`. */
  WHOP_API_BASE_URL?: string;
  /** `conversions` (default) or `events`: which Whop API the consumer forwards to (README, "Which upstream"). */
  WHOPQ_UPSTREAM?: string;
  /** Allowed company ids, comma-separated. */
  WHOP_COMPANY_ID: string;
  /** Allowed page origins, comma-separated. Default: any origin (the relay's default, `RelayOptions.origins`). */
  WHOPQ_ORIGINS?: string;
  /**
   * Token for `/wq/metrics` (`Authorization: Bearer` or `?token=`), a secret: `wrangler secret put
   * WHOPQ_ADMIN_TOKEN`. Unset: /wq/metrics answers 404 (a Worker is always on the public internet).
   */
  WHOPQ_ADMIN_TOKEN?: string;
  /** The `VisitorMemoryStore` Durable Object namespace: visitor memory for server events (docs/SERVER.md). Unset: no memory. */
  WHOPQ_VISITORS?: CfDurableObjectNamespace;
  /** Bearer tokens of the server endpoint `/wq/s`, comma-separated (secrets: `wrangler secret put WHOPQ_SERVER_TOKENS`). */
  WHOPQ_SERVER_TOKENS?: string;
  /** Calendly's webhook signing key (a secret): serves `/wq/hooks/calendly` (docs/SERVER.md). Unset: 404. */
  WHOPQ_CALENDLY_SIGNING_KEY?: string;
  /** The Typeform webhook's secret (a secret): serves `/wq/hooks/typeform`. Unset: 404. */
  WHOPQ_TYPEFORM_SECRET?: string;
  /** `<form id>=<event name>` pairs, comma-separated; other forms send `lead`. */
  WHOPQ_TYPEFORM_EVENTS?: string;
  /** The company webhook events belong to. Default: WHOP_COMPANY_ID when it lists one. */
  WHOPQ_HOOKS_COMPANY?: string;
  /** Where the relay is mounted. Default `/wq`. */
  WHOPQ_BASE_PATH?: string;
  /** The registrable domain for the relay's cookies (a relay on a subdomain). Default host-only. */
  WHOPQ_COOKIE_DOMAIN?: string;
  /** Query parameter names removed from stored URLs, comma-separated. Default: the built-in list. */
  WHOPQ_PII_PARAMS?: string;
  /** Sends per event before it is dead-lettered. Default: no limit; events older than 7 days are. */
  WHOPQ_MAX_ATTEMPTS?: string;
  /** First retry waits up to this long (ms). Default 1000. */
  WHOPQ_BACKOFF_BASE_MS?: string;
}
