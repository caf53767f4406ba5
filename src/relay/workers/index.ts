// The relay on Cloudflare Workers: the same Fetch handler as on Node, a Cloudflare Queue as the
// outbox, a Queue consumer forwarding to Whop, and a Durable Object per company as the dedup ledger.
// wrangler.toml: examples/cloudflare/wrangler.toml. Deploy notes: docs/DEPLOY.md.
import type { OutboxInput } from '../lib/outbox';
import { createLogger } from '../lib/logger';
import { createWhopClient } from '../lib/whopClient';
import type { CfExecutionContext, CfMessageBatch } from './cloudflare';
import { consumeBatch } from './consumer';
import { createWorkerRelay, workerUpstream } from './createWorkerRelay';
import type { WorkerEnv } from './env';

/** The Worker: `fetch` serves /wq/* (ingest writes to the Queue), `queue` delivers to Whop. */
const worker = {
  async fetch(request: Request, env: WorkerEnv, _ctx?: CfExecutionContext): Promise<Response> {
    if (env.WHOP_API_KEY && !env.WHOP_COMPANY_ID?.trim()) {
      // A Worker is public: without the allowlist anyone could send any company's events with this key.
      return new Response(
        JSON.stringify({
          error: {
            type: 'service_unavailable',
            message: 'WHOP_COMPANY_ID is not set: the relay serves only the companies listed there.',
            code: 'misconfigured',
            param: null,
          },
        }),
        { status: 503, headers: { 'content-type': 'application/json' } },
      );
    }
    const { relay, basePath, refreshPaused, memory } = createWorkerRelay(env);
    if (new URL(request.url).pathname === `${basePath}/ready`) await refreshPaused();
    // Cloudflare sets CF-Connecting-IP itself (a client cannot forge it through Cloudflare's edge).
    const response = await relay.fetch(request, { remoteAddress: request.headers.get('cf-connecting-ip') ?? undefined });
    // The visitor memory's batched writes, after the answer: a Worker's timers do not outlive the request.
    if (memory) {
      const flushed = memory.flush().catch(() => {});
      if (_ctx) _ctx.waitUntil(flushed);
      else await flushed;
    }
    return response;
  },
  async queue(batch: CfMessageBatch<OutboxInput>, env: WorkerEnv, _ctx?: CfExecutionContext): Promise<void> {
    if (!env.WHOP_API_KEY) {
      // Dry run: ingest never enqueues without a key, so this only drains messages from an older deploy.
      for (const message of batch.messages) message.retry({ delaySeconds: 300 });
      return;
    }
    await consumeBatch(batch, {
      dedup: env.WHOPQ_DEDUP,
      upstream: workerUpstream(env),
      client: createWhopClient({ apiKey: env.WHOP_API_KEY, baseURL: env.WHOP_API_BASE_URL || undefined }),
      deadLetters: env.WHOPQ_DLQ,
      requeue: env.WHOPQ_QUEUE,
      maxAttempts: _int(env.WHOPQ_MAX_ATTEMPTS),
      backoff: { baseMs: _int(env.WHOPQ_BACKOFF_BASE_MS) },
      logger: createLogger({ quiet: true, secrets: [env.WHOP_API_KEY] }),
    });
  },
};

const _int = (value: string | undefined): number | undefined => (value && /^\d+$/.test(value) ? Number(value) : undefined);

export default worker;
export { DedupStore } from './dedupStore';
export { VisitorMemoryStore } from './visitorMemoryStore';
export { QueueOutbox } from './queueOutbox';
export type { QueueOutboxOptions } from './queueOutbox';
export { consumeBatch } from './consumer';
export type { ConsumerOptions, DeadLetter } from './consumer';
export type { WorkerEnv } from './env';
