import { EVENT_NAMES } from '../../shared/conversion';
import { envList, envPairs } from '../lib/envList';

/** Everything `whopq relay` needs, as read from the environment. */
export interface RelayConfig {
  /** WHOP_API_KEY. Absent: dry-run (unless production). */
  apiKey?: string;
  /** WHOP_COMPANY_ID, comma list. Empty: any company accepted. */
  companies: string[];
  /** WHOPQ_ORIGINS, comma list of page origins. Empty: any origin. */
  origins: string[];
  /** WHOPQ_TRUSTED_PROXIES, comma list of IPs/CIDRs. */
  trustedProxies: string[];
  /** WHOPQ_IP_HEADER: the one header the trusted proxy sets with the client IP. Default x-forwarded-for. */
  ipHeader: string;
  /** WHOPQ_MAX_CONNECTIONS_PER_IP: open connections from one address (trusted proxies excepted), 1–100000. Default 64. */
  connectionsPerIp: number;
  /** PORT, default 8787. */
  port: number;
  /**
   * HOST, default 0.0.0.0 (every interface: the relay sits behind the site's proxy or in a
   * container), but 127.0.0.1 in dry run (no key, not production): its inspector shows visitors' data.
   */
  host: string;
  /** WHOPQ_DATA_DIR, default ./.data (holds whopq.db). */
  dataDir: string;
  /** WHOP_API_BASE_URL, default https://api.whop.com/api/v1. */
  baseURL: string;
  /** WHOPQ_UPSTREAM: `conversions` (POST /conversions, default) or `events` (POST /events). Anything else is a config error. */
  upstream: string;
  /** WHOPQ_ADMIN_TOKEN: protects /metrics and the inspector. */
  adminToken?: string;
  /** WHOPQ_SERVER_TOKENS (comma list) and WHOPQ_SERVER_TOKEN: bearer tokens of the server endpoint `/s` (RelayOptions.serverTokens). */
  serverTokens: string[];
  /** WHOPQ_PRODUCTION=1|true: no dry-run without a key, metrics/inspector only with a token. */
  production: boolean;
  /** WHOPQ_BASE_PATH, default /wq. */
  basePath: string;
  /** WHOPQ_COOKIE_DOMAIN: the registrable domain for the relay's cookies. Default host-only. */
  cookieDomain?: string;
  /** WHOPQ_PII_PARAMS: query parameter names removed from stored URLs (comma list). Default: the built-in list. */
  piiParams?: string[];
  /** WHOPQ_RATE_LIMIT: `<perSecond>[,<burst>]` per IP on ingest, or `off`. Default 20,60. */
  rateLimit: { perSecond: number; burst: number } | false;
  /** WHOPQ_FORWARD_CONCURRENCY: sends to Whop in flight at once, 1–256. Default 8 (the drain rate is about this ÷ Whop's latency). */
  forwardConcurrency: number;
  /** WHOPQ_PAUSE_PROBE_SECONDS: after Whop refuses the key (401/403/404), how long before one event probes again. Default 30. */
  pauseProbeSeconds: number;
  /** WHOPQ_FORWARD_MAX_CONCURRENCY: the adaptive limit's bound (it starts at forwardConcurrency), 1–1024. Default 128; equal to forwardConcurrency for a fixed limit. */
  forwardMaxConcurrency: number;
  /** WHOPQ_FORWARD_TIMEOUT_SECONDS: how long one send to Whop may take; a claimed event's lease is twice this plus 5 s. Default 10. */
  forwardTimeoutSeconds: number;
  /** WHOPQ_DATABASE_URL (or DATABASE_URL): a Postgres outbox shared by every relay on it, instead of SQLite in dataDir. */
  databaseUrl?: string;
  /** WHOPQ_DATABASE_SCHEMA: the Postgres schema for whopq's tables. Default whopq. */
  databaseSchema: string;
  /** WHOPQ_DATABASE_POOL: most Postgres connections per relay process, 2–100. Default 4. */
  databasePool: number;
  /** WHOPQ_CALENDLY_SIGNING_KEY: serves `POST <basePath>/hooks/calendly` (docs/SERVER.md). Unset: that route is 404. */
  calendlySigningKey?: string;
  /** WHOPQ_TYPEFORM_SECRET: serves `POST <basePath>/hooks/typeform`. Unset: that route is 404. */
  typeformSecret?: string;
  /** WHOPQ_TYPEFORM_EVENTS: `<form id>=<event name>` comma list (e.g. `lT4Z3j=submit_application`); other forms send `lead`. */
  typeformEvents: Record<string, string>;
  /** WHOPQ_HOOKS_COMPANY: the company webhook events belong to. Default: WHOP_COMPANY_ID when it lists one. */
  hooksCompany?: string;
}

const _flag = (v: string | undefined) => /^(1|true|yes|on)$/i.test((v ?? '').trim());

