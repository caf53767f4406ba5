// The package as a user gets it: packed from a copy of the checkout without dist/ (so `prepack`
// must build it), then installed from the tarball into an empty directory.
import { execFileSync } from 'node:child_process';
import { copyFileSync, cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';

const ROOT = resolve(import.meta.dirname, '..');
const _SKIP = new Set(['node_modules', 'dist', '.data', '.git', 'test-results', 'playwright-report']);

export interface PackedPackage {
  /** The tarball `npm pack` wrote. */
  tarball: string;
  /** The directory it is installed in (node_modules/whopq, node_modules/.bin/whopq). */
  app: string;
  work: string;
}

function _npm(args: string[], cwd: string): string {
  return execFileSync('npm', args, {
    cwd,
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, npm_config_update_notifier: 'false', npm_config_fund: 'false', npm_config_audit: 'false' },
  });
}

/** Packs a clean copy of the checkout and installs the tarball (with @types/node for the typecheck) in an empty app. */
export function packAndInstall(): PackedPackage {
  const work = mkdtempSync(join(tmpdir(), 'whopq-pack-'));
  const checkout = join(work, 'checkout');
  cpSync(ROOT, checkout, { recursive: true, filter: (src) => !_SKIP.has(src.slice(ROOT.length + 1).split('/')[0]!) });
  symlinkSync(join(ROOT, 'node_modules'), join(checkout, 'node_modules'));
  _npm(['pack', '--pack-destination', work], checkout);
  const tarball = join(work, readdirSync(work).find((f) => f.endsWith('.tgz'))!);

  const app = join(work, 'app');
  mkdirSync(app);
  writeFileSync(join(app, 'package.json'), JSON.stringify({ name: 'app', private: true, type: 'module' }));
  const typesNode = (JSON.parse(readFileSync(join(ROOT, 'node_modules/@types/node/package.json'), 'utf8')) as { version: string }).version;
  // Offline where it can be: the dependencies are the ones this checkout installed (npm's cache).
  // better-sqlite3's install script would download or compile its native part; this machine's
  // build (the same Node) is copied in instead when the versions match, else it is rebuilt.
  _npm(['install', '--prefer-offline', '--ignore-scripts', tarball, `@types/node@${typesNode}`], app);
  const version = (dir: string) =>
    (JSON.parse(readFileSync(join(dir, 'node_modules/better-sqlite3/package.json'), 'utf8')) as { version: string }).version;
  const release = join(app, 'node_modules/better-sqlite3/build/Release');
  if (version(app) === version(ROOT)) {
    mkdirSync(release, { recursive: true });
    for (const f of readdirSync(join(ROOT, 'node_modules/better-sqlite3/build/Release'))) {
      if (f.endsWith('.node')) copyFileSync(join(ROOT, 'node_modules/better-sqlite3/build/Release', f), join(release, f));
    }
  } else {
    _npm(['rebuild', 'better-sqlite3'], app);
  }
  if (!existsSync(join(release, 'better_sqlite3.node'))) throw new Error('better-sqlite3 has no native build in the test install');
  return { tarball, app, work };
}
