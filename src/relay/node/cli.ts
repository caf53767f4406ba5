import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import type { Server } from 'node:http';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createRelay, type Relay } from '../createRelay';
import { createInspector } from '../inspector/index';
import { parseCidrs } from '../lib/clientIp';
import { createForwarder, type Forwarder } from '../lib/forwarder';
import type { Upstream } from '../lib/forwardOne';
import { realInstance } from '../lib/lazyInstance';
import { createLogger, type Logger } from '../lib/logger';
import { createMetrics } from '../lib/metrics';
import { createWhopClient } from '../lib/whopClient';
import { runDemo } from './demo';
import { lockDataDir } from './lockDataDir';
import { createNodeFetch } from './nodeFetch';
import { packageVersion } from './packageVersion';
import { parseCommandLine, type CommandSpec } from './parseCommandLine';
import { configProblems, relayConfigFromEnv, type RelayConfig } from './relayConfig';
import { serve } from './serve';
import { SqliteOutbox } from './sqliteOutbox';
import { createPostgresOutbox, PostgresOutbox } from '../postgres/postgresOutbox';
import { createPostgresHolds } from '../postgres/postgresHolds';
import { createPostgresVisitorStore } from '../postgres/postgresVisitorStore';
import { createVisitorMemory } from '../lib/visitorMemory';
import { createSqliteVisitorStore } from './sqliteVisitorStore';

export { configProblems, relayConfigFromEnv, serve };
export type { RelayConfig };

export interface StartRelayExtras {
  /** Answers what the relay does not serve (paths outside basePath), e.g. the demo pages. Undefined → 404. */
  fallback?: (request: Request) => Promise<Response | null | undefined>;
  /** Where the startup summary goes. Default console.log; pass `() => {}` to silence it. */
  print?: (line: string) => void;
  /** JSON-lines logger. Default one writing to stdout with the key and admin token redacted. */
  logger?: Logger;
  /** The pixel bundle file. Default dist/whopq.js next to this build. */
  bundlePath?: string;
  /** The pixel's debug build, served at `<basePath>/p.debug.js`. Default: bundlePath with `.debug.js` (dist/whopq.debug.js). */
  debugBundlePath?: string;
  /** The relay's clock for ingest and visitor memory (tests move it). Default Date.now. */
  now?: () => number;
}

/** A started relay: close() stops the server, lets in-flight sends settle and closes the store. */
export interface RunningRelay {
  url: string;
  server: Server;
  relay: Relay;
  outbox: SqliteOutbox | PostgresOutbox;
  forwarder: Forwarder | null;
  close(): Promise<void>;
}

/** How long close() waits for requests in flight before it drops their connections. */
const _DRAIN_MS = 10_000;

/** dist/whopq.js, found from dist/relay/cli.js (built) or src/relay/node/cli.ts (source). */
function _defaultBundle(): string {
  const here = fileURLToPath(new URL('.', import.meta.url));
  const candidates = [resolve(here, '../whopq.js'), resolve(here, '../../../dist/whopq.js'), resolve('dist/whopq.js')];
  return candidates.find((p) => existsSync(p)) ?? candidates[0]!;
}

/**
 * Starts the Node relay from a configuration: SQLite outbox in `dataDir`, the forwarder when a key
 * is set, the inspector in dry-run or with an admin token, the pixel bundle at `<basePath>/p.js` (and
 * its debug build at `p.debug.js`),
 * and `fallback` for every other path (how `whopq demo` serves its pages around the relay).
 * Throws, before listening, when the configuration has errors.
 */
