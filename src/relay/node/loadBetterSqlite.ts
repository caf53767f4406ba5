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
    return require('better-sqlite3') as typeof BetterSqlite3;
  } catch (error) {
    const e = error as NodeJS.ErrnoException;
    if (e.code === 'MODULE_NOT_FOUND' && /better-sqlite3/.test(e.message)) {
      throw new Error('The SQLite outbox needs better-sqlite3 (an optional dependency), which is not installed. Install it next to whopq: npm install better-sqlite3');
    }
    if (e.code === 'ERR_DLOPEN_FAILED') {
      throw new Error(`better-sqlite3 does not load in Node ${process.version} (${e.message.split('\n')[0]}). Rebuild it for this Node: npm rebuild better-sqlite3`);
    }
    throw error;
  }
}
