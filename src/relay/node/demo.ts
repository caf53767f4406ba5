// `whopq demo` (what `npm start` runs): the relay with the demo site and the event inspector on one
// port, so a newcomer sees a form submission become a conversion in under a minute. Dry-run with
// nothing configured; forwarding to Whop for real when WHOP_API_KEY and WHOP_COMPANY_ID are set.
import { randomBytes } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { closeOnSignals, relayConfigFromEnv, startRelay, type RunningRelay } from './cli';
import { createDemoSite } from './demoSite';

/** The demo's company id when none is configured (dry-run only: Whop would refuse it). */
export const DEMO_COMPANY_ID = 'biz_demo';

/** An example ad click, so the printed landing URL shows context capture at work. */
const _EXAMPLE_CLICK = '?fbclid=IwAR_demo_click_123&utm_source=meta&utm_medium=paid&utm_campaign=spring_launch';

/** The package root: where package.json sits above this file (src/relay/node or dist/relay). */
function _packageRoot(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (let i = 0; i < 6 && !existsSync(join(dir, 'package.json')); i++) dir = dirname(dir);
  return dir;
}

export interface DemoArgs {
  /** Extra pages served under `/t/` (`--pages <dir>`): try your own landing page with the relay. */
  pages?: string;
}

/** Reads `whopq demo`'s arguments. Unknown ones are reported, not ignored. */
export function parseDemoArgs(argv: readonly string[]): DemoArgs | string {
  const args: DemoArgs = {};
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    if (a === '--pages' && argv[i + 1]) args.pages = resolve(argv[++i]!);
    else if (a.startsWith('--pages=')) args.pages = resolve(a.slice(8));
    else return `whopq demo: unknown argument ${JSON.stringify(a)}. Usage: whopq demo [--pages <dir>]`;
  }
  return args;
}

/** What `whopq demo` decides from the environment, before starting anything. */
export interface DemoPlan {
  dryRun: boolean;
  companyId: string;
  port: number;
  host: string;
  dataDir: string;
  /** Plain-words problems that stop the demo (e.g. a key without a company id). */
  problems: string[];
}

/** Decides mode, company, port and data dir from the environment (PORT default 8787). */
export function demoPlan(env: NodeJS.ProcessEnv): DemoPlan {
  const key = env.WHOP_API_KEY?.trim();
  const company = env.WHOP_COMPANY_ID?.split(',')[0]?.trim();
  const port = env.PORT === undefined || env.PORT === '' ? 8787 : Number(env.PORT);
  const problems: string[] = [];
  if (key && !company)
    problems.push('WHOP_API_KEY is set but WHOP_COMPANY_ID is not: set it to your company id (biz_…), or unset the key for a dry run.');
  if (!Number.isInteger(port) || port < 0 || port > 65535) problems.push(`PORT must be a port number, got ${JSON.stringify(env.PORT)}.`);
  return {
    dryRun: !key,
    companyId: company || DEMO_COMPANY_ID,
    port,
    host: env.HOST || '127.0.0.1',
    dataDir: env.WHOPQ_DATA_DIR || join(tmpdir(), 'whopq-demo'),
    problems,
  };
}

/** The lines `whopq demo` prints once it listens. Never includes the API key. */
export function demoBanner(plan: DemoPlan, origin: string, pages?: string, inspectorToken?: string): string {
  const mode = plan.dryRun
    ? 'dry-run — events are validated and stored, not sent to Whop (set WHOP_API_KEY and WHOP_COMPANY_ID to forward them)'
    : `forwarding to Whop for ${plan.companyId}`;
  const rows: Array<[string, string]> = [
    ['Landing page', `${origin}/${_EXAMPLE_CLICK}`],
    ['Event inspector', `${origin}/wq/inspect${inspectorToken ? `?token=${inspectorToken}` : ''}`],
    ['Tag manager', `${origin}/gtm.html`],
    ['Single-page app', `${origin}/spa`],
    ...(pages ? [['Your pages', `${origin}/t/  (from ${pages})`] as [string, string]] : []),
  ];
  return [
    `whopq demo listening on ${origin}`,
    `  mode: ${mode}`,
    '',
    ...rows.map(([label, url]) => `  ${label.padEnd(16)} ${url}`),
    '',
    '  Submit the form on the landing page, then watch the lead in the inspector.',
    `  Events are stored in ${plan.dataDir}. Ctrl+C stops.`,
  ].join('\n');
}

/** Loads dist/snippet.html, or explains how to build it. */
export function loadSnippet(root = _packageRoot()): string {
  const path = join(root, 'dist/snippet.html');
  if (!existsSync(path)) throw new Error(`whopq demo: ${path} is missing; run \`npm run build\` first (npm start does).`);
  return readFileSync(path, 'utf8');
}

/** The demo site for these settings. */
export function demoSite(plan: DemoPlan, args: DemoArgs, root = _packageRoot()): (request: Request) => Promise<Response | null> {
  return createDemoSite({
    root: join(root, 'demo'),
    snippet: loadSnippet(root),
    companyId: plan.companyId,
    mounts: args.pages ? { '/t/': args.pages } : {},
  });
}

/**
 * `whopq demo [--pages <dir>]`: the relay (dry-run, or forwarding when WHOP_API_KEY and
 * WHOP_COMPANY_ID are set) on 127.0.0.1:PORT with the demo site around it and the inspector on.
 * When forwarding, the inspector needs a token (WHOPQ_ADMIN_TOKEN, or a random one printed in its
 * URL), because the events it shows are real visitors'. Closes cleanly on SIGINT/SIGTERM.
 */
export async function runDemo(argv: readonly string[], env: NodeJS.ProcessEnv = process.env): Promise<RunningRelay> {
  const args = parseDemoArgs(argv);
  if (typeof args === 'string') throw new Error(args);
  const plan = demoPlan(env);
  if (plan.problems.length) throw new Error(plan.problems.join('\n'));
  const base = relayConfigFromEnv(env);
  const adminToken = plan.dryRun ? base.adminToken : (base.adminToken ?? randomBytes(12).toString('base64url'));
  const config = {
    ...base,
    port: plan.port,
    host: plan.host,
    dataDir: plan.dataDir,
    companies: base.companies.length ? base.companies : [plan.companyId],
    adminToken,
    // The demo is a local tool: never the production rules (a key is optional here).
    production: false,
  };
  const starting = startRelay(config, { fallback: demoSite(plan, args), print: () => {} });
  closeOnSignals({ close: () => starting.then((r) => r.close()) });
  const running = await starting;
  const origin = running.url.replace('//localhost:', '//127.0.0.1:');
  console.log(demoBanner(plan, origin, args.pages, plan.dryRun ? undefined : adminToken));
  return running;
}
