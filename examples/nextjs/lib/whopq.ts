// The relay for this Next.js app, configured from the same environment variables as `whopq relay`.
// With a Postgres URL (WHOPQ_DATABASE_URL, DATABASE_URL or POSTGRES_URL: what Vercel's Postgres
// add-ons set) each event is committed to Postgres before the route answers 200, and the drain
// route (app/api/whopq/drain/route.ts, called by Vercel Cron) forwards it to Whop. Without one the
// relay runs as a dry run in memory, and /wq/ready says so rather than answering 200 for events
// nothing would ever send.
import { readFile } from 'node:fs/promises';
import {
  createPostgresOutbox,
  createPostgresVisitorStore,
  createRelay,
  createVisitorMemory,
  lazyOutbox,
  MemoryOutbox,
  type Outbox,
} from 'whopq/relay';

const list = (value: string | undefined) =>
  (value ?? '')
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);

export const databaseUrl = process.env.WHOPQ_DATABASE_URL || process.env.DATABASE_URL || process.env.POSTGRES_URL || undefined;
export const apiKey = process.env.WHOP_API_KEY || undefined;
export const companies = list(process.env.WHOP_COMPANY_ID);
export const upstream = process.env.WHOPQ_UPSTREAM === 'events' ? 'events' : 'conversions';

/**
 * Postgres, opened on first use (a cold start while the database is down answers 503 and tries
 * again on the next request). Two connections per function instance: use the provider's pooled URL.
 */
export const postgres = databaseUrl
  ? lazyOutbox(() =>
      createPostgresOutbox({
        connectionString: databaseUrl,
        schema: process.env.WHOPQ_DATABASE_SCHEMA || 'whopq',
        poolSize: 2,
        dryRun: !apiKey,
      }),
    )
  : null;

/**
 * Visitor memory in the same database, so a server event finds the visit whichever function
 * instance took it. The route writes it before answering: an instance may be frozen once it has
 * answered. Without Postgres: in process memory (the relay's default).
 */
export const visitors = postgres ? createVisitorMemory(createPostgresVisitorStore(postgres)) : null;

/** Where accepted events wait for delivery. */
export const outbox: Outbox = postgres ?? new MemoryOutbox({ dryRun: true });
const dryRun = !postgres || !apiKey;

/**
 * The pixel bundle served at /wq/p.js. On Vercel, include it in the function's files:
 * `outputFileTracingIncludes: { '/wq/[...path]': ['./node_modules/whopq/dist/whopq.js'] }` (next.config.mjs).
 */
const bundlePath = process.env.WHOPQ_BUNDLE_PATH || 'node_modules/whopq/dist/whopq.js';
let bundle: Promise<Buffer> | undefined;

// Signed webhooks at /wq/hooks/calendly and /wq/hooks/typeform once their secret is set (docs/SERVER.md).
const calendlySigningKey = process.env.WHOPQ_CALENDLY_SIGNING_KEY || undefined;
const typeformSecret = process.env.WHOPQ_TYPEFORM_SECRET || undefined;
const hooksCompany = process.env.WHOPQ_HOOKS_COMPANY || (companies.length === 1 ? companies[0] : undefined);

export const relay = createRelay({
  outbox,
  companies,
  // The server endpoint POST /wq/s (docs/SERVER.md), its tokens from the environment.
  serverTokens: [...list(process.env.WHOPQ_SERVER_TOKENS), ...list(process.env.WHOPQ_SERVER_TOKEN)],
  visitorMemory: visitors ?? undefined,
  origins: list(process.env.WHOPQ_ORIGINS),
  basePath: '/wq',
  // Read once per instance; a failed read is retried on the next request.
  // The path comes from the environment: tell the bundler not to trace the whole project for it.
  bundle: () =>
    (bundle ??= readFile(/* turbopackIgnore: true */ bundlePath).catch((error) => ((bundle = undefined), Promise.reject(error)))),
  cookieDomain: process.env.WHOPQ_COOKIE_DOMAIN || undefined,
  // WHOPQ_UPSTREAM=events: page views are kept to be sent to Whop's POST /events (the drain route
  // forwards with the same value); default conversions.
  upstream,
  dryRun,
  hasApiKey: !!apiKey,
  production: process.env.NODE_ENV === 'production',
  adminToken: process.env.WHOPQ_ADMIN_TOKEN || undefined,
  hooks: hooksCompany && (calendlySigningKey || typeformSecret) ? { company: hooksCompany, calendlySigningKey, typeformSecret } : undefined,
});
