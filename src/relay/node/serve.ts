import { readFileSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import { isTrusted, parseCidrs } from '../lib/clientIp';
import { lazyState } from '../lib/lazyInstance';
import { plainError, type PlainResponse } from '../lib/plainExchange';
import { whopError } from '../lib/whopError';
import { nodeRequest, toRequest } from './nodeRequest';

/**
 * Anything with the relay's fetch signature (the relay, or the relay wrapped with more routes). A
 * request with a small body arrives as a lazy Request: it reads as a real one, but the Fetch classes
 * refuse it as input (`new Request(request, init)`, `fetch(request)`); pass `realInstance(request)`
 * (lib/lazyInstance) to those, and the untouched lazy one to the relay.
 */
export interface FetchHandler {
  fetch(request: Request, conn?: { remoteAddress?: string }): Promise<Response>;
}

export interface ServeOptions {
  /** Default 8787; 0 picks a free port (read it from `server.address()`). */
  port?: number;
  /** Default `127.0.0.1`; `0.0.0.0` or `::` to listen on every interface. */
  host?: string;
  /**
   * Proxies whose `X-Forwarded-Proto`/`X-Forwarded-Host` describe the URL the browser used (so
   * cookies get `Secure` behind a TLS-terminating proxy). Default none.
   */
  trustedProxies?: readonly string[];
  /** Closes requests that have not finished sending within this many ms (slow clients). Default 15_000. */
  requestTimeoutMs?: number;
  /**
   * A connection must complete a request's headers within this many ms of opening (or of its last
   * answer, on keep-alive), and a request's body within this many ms of its headers; else it is
   * closed. node:http alone never closes a connection that sends nothing. Default 10_000.
   */
  headersTimeoutMs?: number;
  bodyTimeoutMs?: number;
  /**
   * Open connections at most; past it new ones are closed at once, so idle sockets cannot use up the
   * process's file descriptors. Default: the open-file limit less 128 (Linux), else 4096.
   */
  maxConnections?: number;
  /** Open connections from one address at most (trusted proxies excepted). Default 64. */
  maxConnectionsPerIp?: number;
  /**
   * Bodies declaring a Content-Length up to this many bytes are read into one buffer before the
   * handler runs (much cheaper than a web stream); larger or chunked bodies are streamed, so the
   * handler's own limit stops them early. Keep it at or below the relay's `maxBodyBytes`. Default 65_536.
   */
  bufferBodiesUpTo?: number;
}

/**
 * The request body as a web stream with backpressure (pause/resume). Cancelling only stops
 * reading: the socket stays up so the 413 can still be sent, then `Connection: close` ends it.
 */
function _body(req: IncomingMessage): ReadableStream<Uint8Array> {
  let open = true;
  return new ReadableStream<Uint8Array>(
    {
      start(controller) {
        req.on('data', (chunk: Buffer) => {
          if (!open) return;
          controller.enqueue(new Uint8Array(chunk.buffer, chunk.byteOffset, chunk.byteLength));
          if ((controller.desiredSize ?? 0) <= 0) req.pause();
        });
        req.on('end', () => open && ((open = false), controller.close()));
        const fail = () => open && ((open = false), controller.error(new Error('request aborted')));
        req.on('error', fail);
        req.on('close', () => !req.complete && fail());
      },
      pull() {
        req.resume();
      },
      cancel() {
        open = false;
        req.pause();
      },
    },
    { highWaterMark: 4 },
  );
}

/** How much of a refused body is read and discarded before the connection is closed. */
const _DRAIN_BYTES = 8 * 1024 * 1024;
const _DRAIN_MS = 5_000;

/** Reads and discards the rest of a request body; resolves at its end, or past `maxBytes` or `ms`. */
function _drain(req: IncomingMessage, maxBytes: number, ms: number): Promise<void> {
  if (req.complete || req.destroyed) return Promise.resolve();
  return new Promise((resolve) => {
    let seen = 0;
    const timer = setTimeout(resolve, ms);
    const done = () => (clearTimeout(timer), resolve());
    // The body stream's own listener would pause the request again once its buffer is full.
    req.removeAllListeners('data');
    req.on('data', (chunk: Buffer) => (seen += chunk.length) > maxBytes && done());
    req.on('end', done);
    req.on('close', done);
    req.resume();
  });
}

/** Reads a body of known, small length; null when the client went away before sending it all. */
function _buffered(req: IncomingMessage): Promise<Buffer | null> {
  return new Promise((resolve) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => resolve(chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks)));
    req.on('close', () => !req.complete && resolve(null));
    req.on('error', () => resolve(null));
  });
}

