// The drain: forwards every due event to Whop with the Node forwarder's policy (retries with
// backoff, pauses on a refused key, Retry-After, adaptive concurrency, companies served in turn),
// then answers what it did. Vercel Cron calls it (vercel.json) with `Authorization: Bearer
// $CRON_SECRET`; any scheduler can, with that header. A run killed mid-send loses nothing: its
// leases lapse and the next run sends those events.
import { createHash, timingSafeEqual } from 'node:crypto';
import { createPostgresHolds, drainOutbox } from 'whopq/relay';
import { apiKey, companies, postgres, upstream } from '../../../../lib/whopq';

const secret = process.env.CRON_SECRET || process.env.WHOPQ_DRAIN_SECRET || '';
const digest = (s: string) => createHash('sha256').update(s).digest();

function authorized(request: Request): boolean {
  if (!secret) return false;
  return timingSafeEqual(digest(request.headers.get('authorization') ?? ''), digest(`Bearer ${secret}`));
}

async function drain(request: Request): Promise<Response> {
  if (!authorized(request))
    return Response.json({ error: { type: 'unauthorized', message: 'Send Authorization: Bearer <CRON_SECRET>.' } }, { status: 401 });
  if (!postgres || !apiKey) {
    return Response.json(
      { error: { type: 'not_configured', message: 'Set WHOP_API_KEY and a Postgres URL (DATABASE_URL) to forward.' } },
      { status: 503 },
    );
  }
  try {
    const store = await postgres.opened();
    const report = await drainOutbox({
      outbox: postgres,
      apiKey,
      upstream,
      baseURL: process.env.WHOP_API_BASE_URL || undefined,
      companies: companies.length ? new Set(companies) : null,
      holds: createPostgresHolds(store),
      concurrency: Number(process.env.WHOPQ_FORWARD_CONCURRENCY) || 8,
      maxConcurrency: Number(process.env.WHOPQ_FORWARD_MAX_CONCURRENCY) || 64,
      // Leave room in the function's time limit (maxDuration below) for the sends in flight to settle.
      budgetMs: Number(process.env.WHOPQ_DRAIN_BUDGET_MS) || 40_000,
    });
    return Response.json(report);
  } catch (error) {
    return Response.json(
      { error: { type: 'unavailable', message: `the event store cannot be reached: ${(error as Error).message}` } },
      { status: 503 },
    );
  }
}

export const GET = drain;
export const POST = drain;
export const runtime = 'nodejs';
export const dynamic = 'force-dynamic';
export const maxDuration = 60;
