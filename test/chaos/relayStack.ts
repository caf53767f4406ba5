// The in-process stack the fault scenarios run against: the fake Whop API, a SqliteOutbox in a
// temp dir (a real file, WAL), the forwarder with the scenario's timings, createRelay, and serve()
// on an ephemeral port. Every log line is captured (with no redaction, so a key handed to the
// logger would show) for the leak and PII scans.
import { once } from 'node:events';
import { mkdtempSync, rmSync } from 'node:fs';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createRelay, type RelayOptions } from '../../src/relay/createRelay';
import { createForwarder, type Forwarder, type ForwarderOptions } from '../../src/relay/lib/forwarder';
import { createLogger } from '../../src/relay/lib/logger';
import { createMetrics } from '../../src/relay/lib/metrics';
import { serve } from '../../src/relay/node/serve';
import { SqliteOutbox, type SqliteOutboxOptions } from '../../src/relay/node/sqliteOutbox';
import { startFakeWhop, type FakeWhop } from '../fakeWhop';
import { COMPANY } from './events';
import { SCALE } from './scale';

export const CHAOS_KEY = 'k_chaos_secret_7d1e9b';

export interface StackOptions {
  /** The key the relay sends (default CHAOS_KEY, which the fake accepts). */
  apiKey?: string;
  forwarder?: Partial<ForwarderOptions>;
  relay?: Partial<RelayOptions>;
  outbox?: Partial<SqliteOutboxOptions>;
}

export interface ChaosStack {
  /** `http://127.0.0.1:<port>/wq`. */
  base: string;
  whop: FakeWhop;
  outbox: SqliteOutbox;
  forwarder: Forwarder;
  /** The database file. */
  dbPath: string;
  /** Every log line the relay and forwarder wrote. */
  logs: string[];
  close(): Promise<void>;
}

/** Starts the stack; `close()` stops the forwarder, the server, the store and the fake. */
export async function startStack(options: StackOptions = {}): Promise<ChaosStack> {
  const dir = mkdtempSync(join(tmpdir(), 'whopq-chaos-'));
  const whop = await startFakeWhop({ apiKey: CHAOS_KEY });
  const dbPath = join(dir, 'whopq.db');
  const outbox = new SqliteOutbox({ path: dbPath, ...options.outbox });
  const logs: string[] = [];
  const logger = createLogger({ write: (line) => logs.push(line) });
  const metrics = createMetrics();
  const forwarder = createForwarder({
    outbox,
    apiKey: options.apiKey ?? CHAOS_KEY,
    baseURL: whop.url,
    logger,
    metrics,
    timeoutMs: SCALE.timeoutMs,
    backoff: SCALE.backoff,
    pauseProbeMs: 300,
    ...options.forwarder,
  });
  const relay = createRelay({
    outbox,
    companies: [COMPANY],
    hasApiKey: true,
    forwarder,
    logger,
    metrics,
    rateLimit: false,
    ...options.relay,
  });
  const server: Server = serve(relay, { port: 0 });
  await once(server, 'listening');
  forwarder.start();
  return {
    base: `http://127.0.0.1:${(server.address() as AddressInfo).port}/wq`,
    whop,
    outbox,
    forwarder,
    dbPath,
    logs,
    async close() {
      await forwarder.stop();
      server.closeAllConnections();
      await new Promise((r) => server.close(r));
      await outbox.close();
      await whop.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