function _rate(v: string | undefined): RelayConfig['rateLimit'] {
  const s = (v ?? '').trim();
  if (/^(off|false|0)$/i.test(s)) return false;
  const [rate, burst] = s.split(',').map(Number);
  const perSecond = rate && rate > 0 ? rate : 20;
  return { perSecond, burst: burst && burst > 0 ? burst : Math.max(perSecond * 3, 1) };
}

/** A number from the environment, or `fallback` when unset; NaN when set but not a number (configProblems names it). */
function _number(v: string | undefined, fallback: number): number {
  const s = (v ?? '').trim();
  return s === '' ? fallback : Number(s);
}

/** Reads the relay's configuration from environment variables (names in `RelayConfig`). */
export function relayConfigFromEnv(env: Record<string, string | undefined>): RelayConfig {
  const port = Number(env.PORT ?? 8787);
  return {
    apiKey: env.WHOP_API_KEY?.trim() || undefined,
    companies: envList(env.WHOP_COMPANY_ID),
    origins: envList(env.WHOPQ_ORIGINS),
    trustedProxies: envList(env.WHOPQ_TRUSTED_PROXIES),
    ipHeader: env.WHOPQ_IP_HEADER?.trim().toLowerCase() || 'x-forwarded-for',
    connectionsPerIp: _number(env.WHOPQ_MAX_CONNECTIONS_PER_IP, 64),
    port: Number.isInteger(port) && port >= 0 && port < 65536 ? port : 8787,
    host:
      env.HOST?.trim() ||
      (!env.WHOP_API_KEY?.trim() && !(_flag(env.WHOPQ_PRODUCTION) || env.NODE_ENV === 'production') ? '127.0.0.1' : '0.0.0.0'),
    dataDir: env.WHOPQ_DATA_DIR?.trim() || './.data',
    baseURL: env.WHOP_API_BASE_URL?.trim() || 'https://api.whop.com/api/v1',
    upstream: env.WHOPQ_UPSTREAM?.trim().toLowerCase() || 'conversions',
    adminToken: env.WHOPQ_ADMIN_TOKEN?.trim() || undefined,
    serverTokens: [...new Set([...envList(env.WHOPQ_SERVER_TOKENS), env.WHOPQ_SERVER_TOKEN?.trim() ?? ''])].filter(Boolean),
    production: _flag(env.WHOPQ_PRODUCTION) || env.NODE_ENV === 'production',
    basePath: env.WHOPQ_BASE_PATH?.trim() || '/wq',
    cookieDomain: env.WHOPQ_COOKIE_DOMAIN?.trim() || undefined,
    piiParams:
      env.WHOPQ_PII_PARAMS?.split(',')
        .map((s) => s.trim())
        .filter(Boolean) || undefined,
    rateLimit: _rate(env.WHOPQ_RATE_LIMIT),
    forwardConcurrency: _number(env.WHOPQ_FORWARD_CONCURRENCY, 8),
    pauseProbeSeconds: _number(env.WHOPQ_PAUSE_PROBE_SECONDS, 30),
    forwardMaxConcurrency: _number(env.WHOPQ_FORWARD_MAX_CONCURRENCY, Math.max(128, _number(env.WHOPQ_FORWARD_CONCURRENCY, 8))),
    forwardTimeoutSeconds: _number(env.WHOPQ_FORWARD_TIMEOUT_SECONDS, 10),
    databaseUrl: env.WHOPQ_DATABASE_URL?.trim() || env.DATABASE_URL?.trim() || undefined,
    databaseSchema: env.WHOPQ_DATABASE_SCHEMA?.trim() || 'whopq',
    databasePool: _number(env.WHOPQ_DATABASE_POOL, 4),
    calendlySigningKey: env.WHOPQ_CALENDLY_SIGNING_KEY?.trim() || undefined,
    typeformSecret: env.WHOPQ_TYPEFORM_SECRET?.trim() || undefined,
    typeformEvents: envPairs(env.WHOPQ_TYPEFORM_EVENTS),
    hooksCompany:
      env.WHOPQ_HOOKS_COMPANY?.trim() || (envList(env.WHOP_COMPANY_ID).length === 1 ? envList(env.WHOP_COMPANY_ID)[0] : undefined),
  };
}

