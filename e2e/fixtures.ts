// The stack every scenario runs against, started fresh per test: the fake Whop API (validating
// each body against the vendored spec) and the built relay as a real process (`whopq demo`, from
// dist/) forwarding to it, with its own temporary data dir, on an ephemeral port, serving the demo
// site and the test pages (e2e/pages at /t/). The browser context is watched so scenarios can
// also say what left the page.
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type BrowserContext, test as base, expect } from '@playwright/test';
import type { Conversion } from '../src/shared/conversion';
import type { InspectorData } from '../src/relay/inspector';
import { type FakeWhop, startFakeWhop } from '../test/fakeWhop';
import { type ExpectConversionsOptions, type ExpectedConversion, expectConversions } from './expectConversions';

const ROOT = join(import.meta.dirname, '..');
const KEY = 'e2e_whop_key_do_not_leak';
/** Forwarding for real, the inspector needs its token (the demo would make one up and print it). */
const TOKEN = 'e2e_inspector_token';

/** An event as the browser sent it to the relay. */
export type SentEvent = Conversion;

export interface Stack {
  /** The site's origin (relay and pages), e.g. http://127.0.0.1:41234. */
  origin: string;
  /** The inspector page's URL, token included. */
  inspectorUrl: string;
  whop: FakeWhop;
  /** Stops the relay process (connections are refused until `relayUp`). */
  relayDown(): Promise<void>;
  /** Starts it again on the same port with the same data dir. */
  relayUp(): Promise<void>;
  /** Asserts what the fake Whop API finally accepted (see expectConversions.ts). */
  expectConversions(expected: ExpectedConversion[], options?: Omit<ExpectConversionsOptions, 'drained'>): Promise<Conversion[]>;
  /** The inspector's data, as its page reads it. */
  inspect(): Promise<InspectorData>;
  /** Every event the watched contexts sent to the relay (fetch and beacon), resends included. */
  sentEvents(): SentEvent[];
  /** Sends to the relay that failed at the network level (relay down). */
  failedSends(): number;
  /** Requests for the pixel bundle. */
  scriptLoads(): number;
  /** Watches another browser context (the default one is watched already). */
  watch(context: BrowserContext): void;
  /** What the relay process printed. */
  output(): string;
}

const INGEST = /\/wq\/e(\?|$)/;

class RelayProcess {
  _child: ChildProcess | undefined;
  _log = '';
  port = 0;

  constructor(
    private readonly _env: NodeJS.ProcessEnv,
    private readonly _args: string[],
  ) {}

  /** Starts `whopq demo` and resolves with its origin once it prints that it listens. */
  async start(): Promise<string> {
    const child = spawn(process.execPath, [join(ROOT, 'bin/whopq.mjs'), 'demo', ...this._args], {
      cwd: ROOT,
      env: { ...this._env, PORT: String(this.port) },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    this._child = child;
    return await new Promise<string>((resolve, reject) => {
      const timer = setTimeout(() => fail(new Error('the relay did not start within 15 s')), 15_000);
      const fail = (e: Error) => (clearTimeout(timer), reject(new Error(`${e.message}\n--- relay output ---\n${this._log}`)));
      const onData = (chunk: Buffer) => {
        this._log += chunk.toString();
        const m = /http:\/\/127\.0\.0\.1:(\d+)/.exec(this._log.slice(this._log.lastIndexOf('whopq demo')));
        if (m) {
          clearTimeout(timer);
          this.port = Number(m[1]);
          resolve(`http://127.0.0.1:${this.port}`);
        }
      };
      child.stdout!.on('data', onData);
      child.stderr!.on('data', (c: Buffer) => (this._log += c.toString()));
      child.once('exit', (code) => fail(new Error(`the relay exited with code ${code} before listening`)));
    });
  }

  /** SIGTERM, then waits for the exit (SIGKILL after 5 s). */
  async stop(): Promise<void> {
    const child = this._child;
    this._child = undefined;
    if (!child || child.exitCode !== null) return;
    const exited = new Promise<void>((r) => child.once('exit', () => r()));
    child.kill('SIGTERM');
    const t = setTimeout(() => child.kill('SIGKILL'), 5_000);
    await exited;
    clearTimeout(t);
  }
}

export const test = base.extend<{ stack: Stack; stackEnv: Record<string, string> }>({
  /** More relay environment for a file (`test.use({ stackEnv: { WHOPQ_UPSTREAM: 'events' } })`). */
  stackEnv: [{}, { option: true }],
  stack: async ({ context, stackEnv }, use, testInfo) => {
    const whop = await startFakeWhop({ apiKey: KEY });
    const dataDir = mkdtempSync(join(tmpdir(), 'whopq-e2e-'));
    const relay = new RelayProcess(
      {
        PATH: process.env.PATH,
        HOME: process.env.HOME,
        HOST: '127.0.0.1',
        WHOP_API_KEY: KEY,
        WHOP_COMPANY_ID: 'biz_demo',
        WHOP_API_BASE_URL: whop.url,
        WHOPQ_DATA_DIR: dataDir,
        WHOPQ_ADMIN_TOKEN: TOKEN,
        ...stackEnv,
      },
      ['--pages', join(ROOT, 'e2e/pages')],
    );
    const origin = await relay.start();

    const sent: SentEvent[] = [];
    let failed = 0;
    let scripts = 0;
    const watch = (ctx: BrowserContext) => {
      ctx.on('request', (r) => {
        const path = new URL(r.url()).pathname;
        if (path.startsWith('/wq/p')) scripts++;
        if (r.method() !== 'POST' || !INGEST.test(r.url())) return;
        try {
          const body = JSON.parse(r.postData() ?? '') as { events?: SentEvent[] } | SentEvent;
          sent.push(...('events' in body && Array.isArray(body.events) ? body.events : [body as SentEvent]));
        } catch {
          // Not JSON: the relay will say so; nothing to record.
        }
      });
      ctx.on('requestfailed', (r) => {
        if (INGEST.test(r.url())) failed++;
      });
    };
    watch(context);

    const inspect = async (): Promise<InspectorData> => {
      const res = await fetch(`${origin}/wq/inspect/data.json?limit=500`, { headers: { authorization: `Bearer ${TOKEN}` } });
      if (!res.ok) throw new Error(`inspector answered ${res.status}`);
      return (await res.json()) as InspectorData;
    };

    const stack: Stack = {
      origin,
      inspectorUrl: `${origin}/wq/inspect?token=${TOKEN}`,
      whop,
      relayDown: () => relay.stop(),
      relayUp: async () => void (await relay.start()),
      expectConversions: (expected, options) =>
        expectConversions(whop, expected, {
          ...options,
          drained: async () => {
            const { counts } = await inspect();
            return counts.pending + counts.retrying === 0;
          },
        }),
      inspect,
      sentEvents: () => [...sent],
      failedSends: () => failed,
      scriptLoads: () => scripts,
      watch,
      output: () => relay._log,
    };

    await use(stack);

    await relay.stop();
    if (testInfo.status !== testInfo.expectedStatus) await testInfo.attach('relay output', { body: relay._log, contentType: 'text/plain' });
    expect(relay._log, 'the relay printed the Whop API key').not.toContain(KEY);
    await whop.close();
    rmSync(dataDir, { recursive: true, force: true });
  },
});

export { expect };