export async function startRelay(config: RelayConfig, extras: StartRelayExtras = {}): Promise<RunningRelay> {
  const print = extras.print ?? ((line: string) => console.log(line));
  const { errors, warnings } = configProblems(config);
  try {
    parseCidrs(config.trustedProxies);
  } catch (error) {
    errors.push(`WHOPQ_TRUSTED_PROXIES: ${(error as Error).message}`);
  }
  if (errors.length) throw new Error(errors.join('\n'));

  const secrets = [
    config.apiKey,
    config.adminToken,
    ...config.serverTokens,
    config.calendlySigningKey,
    config.typeformSecret,
    _urlPassword(config.databaseUrl),
  ].filter((s): s is string => !!s);
  const logger = extras.logger ?? createLogger({ secrets });
  const dryRun = !config.apiKey && !config.production;
  let outbox: SqliteOutbox | PostgresOutbox;
  let unlock = () => {};
  if (config.databaseUrl) {
    // Shared by any number of relays: no data directory, no lock.
    outbox = await createPostgresOutbox({
      connectionString: config.databaseUrl,
      schema: config.databaseSchema,
      poolSize: config.databasePool,
      dryRun,
    });
  } else {
    mkdirSync(config.dataDir, { recursive: true });
    unlock = lockDataDir(config.dataDir);
    try {
      outbox = new SqliteOutbox({ path: join(config.dataDir, 'whopq.db'), dryRun });
    } catch (error) {
      unlock();
      throw error;
    }
  }
  // Visitor memory next to the outbox: its table in Postgres, its own file in the data directory.
  let memory: ReturnType<typeof createVisitorMemory>;
  try {
    memory = createVisitorMemory(
      outbox instanceof PostgresOutbox ? createPostgresVisitorStore(outbox) : createSqliteVisitorStore(join(config.dataDir, 'visitors.db')),
      { logger, now: extras.now },
    );
  } catch (error) {
    await outbox.close();
    unlock();
    throw error;
  }
  const metrics = createMetrics();
  // Keep-alive sockets for every send the adaptive limit may have in flight.
  const transport = config.apiKey ? createNodeFetch({ maxSockets: config.forwardMaxConcurrency }) : null;
  const forwarder = config.apiKey
    ? createForwarder({
        outbox,
        apiKey: config.apiKey,
        baseURL: config.baseURL,
        client: createWhopClient({
          apiKey: config.apiKey,
          baseURL: config.baseURL,
          timeoutMs: config.forwardTimeoutSeconds * 1000,
          fetch: transport!.fetch,
        }),
        upstream: _upstream(config),
        concurrency: config.forwardConcurrency,
        maxConcurrency: config.forwardMaxConcurrency,
        timeoutMs: config.forwardTimeoutSeconds * 1000,
        pauseProbeMs: config.pauseProbeSeconds * 1000,
        companies: config.companies.length ? new Set(config.companies) : null,
        logger,
        metrics,
        holds: outbox instanceof PostgresOutbox ? createPostgresHolds(outbox) : undefined,
      })
    : null;
  if (forwarder) {
    metrics.describe(
      'outcome_store_seconds',
      "From Whop's answer until the outbox has stored it: a crash in this window sends that event again (Whop dedups it).",
    );
    metrics.gauge('forward_concurrency', 'Sends to Whop allowed in flight now (the adaptive limit).', () => [
      { value: forwarder.status().concurrency ?? 0 },
    ]);
    metrics.gauge(
      'forward_in_flight',
      'Events claimed and not yet settled (sent to Whop, or waiting for their outcome to be stored).',
      () => [{ value: forwarder.status().inFlight ?? 0 }],
    );
  }

  const bundlePath = extras.bundlePath ?? _defaultBundle();
  let bundle: Uint8Array | undefined;
  try {
    bundle = readFileSync(bundlePath);
  } catch {
    warnings.push(`The pixel bundle ${bundlePath} is missing (run npm run build): ${config.basePath}/p.js answers 404.`);
  }
  // Optional: without it p.debug.js answers 404 and the snippet falls back to p.js.
  let debugBundle: Uint8Array | undefined;
  try {
    debugBundle = readFileSync(extras.debugBundlePath ?? bundlePath.replace(/\.js$/, '.debug.js'));
  } catch {}
  // Dry run shows visitors' events without a token: only on loopback, unless a token is set.
  const loopback = /^(127\.|::1$|localhost$|\[::1\]$)/.test(config.host);
  if (dryRun && !config.adminToken && !loopback)
    warnings.push(`The inspector is off: dry run listens on ${config.host} without WHOPQ_ADMIN_TOKEN (set it, or HOST=127.0.0.1).`);
  const inspector =
    (dryRun && (loopback || config.adminToken)) || config.adminToken
      ? createInspector({ outbox, token: config.adminToken, production: config.production, secrets, label: dryRun ? 'dry-run' : '' })
      : undefined;

  const relay = createRelay({
    outbox,
    companies: config.companies.length ? config.companies : undefined,
    origins: config.origins.length ? config.origins : undefined,
    trustedProxies: config.trustedProxies,
    ipHeader: config.ipHeader,
    basePath: config.basePath,
    bundle,
    debugBundle,
    cookieDomain: config.cookieDomain,
    piiParams: config.piiParams,
    rateLimit: config.rateLimit,
    upstream: _upstream(config),
    dryRun,
    hasApiKey: !!config.apiKey,
    forwarder: forwarder ?? undefined,
    logger,
    metrics,
    adminToken: config.adminToken,
    serverTokens: config.serverTokens,
    visitorMemory: memory,
    now: extras.now,
    production: config.production,
    inspector,
    hooks:
      config.hooksCompany && (config.calendlySigningKey || config.typeformSecret)
        ? {
            company: config.hooksCompany,
            calendlySigningKey: config.calendlySigningKey,
            typeformSecret: config.typeformSecret,
            typeformEvents: config.typeformEvents,
          }
        : undefined,
  });
  const base = config.basePath.replace(/\/+$/, '');
  const handler = {
    async fetch(request: Request, conn?: { remoteAddress?: string }): Promise<Response> {
      let path: string;
      try {
        path = new URL(request.url).pathname;
      } catch {
        return relay.fetch(request, conn); // A URL that does not parse: the relay answers its 400.
      }
      if (path === base || path.startsWith(base + '/') || !extras.fallback) return relay.fetch(request, conn);
      // The site's own handler may pass the request on (`new Request(request, init)`, `fetch`), which
      // only a real Request survives: it never gets serve()'s lazy one.
      const real = realInstance(request);
      return (await extras.fallback(real)) ?? relay.fetch(real, conn);
    },
  };

  const server = serve(handler, {
    port: config.port,
    host: config.host,
    trustedProxies: config.trustedProxies,
    maxConnectionsPerIp: config.connectionsPerIp,
  });
  try {
    await new Promise<void>((ok, fail) => {
      server.once('listening', ok);
      server.once('error', fail);
    });
  } catch (error) {
    await outbox.close();
    unlock();
    throw error;
  }
  forwarder?.start();
  const address = server.address();
  const port = typeof address === 'object' && address ? address.port : config.port;
  const shownHost =
    config.host === '0.0.0.0' || config.host === '::' ? 'localhost' : config.host.includes(':') ? `[${config.host}]` : config.host;
  const url = `http://${shownHost}:${port}`;

  print(`whopq relay listening on ${url} (${config.host}:${port})`);
  print(
    dryRun
      ? '  mode: dry-run — events are validated and stored, nothing is sent to Whop; events accepted now stay unsent even after WHOP_API_KEY is set (set it to forward new ones)'
      : config.apiKey
        ? `  mode: forwarding to ${config.baseURL}/${_upstream(config)} for ${config.companies.length ? config.companies.join(', ') : 'any company'}, ${config.forwardConcurrency} to ${config.forwardMaxConcurrency} at once`
        : '  mode: holding — events are stored until WHOP_API_KEY is set',
  );
  print(
    `  ingest:  POST ${url}${base}/e   server events: POST ${url}${base}/s${config.serverTokens.length ? '' : ' (set WHOPQ_SERVER_TOKENS)'}`,
  );
  const hooks = [config.calendlySigningKey && 'calendly', config.typeformSecret && 'typeform'].filter(Boolean);
  if (hooks.length) print(`  hooks:   ${hooks.map((h) => `POST ${url}${base}/hooks/${h}`).join('   ')} (for ${config.hooksCompany})`);
  print(`  pixel:   ${url}${base}/p.js`);
  print(`  health:  ${url}${base}/health   ready: ${url}${base}/ready   metrics: ${url}${base}/metrics`);
  if (inspector) print(`  inspect: ${url}${base}/inspect${config.adminToken ? '?token=…' : ''}`);
  print(
    `  store:   ${config.databaseUrl ? `Postgres ${_redactUrl(config.databaseUrl)} (schema ${config.databaseSchema}), shared by every relay on it` : resolve(config.dataDir, 'whopq.db')}`,
  );
  for (const w of warnings) print(`  note: ${w}`);

  let closing: Promise<void> | null = null;
  return {
    url,
    server,
    relay,
    outbox,
    forwarder,
    close() {
      closing ??= (async () => {
        // Requests in flight are answered; keep-alive connections close as they fall idle (node:http
        // would hold them to their keep-alive timeout), stragglers at the deadline.
        await new Promise<void>((done) => {
          const idle = setInterval(() => server.closeIdleConnections(), 100);
          const deadline = setTimeout(() => server.closeAllConnections(), _DRAIN_MS);
          server.close(() => (clearInterval(idle), clearTimeout(deadline), done()));
          server.closeIdleConnections();
        });
        try {
          await forwarder?.stop();
          transport?.close();
          await memory.close().catch(() => {});
          await outbox.close();
        } finally {
          unlock();
        }
      })();
      return closing;
    },
  };
}

