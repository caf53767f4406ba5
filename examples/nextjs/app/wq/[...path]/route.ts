// The whopq relay as a Next.js App Router route: /wq/e (ingest), /wq/s (server events), /wq/p.js (the
// pixel), /wq/health, /wq/ready, /wq/metrics, /wq/hooks/* (signed webhooks). Each method hands the request to the same core as `whopq relay`.
import { ipFromHeader } from 'whopq/relay';
import { relay, visitors } from '../../../lib/whopq';

/**
 * The visitor's IP. Next.js does not expose the socket, so it comes from a header that only the
 * platform's proxy can set: Vercel writes `x-real-ip` itself and drops a client's copy. Self-hosted
 * behind your own proxy, name its header in WHOPQ_IP_HEADER; with neither, no IP is sent. A list
 * (`x-forwarded-for`) gives its rightmost entry, the one your proxy wrote; a port is removed, and a
 * value that is not an IP gives none.
 */
const ipHeader = process.env.WHOPQ_IP_HEADER || (process.env.VERCEL ? 'x-real-ip' : '');

async function handle(request: Request): Promise<Response> {
  const remoteAddress = ipHeader ? ipFromHeader(request.headers.get(ipHeader)) : undefined;
  const response = await relay.fetch(request, { remoteAddress });
  // Postgres visitor memory: written before the answer, while this invocation surely runs.
  if (visitors) await visitors.flush();
  return response;
}

export const GET = handle;
export const HEAD = handle;
export const POST = handle;
export const OPTIONS = handle;

// Node runtime (the relay uses Web Crypto and Request/Response only, but the outbox you plug in may
// need Node), and never cached: every answer depends on the request.
export const runtime = 'nodejs';
export const dynamic = 'force-dynamic';
