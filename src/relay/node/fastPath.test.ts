import type { AddressInfo } from 'node:net';
import { connect } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { createRelay, type RelayOptions } from '../createRelay';
import { createLogger } from '../lib/logger';
import { MemoryOutbox } from '../lib/memoryOutbox';
import { serve, type ServeOptions } from './serve';

// serve() answers ingest on a fast path (plain data, no Request/Response built) while relay.fetch()
// answers a Fetch Request: every case below goes through both, each with its own identical relay,
// and the answers, the stored events, the log lines and the metrics must come out the same.

/** One request: raw header lines (names may repeat; `{host}` becomes the server's host:port), body bytes. */
interface Case {
  name: string;
  method?: string;
  headers: Array<[string, string]>;
  body?: string | Uint8Array;
  /** The scheme relay.fetch() sees; what serve() derives from a trusted proxy's X-Forwarded-Proto. */
  proto?: 'http' | 'https';
}

interface Answer {
  status: number;
  headers: string[];
  body: string;
}

/** Response headers both paths must agree on; framing (length, chunking, keep-alive) and date are HTTP's. */
const _FRAMING = new Set(['date', 'connection', 'keep-alive', 'content-length', 'transfer-encoding']);
/** A `_fbp` the relay made up (now-ms, random): its shape is compared, not its value. */
const _mask = (s: string) => s.replace(/fb\.1\.1[7-9]\d{11}\.\d+/g, 'fb.1.<now>.<random>');

const servers: Array<ReturnType<typeof serve>> = [];
afterEach(async () => {
  for (const s of servers.splice(0)) {
    s.closeAllConnections();
    await new Promise((ok) => s.close(ok));
  }
});

// Bytes, not a string, on both sides: a Request made with a string body gets a Content-Type of its own.
const _bytes = (c: Case) => Buffer.from(c.body ?? '');
const _headers = (c: Case, port: number) => c.headers.map(([n, v]) => [n, v.replace('{host}', `127.0.0.1:${port}`)] as const);

/** One HTTP/1.1 request over a raw socket (so header lines can repeat), `Connection: close`. */
function rawRequest(port: number, c: Case): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const body = _bytes(c);
    const lines = [
      `${c.method ?? 'POST'} /wq/e HTTP/1.1`,
      `Host: 127.0.0.1:${port}`,
      ..._headers(c, port).map(([n, v]) => `${n}: ${v}`),
      'Connection: close',
    ];
    if (c.body !== undefined) lines.push(`Content-Length: ${body.length}`);
    const socket = connect(port, '127.0.0.1');
    const chunks: Buffer[] = [];
    socket.on('data', (d) => chunks.push(d));
    socket.on('error', reject);
    socket.setTimeout(10_000, () => socket.destroy(new Error('no answer in 10 s')));
    socket.on('end', () => {
      const all = Buffer.concat(chunks);
      const split = all.indexOf('\r\n\r\n');
      const [statusLine, ...headerLines] = all.subarray(0, split).toString('latin1').split('\r\n');
      let rest = all.subarray(split + 4);
      const headers = headerLines.map((l) => [l.slice(0, l.indexOf(':')).toLowerCase(), l.slice(l.indexOf(':') + 1).trim()] as const);
      if (headers.some(([n, v]) => n === 'transfer-encoding' && v === 'chunked')) {
        const out: Buffer[] = [];
        for (;;) {
          const eol = rest.indexOf('\r\n');
          const size = parseInt(rest.subarray(0, eol).toString(), 16);
          if (!size) break;
          out.push(rest.subarray(eol + 2, eol + 2 + size));
          rest = rest.subarray(eol + 4 + size);
        }
        rest = Buffer.concat(out);
      }
      resolve({
        status: Number(statusLine!.split(' ')[1]),
        headers: headers
          .filter(([n]) => !_FRAMING.has(n))
          .map(([n, v]) => _mask(`${n}: ${v}`))
          .sort(),
        body: _mask(rest.toString()),
      });
    });
    socket.end(Buffer.concat([Buffer.from(lines.join('\r\n') + '\r\n\r\n', 'latin1'), body]));
  });
}