/** The checked WHOPQ_UPSTREAM (configProblems refuses anything else before this is read). */
const _upstream = (config: RelayConfig): Upstream => (config.upstream === 'events' ? 'events' : 'conversions');

function _urlPassword(url: string | undefined): string | undefined {
  try {
    return url ? decodeURIComponent(new URL(url).password) || undefined : undefined;
  } catch {
    return undefined;
  }
}

/** A connection URL without its password, for the startup summary. */
function _redactUrl(url: string): string {
  try {
    const u = new URL(url);
    if (u.password) u.password = '***';
    return u.toString();
  } catch {
    return 'postgres://…';
  }
}

/** `whopq relay`: starts from the environment and closes cleanly on SIGTERM/SIGINT. */
export async function runRelay(env: Record<string, string | undefined> = process.env): Promise<RunningRelay> {
  const starting = startRelay(relayConfigFromEnv(env));
  closeOnSignals({ close: () => starting.then((r) => r.close()) });
  return starting;
}

/**
 * Closes a running (or starting) relay on SIGTERM/SIGINT; a second signal exits at once. Call it
 * before the port opens: a SIGTERM meeting no listener ends the process with the store unclosed.
 */
export function closeOnSignals(running: { close(): Promise<void> }): void {
  let stopping = false;
  const stop = (signal: string) => {
    if (stopping) process.exit(1);
    stopping = true;
    console.log(`whopq: ${signal}, closing (finishing sends in flight)…`);
    running.close().then(
      () => process.exit(0),
      () => process.exit(1),
    );
  };
  process.on('SIGTERM', () => stop('SIGTERM'));
  process.on('SIGINT', () => stop('SIGINT'));
  // Under npm (`npx whopq relay`, an npm script) the parent is a shell that npm's forwarded SIGTERM
  // ends without passing it on: the parent going away is that signal.
  if (process.env.npm_lifecycle_event) {
    const parent = process.ppid;
    setInterval(() => process.ppid !== parent && stop('parent process exited'), 500).unref();
  }
}

