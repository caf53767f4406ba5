// A TCP proxy that holds every byte from the browser for `holdMs` before passing it on, and drops
// what it still holds when the browser closes the connection. On loopback a request lands in
// microseconds, so a page that navigates away could never lose one; this puts the request "on the
// wire" for a realistic moment, during which the browser may cancel it (as it does with plain
// fetches and images when the document unloads). Answers flow back without delay.
import { connect, createServer } from 'node:net';

/**
 * Starts the proxy on 127.0.0.1 (ephemeral port) in front of `target` (an http://host:port origin).
 * Chunks matching `passThrough` (tested on their first bytes, e.g. a request line) go through at
 * once, so page and script loads do not slow the bench down. HTTP/1.1 sends a connection's next
 * request only after the previous answer, so holding some chunks never reorders a connection.
 */
export async function startDelayProxy({ target, holdMs, passThrough }) {
  const { hostname, port } = new URL(target);
  const sockets = new Set();
  const server = createServer((client) => {
    const upstream = connect(Number(port), hostname);
    const timers = new Set();
    let closed = false;
    sockets.add(client).add(upstream);
    const end = () => {
      if (closed) return;
      closed = true;
      for (const t of timers) clearTimeout(t);
      upstream.destroy();
      client.destroy();
      sockets.delete(client);
      sockets.delete(upstream);
    };
    client.on('data', (chunk) => {
      if (passThrough?.test(chunk.subarray(0, 64).toString('latin1'))) return void upstream.write(chunk);
      const t = setTimeout(() => {
        timers.delete(t);
        if (!closed) upstream.write(chunk);
      }, holdMs);
      timers.add(t);
    });
    upstream.on('data', (chunk) => !closed && client.write(chunk));
    client.on('close', end).on('error', end);
    upstream.on('close', end).on('error', end);
  });
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    origin: `http://127.0.0.1:${server.address().port}`,
    close() {
      for (const s of sockets) s.destroy();
      return new Promise((resolve) => server.close(resolve));
    },
  };
}
