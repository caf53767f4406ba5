import { createRequire } from 'node:module';
import type BetterSqlite3 from 'better-sqlite3';

/**
 * better-sqlite3, loaded when a SQLite outbox opens: it is an optional dependency, so the handler
 * alone (`whopq/relay`) and `whopq --help` run without it. Missing or built for another Node: an
 * error that says what to run.
 */
export function loadBetterSqlite(): typeof BetterSqlite3 {
  const require = createRequire(import.meta.url);
  try {
    const sqlite = require('better-sqlite3') as typeof BetterSqlite3;
    _refuseOnNode24(require);
    return sqlite;
  } catch (error) {
    const e = error as NodeJS.ErrnoException;
    if (e.code === 'MODULE_NOT_FOUND' && /better-sqlite3/.test(e.message)) {
      throw new Error(
        'The SQLite outbox needs better-sqlite3 (an optional dependency), which is not installed. Install it next to whopq: npm install better-sqlite3',
      );
    }
    if (e.code === 'ERR_DLOPEN_FAILED') {
      throw new Error(
        `better-sqlite3 does not load in Node ${process.version} (${e.message.split('\n')[0]}). Rebuild it for this Node: npm rebuild better-sqlite3`,
      );
    }
    throw error;
  }
}

/**
 * better-sqlite3 12 aborts the process on Node 24 (its statements are node::ObjectWrap objects, whose
 * cleanup hook asserts when a GC frees one: WiseLibs/better-sqlite3#1515); 13 (Node-API) does not.
 */
function _refuseOnNode24(require: NodeJS.Require): void {
  if (Number(process.versions.node.split('.')[0]) < 24) return;
  let version: string | undefined;
  try {
    version = (require('better-sqlite3/package.json') as { version: string }).version;
  } catch {
    return; // a build that hides its package.json: nothing to tell
  }
  if (Number(version.split('.')[0]) < 13) {
    throw new Error(
      `better-sqlite3 ${version} aborts the process on Node ${process.version} (a known incompatibility with Node 24). Install better-sqlite3 13 next to whopq: npm install better-sqlite3@13`,
    );
  }
}