/** The relay's environment, for `whopq relay --help` (the README's configuration table in short). */
const _RELAY_ENV = `Configured by environment variables:
  WHOP_API_KEY               your Whop API key (unset: dry-run)
  WHOP_COMPANY_ID            allowed company ids, comma-separated (unset: any; required in production)
  WHOPQ_ORIGINS              page origins allowed to post, e.g. https://shop.example (unset: any)
  WHOPQ_TRUSTED_PROXIES      IPs/CIDRs whose WHOPQ_IP_HEADER is believed
  WHOPQ_IP_HEADER            the one header those proxies set with the client IP (x-forwarded-for)
  WHOPQ_MAX_CONNECTIONS_PER_IP  open connections from one address, trusted proxies excepted (64)
  PORT, HOST                 where it listens (8787, 0.0.0.0; 127.0.0.1 in dry run)
  WHOPQ_DATA_DIR             the SQLite outbox's directory, one relay per directory (./.data)
  WHOPQ_DATABASE_URL         a postgres:// URL (or DATABASE_URL): the outbox in Postgres, shared by many relays
  WHOPQ_DATABASE_SCHEMA      the Postgres schema for whopq's tables (whopq)
  WHOPQ_DATABASE_POOL        Postgres connections per relay process (4)
  WHOPQ_BASE_PATH            the mount path (/wq)
  WHOPQ_COOKIE_DOMAIN        registrable domain for the relay's cookies (host-only)
  WHOPQ_PII_PARAMS           query parameters removed from stored URLs, comma list (email, phone, token, …)
  WHOPQ_ADMIN_TOKEN          protects /metrics and /inspect
  WHOPQ_SERVER_TOKENS        bearer tokens of the server endpoint POST /wq/s, comma list (WHOPQ_SERVER_TOKEN: one)
  WHOPQ_CALENDLY_SIGNING_KEY Calendly's webhook signing key: serves POST /wq/hooks/calendly (unset: 404)
  WHOPQ_TYPEFORM_SECRET      Typeform's webhook secret: serves POST /wq/hooks/typeform (unset: 404)
  WHOPQ_TYPEFORM_EVENTS      <form id>=<event name>, comma list: a form's event other than lead
  WHOPQ_HOOKS_COMPANY        the company webhook events belong to (WHOP_COMPANY_ID when it lists one)
  WHOPQ_PRODUCTION           no dry-run without a key; admin pages need the token (also NODE_ENV=production)
  WHOPQ_RATE_LIMIT           per-IP ingest limit <perSecond>,<burst> or off (20,60)
  WHOPQ_FORWARD_CONCURRENCY  sends to Whop in flight at the start (8); grows while Whop answers fast
  WHOPQ_FORWARD_MAX_CONCURRENCY  the most sends in flight (128); set equal to the above for a fixed number
  WHOPQ_PAUSE_PROBE_SECONDS  after Whop refuses the key, seconds until one event probes again (30)
  WHOPQ_FORWARD_TIMEOUT_SECONDS  how long one send to Whop may take; a claimed event is leased 2x this + 5 s (10)
  WHOP_API_BASE_URL          Whop's API (https://api.whop.com/api/v1)
  WHOPQ_UPSTREAM             conversions (POST /conversions) or events (POST /events, page views too) (conversions)
SIGTERM or SIGINT closes it: requests in flight are answered, sends in flight settle, the store closes.`;