/** The URL the browser used: scheme and host from a trusted proxy's X-Forwarded-Proto/-Host, else the socket and Host. */
function _url(req: IncomingMessage, trusted: ReturnType<typeof parseCidrs>): string {
  const peer = req.socket.remoteAddress;
  const viaProxy = trusted.length > 0 && !!peer && isTrusted(peer, trusted);
  const fwdProto = viaProxy
    ? String(req.headers['x-forwarded-proto'] ?? '')
        .split(',')[0]!
        .trim()
    : '';
  const fwdHost = viaProxy
    ? String(req.headers['x-forwarded-host'] ?? '')
        .split(',')[0]!
        .trim()
    : '';
  const proto =
    fwdProto === 'https' || fwdProto === 'http' ? fwdProto : (req.socket as { encrypted?: boolean }).encrypted ? 'https' : 'http';
  const host = fwdHost || req.headers.host || 'localhost';
  return `${proto}://${host}${req.url ?? '/'}`;
}

/**
 * The URL as a Request would hold it (`new Request(url).url`: host lower-cased, default port and dot
 * segments gone), or null when no Request may hold it: it does not parse, or it has user info (a
 * Host header `user@host`, which `new Request` refuses).
 */
function _normalUrl(url: string): string | null {
  try {
    const parsed = new URL(url);
    return parsed.username || parsed.password ? null : parsed.href;
  } catch {
    return null;
  }
}

/** The soft limit on open files (Linux /proc), or null where it cannot be read. */
function _fileLimit(): number | null {
  try {
    const m = /^Max open files\s+(\d+)/m.exec(readFileSync('/proc/self/limits', 'utf8'));
    return m ? Number(m[1]) : null;
  } catch {
    return null;
  }
}

/** Methods the Fetch `Request` constructor refuses (https://fetch.spec.whatwg.org/#forbidden-method); node:http hands over all but CONNECT. */
const _FETCH_REFUSES = new Set(['CONNECT', 'TRACE', 'TRACK']);

/** Writes a plain answer in one go (headers and body in one write, with a Content-Length). */
function _sendPlain(res: ServerResponse, plain: PlainResponse): void {
  const headers: string[] = [];
  for (const [name, value] of plain.headers) headers.push(name, value);
  if (plain.body !== null) headers.push('content-length', String(Buffer.byteLength(plain.body)));
  res.writeHead(plain.status, headers);
  res.end(plain.body ?? undefined);
}

async function _send(res: ServerResponse, response: Response): Promise<void> {
  const headers: Record<string, string | string[]> = {};
  response.headers.forEach((value, name) => {
    if (name !== 'set-cookie') headers[name] = value;
  });
  const cookies = response.headers.getSetCookie();
  if (cookies.length) headers['set-cookie'] = cookies;
  res.writeHead(response.status, headers);
  if (!response.body) return void res.end();
  const reader = response.body.getReader();
  try {
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      if (res.destroyed) return void reader.cancel().catch(() => {});
      if (!res.write(value))
        await new Promise<void>((resolve) => {
          res.once('drain', resolve);
          res.once('close', resolve);
        });
    }
    res.end();
  } catch {
    res.destroy();
  }
}

function _close(headers: Headers): Headers {
  const h = new Headers(headers);
  h.set('connection', 'close');
  return h;
}

/**
 * Serves a relay over node:http: each IncomingMessage becomes a Fetch `Request` (small bodies
 * buffered, others streamed; the socket's address as `conn.remoteAddress`), the `Response` is
 * streamed back. A request with a buffered body gets a lazy `Request` carrying its plain view, and
 * a `Response` the relay left plain is written straight to the socket: the ingest route answers
 * without a Request, a Response or a body stream built (`lazyInstance`, `plainExchange`). A client
 * that disconnects mid-request costs one failed read, never the process.
 */