async function viaFetch(relay: ReturnType<typeof createRelay>, port: number, c: Case): Promise<Answer> {
  const headers = new Headers();
  for (const [n, v] of _headers(c, port)) headers.append(n, v);
  const method = c.method ?? 'POST';
  const request = new Request(`${c.proto ?? 'http'}://127.0.0.1:${port}/wq/e`, {
    method,
    headers,
    body: method === 'GET' ? undefined : _bytes(c),
  });
  const res = await relay.fetch(request, { remoteAddress: '127.0.0.1' });
  const lines: string[] = [];
  res.headers.forEach((v, n) => n !== 'set-cookie' && lines.push(`${n}: ${v}`));
  for (const cookie of res.headers.getSetCookie()) lines.push(`set-cookie: ${cookie}`);
  return { status: res.status, headers: lines.map(_mask).sort(), body: _mask(await res.text()) };
}

/** Runs `cases` in order through relay.fetch() and through serve(), each on its own relay, and compares everything. */
async function same(cases: Case[], options: Partial<RelayOptions> = {}, serveOptions: ServeOptions = {}) {
  const make = () => {
    const outbox = new MemoryOutbox();
    const logs: string[] = [];
    const relay = createRelay({
      outbox,
      rateLimit: false,
      ...options,
      logger: createLogger({ write: (l) => logs.push(l.replace(/"t":"[^"]+",/, '')) }),
    });
    return { outbox, logs, relay };
  };
  const direct = make();
  const served = make();
  const server = serve(served.relay, { port: 0, host: '127.0.0.1', ...serveOptions });
  servers.push(server);
  await new Promise((ok) => server.once('listening', ok));
  const port = (server.address() as AddressInfo).port;
  const statuses: number[] = [];
  for (const c of cases) {
    const viaServe = await rawRequest(port, c);
    expect(viaServe, c.name).toEqual(await viaFetch(direct.relay, port, c));
    statuses.push(viaServe.status);
  }
  const stored = (o: MemoryOutbox) => o.all().map(({ received_at: _, next_attempt_at: __, ...r }) => JSON.parse(_mask(JSON.stringify(r))));
  expect(stored(served.outbox)).toEqual(stored(direct.outbox));
  expect(served.logs).toEqual(direct.logs);
  const metrics = async (r: ReturnType<typeof createRelay>) =>
    (await r.metrics.render()).replace(/(oldest_pending_age_seconds) [\d.]+/, '$1 <age>');
  expect(await metrics(served.relay)).toEqual(await metrics(direct.relay));
  return { direct, served, statuses };
}

const COMPANY = 'biz_fast';
let seq = 0;
// A fixed event_time: one left out is set to each relay's own time of receipt, which the two would not share.
const TIME = new Date().toISOString();
const event = (over: Record<string, unknown> = {}) => ({
  company_id: COMPANY,
  event_name: 'lead',
  event_id: `fast_${++seq}`,
  event_time: TIME,
  action_source: 'website',
  url: 'https://shop.example/',
  user: { anonymous_id: 'aid-9' },
  ...over,
});
const json = (v: unknown) => JSON.stringify(v);
const text: [string, string] = ['Content-Type', 'text/plain;charset=UTF-8'];

describe('ingest through serve() answers as relay.fetch() does', () => {
  it('accepts, rejects, deduplicates and limits alike', async () => {
    const dup = event();
    const { served, statuses } = await same(
      [
        { name: 'one event', headers: [text, ['User-Agent', 'fast-test']], body: json(event()) },
        { name: 'a batch', headers: [['Content-Type', 'application/json']], body: json({ events: [event(), dup] }) },
        { name: 'a resend', headers: [text], body: json({ events: [dup] }) },
        { name: 'a mixed batch', headers: [text], body: json({ events: [event({ value: '9' }), event(), event({ colour: 'red' })] }) },
        { name: 'all bad', headers: [text], body: json({ events: [event({ event_name: 7 }), event({ company_id: 'biz_other' })] }) },
        { name: 'another company', headers: [text], body: json(event({ company_id: 'biz_other' })) },
        { name: 'wrong type', headers: [['Content-Type', 'text/html']], body: json(event()) },
        { name: 'no type', headers: [], body: json(event()) },
        { name: 'not JSON', headers: [text], body: '{"events":[' },
        { name: 'empty body', headers: [text], body: '' },
        { name: 'an array', headers: [text], body: '[]' },
        { name: 'unknown key', headers: [text], body: json({ events: [event()], more: 1 }) },
        { name: 'too many', headers: [text], body: json({ events: Array.from({ length: 4 }, () => event()) }) },
        { name: 'too large', headers: [text], body: json({ events: [event({ url: 'https://shop.example/?' + 'q'.repeat(3000) })] }) },
        {
          name: '__proto__',
          headers: [text],
          body: `{"company_id":"biz_fast","event_name":"lead","event_id":"p1","event_time":"${TIME}","action_source":"website","__proto__":{"x":1}}`,
        },
        { name: 'BOM first', headers: [text], body: new Uint8Array([0xef, 0xbb, 0xbf, ...Buffer.from(json(event()))]) },
        {
          name: 'broken UTF-8 in a string',
          headers: [text],
          body: Buffer.concat([
            Buffer.from('{"company_id":"biz_fast","event_name":"custom","custom_name":"x'),
            Buffer.from([0xff, 0xc3]),
            Buffer.from(`","event_id":"utf1","event_time":"${TIME}","action_source":"website"}`),
          ]),
        },
        { name: 'wrong method', method: 'GET', headers: [] },
      ],
      { companies: [COMPANY], maxBatch: 3, maxBodyBytes: 2048 },
    );
    // The cases reach the branches they name (wrong type 415, too large 413, …), not all one error.
    expect(statuses).toEqual([200, 200, 200, 200, 400, 403, 415, 415, 400, 400, 400, 200, 400, 413, 200, 200, 200, 405]);
    expect(served.outbox.all().map((r) => r.body.custom_name ?? r.event_id)).toEqual([
      'fast_2',
      'fast_3',
      'fast_1',
      'fast_4',
      'fast_5',
      'fast_6',
      'fast_12',
      'p1',
      expect.stringMatching(/^fast_/),
      'x\ufffd\ufffd',
    ]);
  });

  it('enriches alike: cookies (repeated Cookie lines), user agent, trusted and untrusted forwarding headers', async () => {
    const cookies: Array<[string, string]> = [
      ['Cookie', '_fbp=fb.1.1600000000000.42; _ga=GA1.1.111.222'],
      ['Cookie', '_fbc=fb.1.1600000000000.IwAR2x; _ttp=ttp-1'],
    ];
    await same([
      { name: 'cookies', headers: [text, ...cookies], body: json(event()) },
      { name: 'no cookies: a new _fbp', headers: [text], body: json(event()) },
      { name: 'an _fbp from the page', headers: [text], body: json(event({ context: { fbp: 'fb.1.1600000000000.7' } })) },
      {
        name: 'two User-Agent lines, spaces around',
        headers: [text, ['User-Agent', '  ua-one '], ['User-Agent', 'ua-two']],
        body: json(event()),
      },
      { name: 'spoofed X-Forwarded-For', headers: [text, ['X-Forwarded-For', '198.51.100.9']], body: json(event()) },
      { name: 'spoofed Forwarded', headers: [text, ['Forwarded', 'for=198.51.100.10']], body: json(event()) },
    ]);
    await same(
      [
        {
          name: 'trusted X-Forwarded-For and -Proto',
          proto: 'https',
          headers: [text, ['X-Forwarded-For', '198.51.100.7, 10.0.0.2'], ['X-Forwarded-Proto', 'https']],
          body: json(event()),
        },
        {
          name: 'trusted Forwarded',
          proto: 'https',
          headers: [text, ['Forwarded', 'for="[2001:db8::5]:443"'], ['X-Forwarded-Proto', 'https']],
          body: json(event()),
        },
      ],
      { trustedProxies: ['127.0.0.1', '10.0.0.0/8'], cookieDomain: 'shop.example' },
      { trustedProxies: ['127.0.0.1'] },
    );
  });

  it('applies origins, CORS, the rate limit, the in-flight cap and store failures alike', async () => {
    const origins = ['https://shop.example', 'https://other.example/'];
    await same(
      [
        { name: 'listed origin', headers: [text, ['Origin', 'https://shop.example']], body: json(event()) },
        { name: 'listed origin, other case', headers: [text, ['Origin', 'https://OTHER.example']], body: json(event()) },
        { name: 'unlisted origin', headers: [text, ['Origin', 'https://evil.example']], body: json(event()) },
        { name: 'no origin', headers: [text], body: json(event()) },
        { name: 'rate limited', headers: [text, ['Origin', 'https://shop.example']], body: json(event()) },
        { name: 'still limited, bad body', headers: [text], body: 'x' },
      ],
      { origins, rateLimit: { perSecond: 0.001, burst: 3 } },
    );
    await same([{ name: "the relay's own host", headers: [text, ['Origin', 'http://{host}']], body: json(event()) }], { origins });
    await same([{ name: 'overloaded', headers: [text, ['Origin', 'https://shop.example']], body: json(event()) }], {
      origins,
      maxInFlight: 0,
    });
    const failing = new MemoryOutbox();
    failing.failing = true;
    await same([{ name: 'store down', headers: [text], body: json(event()) }], { outbox: failing });
  });
});

describe('the lazy Request and Response serve() and the relay pass between them', () => {
  const start = async (handler: Parameters<typeof serve>[0]) => {
    const server = serve(handler, { port: 0, host: '127.0.0.1' });
    servers.push(server);
    await new Promise((ok) => server.once('listening', ok));
    return `http://127.0.0.1:${(server.address() as AddressInfo).port}/wq/e`;
  };

  it('writes the plain answer in one piece, with a Content-Length', async () => {
    const url = await start(createRelay({ outbox: new MemoryOutbox(), rateLimit: false }));
    const res = await fetch(url, { method: 'POST', headers: { 'content-type': 'text/plain' }, body: json(event()) });
    expect(res.headers.get('content-length')).toBe(String((await res.text()).length));
    expect(res.headers.get('transfer-encoding')).toBeNull();
  });

  it('behave as the real thing to a wrapper that reads or changes them', async () => {
    const outbox = new MemoryOutbox();
    const relay = createRelay({ outbox, rateLimit: false });
    const seen: unknown[] = [];
    const url = await start({
      async fetch(request, conn) {
        seen.push(
          request instanceof Request,
          Object.prototype.toString.call(request),
          request.method,
          request.headers.get('x-wrapper'),
          await request.clone().text(),
        );
        const response = await relay.fetch(request, conn);
        seen.push(response instanceof Response, response.status);
        response.headers.set('x-wrapped', 'yes');
        return response;
      },
    });
    const body = json(event({ context: { fbp: 'fb.1.1700000000000.7' } }));
    const res = await fetch(url, { method: 'POST', headers: { 'content-type': 'text/plain', 'x-wrapper': 'w' }, body });
    expect(res.status).toBe(200);
    expect(res.headers.get('x-wrapped')).toBe('yes');
    expect(res.headers.getSetCookie()).toHaveLength(2);
    expect(await res.json()).toEqual({ accepted: 1, duplicates: 0, rejected: [] });
    expect(seen).toEqual([true, '[object Request]', 'POST', 'w', body, true, 200]);
    expect(outbox.all()).toHaveLength(1);
  });

  it('an inspector that passes the Request on (new Request(request, init)) gets one the Fetch classes take', async () => {
    const relay = createRelay({
      outbox: new MemoryOutbox(),
      rateLimit: false,
      // What an inspector (or any code the relay hands the request to) may do: copy it with more headers.
      inspector: async (request) => {
        const copy = new Request(request, { headers: { 'x-copied': '1' } });
        return new Response(`${copy.method} ${copy.headers.get('x-copied')} ${await copy.text()}`);
      },
    });
    const url = (await start(relay)).replace(/\/e$/, '/inspect/data.json');
    const res = await fetch(url, { method: 'POST', headers: { 'content-type': 'text/plain' }, body: 'hello' });
    expect([res.status, await res.text()]).toEqual([200, 'POST 1 hello']);
  });

  it('gives a wrapper the URL a real Request would hold (host lower-cased, default port and dot segments resolved)', async () => {
    const urls: string[] = [];
    const relay = createRelay({ outbox: new MemoryOutbox(), rateLimit: false });
    const url = new URL(await start({ fetch: (request, conn) => (urls.push(request.url), relay.fetch(request, conn)) }));
    const port = Number(url.port);
    const ask = (path: string, host: string) =>
      new Promise<string>((done, fail) => {
        const body = json(event());
        const socket = connect(port, '127.0.0.1', () =>
          socket.end(
            `POST ${path} HTTP/1.1\r\nHost: ${host}\r\nContent-Type: text/plain\r\nContent-Length: ${body.length}\r\nConnection: close\r\n\r\n${body}`,
          ),
        );
        let text = '';
        socket
          .setEncoding('utf8')
          .on('data', (d) => (text += d))
          .on('end', () => done(text))
          .on('error', fail);
      });
    expect(await ask('/wq/x/../e', `LOCALHOST:${port}`)).toMatch(/^HTTP\/1\.1 200 /);
    expect(await ask('/wq/e?a=1', 'shop.example:80')).toMatch(/^HTTP\/1\.1 200 /);
    expect(urls).toEqual([new Request(`http://LOCALHOST:${port}/wq/x/../e`).url, new Request('http://shop.example:80/wq/e?a=1').url]);
    expect(urls).toEqual([`http://localhost:${port}/wq/e`, 'http://shop.example/wq/e?a=1']);
  });

  it("answers a Host with user info (a URL no Request may hold) with a 400 in Whop's shape, for ingest and for other routes", async () => {
    const relay = createRelay({ outbox: new MemoryOutbox(), rateLimit: false });
    const port = Number(new URL(await start(relay)).port);
    for (const [method, path] of [
      ['POST', '/wq/e'],
      ['GET', '/wq/health'],
    ] as const) {
      const c: Case = { name: `${method} ${path}`, method, headers: [], body: method === 'POST' ? json(event()) : undefined };
      const answer = await new Promise<string>((done, fail) => {
        const body = c.body === undefined ? '' : String(c.body);
        const socket = connect(port, '127.0.0.1', () =>
          socket.end(
            `${method} ${path} HTTP/1.1\r\nHost: user@127.0.0.1:${port}\r\nContent-Type: text/plain\r\nContent-Length: ${body.length}\r\nConnection: close\r\n\r\n${body}`,
          ),
        );
        let text = '';
        socket
          .setEncoding('utf8')
          .on('data', (d) => (text += d))
          .on('end', () => done(text))
          .on('error', fail);
      });
      expect(answer, c.name).toMatch(/^HTTP\/1\.1 400 /);
      expect(answer, c.name).toContain('"type":"invalid_request_error"');
    }
  });

  it("a method Fetch refuses (TRACE) gets a 405 in Whop's shape, with a body or without, not a dropped connection", async () => {
    const url = new URL(await start(createRelay({ outbox: new MemoryOutbox(), rateLimit: false })));
    for (const body of ['', 'hi']) {
      const c: Case = { name: `TRACE ${body ? 'with' : 'without'} a body`, method: 'TRACE', headers: [], body: body || undefined };
      const answer = await rawRequest(Number(url.port), c);
      expect(answer.status, c.name).toBe(405);
      expect(JSON.parse(answer.body).error, c.name).toMatchObject({ type: 'invalid_request_error', code: 'method_not_allowed' });
    }
  });

  it('a Response the relay left plain becomes a real one for a wrapper that changes it', async () => {
    const relay = createRelay({ outbox: new MemoryOutbox(), rateLimit: false });
    const url = await start({
      async fetch(request, conn) {
        const response = await relay.fetch(request, conn);
        response.headers.append('set-cookie', 'extra=1; Path=/');
        return new Response(await response.text(), response);
      },
    });
    const res = await fetch(url, {
      method: 'POST',
      headers: { 'content-type': 'text/plain' },
      body: json(event({ context: { fbp: 'fb.1.1700000000000.7' } })),
    });
    expect(res.status).toBe(200);
    expect(res.headers.getSetCookie().map((c) => c.split('=')[0])).toEqual(['wq_aid', '_fbp', 'extra']);
    expect(await res.json()).toEqual({ accepted: 1, duplicates: 0, rejected: [] });
  });
});
