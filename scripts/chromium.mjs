// One place that knows how this project finds and launches Chromium. Playwright cannot download its
// own browsers on every machine, so the tests drive a system Chromium (Debian's `chromium` package)
// through `executablePath`; WHOPQ_CHROMIUM overrides the path.
// Run directly (`node scripts/chromium.mjs`), it makes sure one is there: it installs Debian's
// package when we are root on a Debian-like machine, and otherwise exits with plain instructions.
import { execSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const CANDIDATES = ['/usr/bin/chromium', '/usr/bin/chromium-browser', '/usr/bin/google-chrome', '/usr/bin/google-chrome-stable'];

/** The Chromium binary to drive, or undefined when none is installed. */
export function findChromium() {
  const fromEnv = process.env.WHOPQ_CHROMIUM;
  return fromEnv ? (existsSync(fromEnv) ? fromEnv : undefined) : CANDIDATES.find((p) => existsSync(p));
}

/**
 * Launch flags. The background-networking ones matter on closed networks: without them Chromium
 * keeps dialling Google's hosts and floods the machine with refused connections.
 */
export const CHROMIUM_ARGS = [
  '--no-sandbox',
  '--disable-gpu',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--no-first-run',
  '--disable-quic',
];

/** Playwright launch options for this machine's Chromium. */
export function chromiumLaunchOptions() {
  return { executablePath: findChromium(), args: CHROMIUM_ARGS, headless: true };
}

/**
 * Finds Chromium, installing Debian's package when root on a Debian-like machine. Returns the path,
 * or undefined after printing what to install.
 */
export function ensureChromium() {
  let path = findChromium();
  if (!path && !process.env.WHOPQ_CHROMIUM && process.getuid?.() === 0 && existsSync('/usr/bin/apt-get')) {
    console.log("whopq: no Chromium found; installing Debian's chromium package (about a minute)…");
    try {
      execSync('apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium', { stdio: 'inherit' });
    } catch {
      // Reported below.
    }
    path = findChromium();
  }
  if (!path) {
    console.error(
      [
        'whopq: the browser tests need Chromium and none was found.',
        process.env.WHOPQ_CHROMIUM
          ? `  WHOPQ_CHROMIUM points at ${process.env.WHOPQ_CHROMIUM}, which does not exist.`
          : `  Looked in: ${CANDIDATES.join(', ')}`,
        '  Install it (Debian/Ubuntu: `sudo apt-get install chromium`) or set WHOPQ_CHROMIUM=/path/to/chrome.',
        '  Unit and integration tests alone: `npm run test:unit`.',
      ].join('\n'),
    );
    return undefined;
  }
  console.log(`whopq: browser tests use ${path}`);
  return path;
}

if (process.argv[1] === fileURLToPath(import.meta.url) && !ensureChromium()) process.exit(1);