export function serve(handler: FetchHandler, options: ServeOptions = {}): Server {
  const trusted = parseCidrs(options.trustedProxies ?? []);
  const bufferUpTo = options.bufferBodiesUpTo ?? 65_536;
  // node:http checks its timeouts every 30 s by default: a 15 s limit then lasted up to 45 s.
  const server = createServer({ connectionsCheckingInterval: 1_000 }, (req, res) => {
    // Whatever goes wrong answering one request costs that request, never an unhandled rejection
    // (which would end the process).
    handle(req, res).catch(() => res.destroy());
  });
  const headersMs = options.headersTimeoutMs ?? 10_000;
  const bodyMs = options.bodyTimeoutMs ?? 10_000;
  const perIp = options.maxConnectionsPerIp ?? 64;
  const fileLimit = _fileLimit();
  const perAddress = new Map<string, number>();
  const deadlines = new WeakMap<Socket, ReturnType<typeof setTimeout>>();
  /** Closes `socket` unless `clear` is called within `ms`. */
  const arm = (socket: Socket, ms: number) => {
    clearTimeout(deadlines.get(socket));
    const timer = setTimeout(() => socket.destroy(), ms);
    timer.unref();
    deadlines.set(socket, timer);
  };
  const clear = (socket: Socket) => clearTimeout(deadlines.get(socket));
  server.maxConnections = options.maxConnections ?? (fileLimit ? Math.max(64, fileLimit - 128) : 4096);
  server.on('connection', (socket: Socket) => {
    const address = socket.remoteAddress ?? '';
    if (!isTrusted(address, trusted)) {
      const open = (perAddress.get(address) ?? 0) + 1;
      if (open > perIp) return void socket.destroy();
      perAddress.set(address, open);
      socket.once('close', () => {
        const left = (perAddress.get(address) ?? 1) - 1;
        if (left > 0) perAddress.set(address, left);
        else perAddress.delete(address);
      });
    }
    arm(socket, headersMs);
    socket.once('close', () => clear(socket));
  });

  const handle = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    res.on('error', () => {}); // A reset socket while answering is the client's business.
    req.on('error', () => {});
    const socket = req.socket;
    // Headers are in; the body has its own deadline, and the next request on this connection its own.
    if (req.complete) clear(socket);
    else {
      arm(socket, bodyMs);
      req.once('end', () => clear(socket));
    }
    res.once('finish', () => !socket.destroyed && arm(socket, headersMs));
    const length = Number(req.headers['content-length']);
    let body: Buffer | null = null;
    if (req.method !== 'GET' && req.method !== 'HEAD' && length > 0 && length <= bufferUpTo && !req.headers['transfer-encoding']) {
      body = await _buffered(req);
      if (!body) return void res.destroy(); // Aborted mid-body: nobody is left to answer.
    }
    // Normalized here because the lazy Request hands out this string as its `url` without a Request.
    const url = _normalUrl(_url(req, trusted));
    if (url === null) {
      // A Host header that makes no URL: neither a Request nor the relay's routing can take it.
      return _sendPlain(res, plainError(400, whopError('Bad request URL.'), {}, { connection: 'close' }));
    }
    const method = req.method ?? 'GET';
    if (_FETCH_REFUSES.has(method)) {
      // node:http parses TRACE, but `new Request` throws on it: answer here, as for any method the relay does not serve.
      return _sendPlain(
        res,
        plainError(
          405,
          whopError(`${method} is not served here.`, 'method_not_allowed'),
          {},
          { allow: 'GET, HEAD, POST, OPTIONS', connection: 'close' },
        ),
      );
    }
    // A buffered body: a Request built only if the handler reads more than url and method (the
    // relay's ingest route reads the plain view instead). Otherwise a real Request, its body streamed.
    const request = body ? nodeRequest(req, url, body) : toRequest(req, url, method !== 'GET' && method !== 'HEAD' ? _body(req) : null);
    let response: Response;
    try {
      response = await handler.fetch(request, { remoteAddress: req.socket.remoteAddress });
    } catch {
      response = new Response('{"error":{"type":"api_error","message":"Internal error.","code":null,"param":null}}', {
        status: 500,
        headers: { 'content-type': 'application/json' },
      });
    }
    if (res.destroyed) return;
    const plain = req.complete ? lazyState<PlainResponse>(response) : undefined;
    if (plain) {
      try {
        return _sendPlain(res, plain);
      } catch {
        return void res.destroy(); // A header value node:http refuses; never an unhandled rejection.
      }
    }
    // The body was not read to its end (413, or refused before reading): close the connection, but
    // first read and discard what the client is still sending, up to a bound. Closing while it still
    // uploads makes its TCP stack see a reset, and it reports a network error instead of our 413.
    if (!req.complete) {
      response = new Response(response.body, { status: response.status, headers: _close(response.headers) });
      await _drain(req, _DRAIN_BYTES, _DRAIN_MS);
      if (res.destroyed) return;
    }
    await _send(res, response).catch(() => res.destroy());
  };
  server.requestTimeout = options.requestTimeoutMs ?? 15_000;
  server.headersTimeout = Math.min(headersMs, server.requestTimeout);
  server.on('clientError', (_error, socket) => {
    if (socket.writable) socket.end('HTTP/1.1 400 Bad Request\r\nConnection: close\r\n\r\n');
    else socket.destroy();
  });
  server.listen(options.port ?? 8787, options.host ?? '127.0.0.1');
  return server;
}
