import { closeSync, openSync, readFileSync, unlinkSync, writeSync } from 'node:fs';
import { join, resolve } from 'node:path';

/** Lock files held by this process: a second relay here on the same directory is refused too. */
const _held = new Set<string>();

/** Whether `pid` is a live process that could be a relay. */
function _alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch (error) {
    // EPERM: the process exists but belongs to another user — still a live holder.
    if ((error as NodeJS.ErrnoException).code !== 'EPERM') return false;
  }
  // A restarted container reuses low pids for other programs (an init, a shell): where Linux
  // tells what a pid runs, one that is not a JavaScript runtime is not an old relay.
  try {
    return /node|bun|deno|whopq/.test(readFileSync(`/proc/${pid}/cmdline`, 'latin1'));
  } catch {
    return true;
  }
}

/**
 * Claims `dir` for one relay process: writes `whopq.lock` holding this pid, and throws (in plain
 * words) when a live process already holds it. Two relays on one SQLite outbox would each run a
 * forwarder and share leases they never agreed on; the lock makes that mistake loud at startup.
 * A lock left by a process that died (SIGKILL, power loss) is taken over. Returns the release
 * function (idempotent), to call after the store is closed.
 */
export function lockDataDir(dir: string): () => void {
  const path = resolve(join(dir, 'whopq.lock'));
  if (_held.has(path)) throw new Error(`The data directory ${resolve(dir)} is already used by a relay in this process.`);
  for (let attempt = 0; ; attempt++) {
    try {
      const fd = openSync(path, 'wx');
      writeSync(fd, String(process.pid));
      closeSync(fd);
      break;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
      let pid = NaN;
      try {
        pid = Number.parseInt(readFileSync(path, 'utf8'), 10);
      } catch {}
      if (attempt > 0 || (pid > 0 && pid !== process.pid && _alive(pid))) {
        throw new Error(`The data directory ${resolve(dir)} is in use by another relay (pid ${pid || 'unknown'}). Stop it, or give this one its own WHOPQ_DATA_DIR.`);
      }
      // Stale: its holder is gone, or it was this very pid (a container restarted with the same
      // volume often gives the relay the same pid). Remove it and claim once more; a racing
      // starter that wins the `wx` create makes this one fail on the second attempt.
      try {
        unlinkSync(path);
      } catch {}
    }
  }
  _held.add(path);
  let released = false;
  return () => {
    if (released) return;
    released = true;
    _held.delete(path);
    try {
      if (readFileSync(path, 'utf8') === String(process.pid)) unlinkSync(path);
    } catch {}
  };
}
