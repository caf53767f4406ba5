// Runs a server in its own process, so load generator and server never share an event loop.
import { spawn } from 'node:child_process';

/**
 * Spawns `node args…` and resolves once a stdout line matches `ready` (its first capture group is
 * returned as `url`). Rejects if the process exits first or `timeoutMs` passes. Later output is
 * kept only as far as `ask()` needs it.
 */
export function startChild({ args, env = {}, ready, timeoutMs = 30_000, cwd }) {
  const child = spawn(process.execPath, args, { cwd, env: { ...process.env, ...env }, stdio: ['pipe', 'pipe', 'pipe'] });
  let out = '';
  let errors = '';
  const waiters = new Set();
  child.stderr.setEncoding('utf8').on('data', (t) => (errors = (errors + t).slice(-4000)));
  child.stdout.setEncoding('utf8').on('data', (t) => {
    out = (out + t).slice(-64_000);
    for (const w of waiters) w();
  });
  /** Resolves with the first match of `re` in stdout (consuming output up to it), or rejects after `ms`. */
  const waitFor = (re, ms) =>
    new Promise((resolve, reject) => {
      const check = () => {
        const m = out.match(re);
        if (!m) return;
        out = out.slice(m.index + m[0].length);
        done();
        resolve(m);
      };
      const timer = setTimeout(
        () => (done(), reject(new Error(`no ${re} from the child in ${ms} ms: ${out.slice(-300)} ${errors.slice(-1000)}`))),
        ms,
      );
      const done = () => (clearTimeout(timer), waiters.delete(check));
      waiters.add(check);
      check();
    });
  const exited = new Promise((_, reject) =>
    child.once('exit', (code) => reject(new Error(`child exited (${code}): ${errors.slice(-1000)}`))),
  );
  exited.catch(() => {});
  return Promise.race([waitFor(ready, timeoutMs), exited]).then(
    (m) => ({
      url: m[1],
      pid: child.pid,
      /** Writes `line` to the child's stdin and resolves with the first match of `re` it prints. */
      ask(line, re, ms = 10_000) {
        const answer = waitFor(re, ms);
        child.stdin.write(`${line}\n`);
        return answer;
      },
      /** SIGTERM, then SIGKILL after 5 s; resolves when the process is gone. */
      stop() {
        if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
        return new Promise((done) => {
          const kill = setTimeout(() => child.kill('SIGKILL'), 5_000);
          child.once('exit', () => (clearTimeout(kill), done()));
          child.kill('SIGTERM');
        });
      },
    }),
    (error) => {
      child.kill('SIGKILL');
      throw error;
    },
  );
}