/** Subcommands of the `whopq` binary: what `--help` shows and what runs (args already checked by parseCommandLine). */
export const commands: Record<string, CommandSpec & { run: (args: string[]) => Promise<unknown> }> = {
  relay: {
    summary: 'start the relay (configured by environment variables)',
    usage: 'whopq relay',
    details: _RELAY_ENV,
    run: () => runRelay(),
  },
  demo: {
    summary: 'the demo landing page, relay and event inspector on one port (npm start)',
    usage: 'whopq demo [--pages <dir>]',
    options: { pages: { type: 'string', valueName: 'dir', description: 'also serve your own pages from <dir> under /t/' } },
    details: 'Dry-run unless WHOP_API_KEY and WHOP_COMPANY_ID are set; PORT (8787), HOST (127.0.0.1), WHOPQ_DATA_DIR (a temp dir).',
    run: (args) => runDemo(args),
  },
};

/** The `whopq` binary's entry (bin/whopq.mjs). Usage errors exit 2, failures to start exit 1. */
export async function main(argv: string[]): Promise<void> {
  const line = parseCommandLine(argv, commands);
  if (line.kind === 'help') return void console.log(line.text);
  if (line.kind === 'version') return void console.log(packageVersion());
  if (line.kind === 'usage-error') {
    console.error(line.message);
    process.exitCode = 2;
    return;
  }
  try {
    await commands[line.command]!.run(line.args);
  } catch (error) {
    console.error(`whopq ${line.command}: ${(error as Error).message}`);
    process.exit(1);
  }
}
