// The relay for this Next.js app, configured from the same environment variables as `whopq relay`.
// The outbox decides what a 200 is worth (docs/DEPLOY.md, "Next.js"): MemoryOutbox keeps events
// only while this server instance lives, so on Vercel swap it for a durable one before real traffic.
// Forwarding to Whop belongs to that durable outbox's consumer (a queue or a cron drain), not to this
// route: until one is plugged in, the relay runs as a dry run and /wq/ready says so, rather than
// answering 200 for events nothing will ever send.
import { readFile } from 'node:fs/promises';
import { createRelay, MemoryOutbox, type Outbox } from 'whopq/relay';

const list = (value: string | undefined) => (value ?? '').split(',').map((s) => s.trim()).filter(Boolean);

/** Where accepted events wait for delivery. Replace with a durable outbox (a database table or a queue). */
export const outbox: Outbox = new MemoryOutbox({ dryRun: true });

/**
 * The pixel bundle served at /wq/p.js. On Vercel, include it in the function's files:
 * `outputFileTracingIncludes: { '/wq/[...path]': ['./node_modules/whopq/dist/whopq.js'] }` (next.config.mjs).
 */
const bundlePath = process.env.WHOPQ_BUNDLE_PATH || 'node_modules/whopq/dist/whopq.js';
let bundle: Promise<Buffer> | undefined;

export const relay = createRelay({
  outbox,
  companies: list(process.env.WHOP_COMPANY_ID),
  origins: list(process.env.WHOPQ_ORIGINS),
  basePath: '/wq',
  // Read once per instance; a failed read is retried on the next request.
  bundle: () => (bundle ??= readFile(bundlePath).catch((error) => ((bundle = undefined), Promise.reject(error)))),
  cookieDomain: process.env.WHOPQ_COOKIE_DOMAIN || undefined,
  // WHOPQ_UPSTREAM=events: page views are kept to be sent to Whop's POST /events (give the same value
  // to the forwarder that drains this outbox: createForwarder({ upstream })); default conversions.
  upstream: process.env.WHOPQ_UPSTREAM === 'events' ? 'events' : 'conversions',
  dryRun: true,
  production: process.env.NODE_ENV === 'production',
  adminToken: process.env.WHOPQ_ADMIN_TOKEN || undefined,
});