/** What is wrong or risky about a configuration, in plain words (empty when all is well). */
export function configProblems(config: RelayConfig): { errors: string[]; warnings: string[] } {
  const errors: string[] = [];
  const warnings: string[] = [];
  if (!config.apiKey) {
    if (config.production) errors.push('WHOP_API_KEY is not set: events are stored but cannot be forwarded, and /ready answers 503.');
    else warnings.push('WHOP_API_KEY is not set: dry-run, events are validated and stored but not sent to Whop.');
  }
  if (config.companies.length === 0) {
    // Anyone could post events for any company, sent with this key; Whop's refusals would pause them.
    if (config.production)
      errors.push(
        'WHOP_COMPANY_ID is not set: in production the relay serves only the companies listed there (comma-separated biz_… ids).',
      );
    else warnings.push('WHOP_COMPANY_ID is not set: events for any company id are accepted.');
  }
  if (config.origins.length === 0) warnings.push('WHOPQ_ORIGINS is not set: pages on any origin may post events.');
  for (const o of config.origins)
    if (!/^https?:\/\/[^/]+$/i.test(o)) errors.push(`WHOPQ_ORIGINS entry ${JSON.stringify(o)} is not an origin like https://shop.example.`);
  if (config.production && config.serverTokens.length === 0)
    warnings.push(
      'WHOPQ_SERVER_TOKENS is not set: the server endpoint /s refuses every request, and an event_id anyone can guess (an order number) counts for whoever posts it first; set it and send such events from your server with it.',
    );
  if (config.production && !config.adminToken)
    warnings.push('WHOPQ_ADMIN_TOKEN is not set: /metrics and the inspector are off in production.');
  if (!config.production && !config.adminToken && config.apiKey)
    warnings.push('WHOPQ_ADMIN_TOKEN is not set: /metrics is open to anyone who can reach the relay.');
  const c = config.forwardConcurrency;
  if (!Number.isInteger(c) || c < 1 || c > 256)
    errors.push(`WHOPQ_FORWARD_CONCURRENCY must be a whole number from 1 to 256 (it is ${String(c)}).`);
  const p = config.pauseProbeSeconds;
  if (!Number.isFinite(p) || p < 1 || p > 86_400)
    errors.push(`WHOPQ_PAUSE_PROBE_SECONDS must be a number of seconds from 1 to 86400 (it is ${String(p)}).`);
  // It goes into every ingest answer's Set-Cookie: a value a header cannot carry would fail them all.
  if (config.cookieDomain !== undefined && !/^\.?([a-z0-9-]+\.)*[a-z0-9-]+$/i.test(config.cookieDomain)) {
    errors.push(`WHOPQ_COOKIE_DOMAIN ${JSON.stringify(config.cookieDomain)} is not a domain like shop.example.`);
  }
  if (config.upstream !== 'conversions' && config.upstream !== 'events')
    errors.push(`WHOPQ_UPSTREAM must be conversions or events (it is ${JSON.stringify(config.upstream)}).`);
  if (!config.basePath.startsWith('/')) errors.push('WHOPQ_BASE_PATH must start with /.');
  const perIp = config.connectionsPerIp;
  if (!Number.isInteger(perIp) || perIp < 1 || perIp > 100_000)
    errors.push(`WHOPQ_MAX_CONNECTIONS_PER_IP must be a whole number from 1 to 100000 (it is ${String(perIp)}).`);
  if (!/^[a-z0-9-]+$/.test(config.ipHeader)) errors.push(`WHOPQ_IP_HEADER ${JSON.stringify(config.ipHeader)} is not a header name.`);
  if (config.databaseUrl !== undefined && !/^postgres(ql)?:\/\//i.test(config.databaseUrl))
    errors.push('WHOPQ_DATABASE_URL must be a postgres:// URL.');
  const mc = config.forwardMaxConcurrency;
  if (!Number.isInteger(mc) || mc < 1 || mc > 1024)
    errors.push(`WHOPQ_FORWARD_MAX_CONCURRENCY must be a whole number from 1 to 1024 (it is ${String(mc)}).`);
  else if (Number.isInteger(c) && mc < c)
    errors.push(`WHOPQ_FORWARD_MAX_CONCURRENCY (${mc}) is below WHOPQ_FORWARD_CONCURRENCY (${c}), where forwarding starts.`);
  const ft = config.forwardTimeoutSeconds;
  if (!Number.isFinite(ft) || ft < 1 || ft > 120)
    errors.push(`WHOPQ_FORWARD_TIMEOUT_SECONDS must be a number of seconds from 1 to 120 (it is ${String(ft)}).`);
  const pool = config.databasePool;
  if (!Number.isInteger(pool) || pool < 2 || pool > 100)
    errors.push(`WHOPQ_DATABASE_POOL must be a whole number from 2 to 100 (it is ${String(pool)}).`);
  if (config.calendlySigningKey || config.typeformSecret) {
    if (!config.hooksCompany)
      errors.push(
        'WHOPQ_HOOKS_COMPANY is not set: webhooks need the company their events belong to (set it, or list one WHOP_COMPANY_ID).',
      );
    else if (config.companies.length && !config.companies.includes(config.hooksCompany))
      errors.push(`WHOPQ_HOOKS_COMPANY ${JSON.stringify(config.hooksCompany)} is not one of WHOP_COMPANY_ID.`);
  }
  for (const [form, name] of Object.entries(config.typeformEvents))
    if (!form || !(EVENT_NAMES as readonly string[]).includes(name))
      errors.push(
        `WHOPQ_TYPEFORM_EVENTS entry ${JSON.stringify(`${form}=${name}`)} is not <form id>=<event name> with one of ${EVENT_NAMES.join(', ')}.`,
      );
  return { errors, warnings };
}
