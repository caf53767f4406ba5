import { request as httpRequest } from 'node:http';
import type { AddressInfo } from 'node:net';
import { connect } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createRelay } from '../createRelay';
import { MemoryOutbox } from '../lib/memoryOutbox';
import { serve } from './serve';

const outbox = new MemoryOutbox();
const relay = createRelay({ outbox, maxBodyBytes: 4096, rateLimit: false });
let server: ReturnType<typeof serve>;
let base: string;

beforeAll(async () => {
  server = serve(relay, { port: 0, host: '127.0.0.1', bufferBodiesUpTo: 4096 });
  await new Promise((ok) => server.once('listening', ok));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
afterAll(
  () =>
    new Promise<void>((done) => {
      server.closeAllConnections();
      server.close(() => done());
    }),
);

const event = (id: string) => ({ company_id: 'biz_1', event_name: 'lead', event_id: id, action_source: 'website' });

describe('serve()', () => {
  it('posts through real HTTP: socket address as the IP, Set-Cookie headers kept apart', async () => {
    const res = await fetch(`${base}/wq/e`, {
      method: 'POST',
      headers: { 'content-type': 'text/plain', 'user-agent': 'serve-test' },
      body: JSON.stringify({ events: [{ ...event('e1'), user: { anonymous_id: 'a1' }, context: { fbp: 'fb.1.1700000000000.9' } }] }),
    });
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ accepted: 1, duplicates: 0, rejected: [] });
    expect(res.headers.getSetCookie().map((c) => c.split('=')[0])).toEqual(['wq_aid', '_fbp']);
    expect(outbox.all()[0]!.body.context).toMatchObject({ ip_address: '127.0.0.1', user_agent: 'serve-test' });
  });

  it('believes X-Forwarded-Proto only from a trusted proxy (Secure cookies behind TLS termination)', async () => {
    const proxied = serve(relay, { port: 0, host: '127.0.0.1', trustedProxies: ['127.0.0.1'] });
    await new Promise((ok) => proxied.once('listening', ok));
    try {
      const url = `http://127.0.0.1:${(proxied.address() as AddressInfo).port}/wq/e`;
      const res = await fetch(url, {
        method: 'POST',
        headers: { 'content-type': 'text/plain', 'x-forwarded-proto': 'https' },
        body: JSON.stringify({ ...event('p1'), user: { anonymous_id: 'a1' } }),
      });
      expect(res.headers.getSetCookie()[0]).toContain('; Secure');
    } finally {
      proxied.closeAllConnections();
      await new Promise((ok) => proxied.close(ok));
    }
    const direct = await fetch(`${base}/wq/e`, {
      method: 'POST',
      headers: { 'content-type': 'text/plain', 'x-forwarded-proto': 'https' },
      body: JSON.stringify({ ...event('p2'), user: { anonymous_id: 'a1' } }),
    });
    expect(direct.headers.getSetCookie()[0]).not.toContain('Secure');
  });

  it('answers 413 to an oversized body, declared or streamed, and keeps serving', async () => {
    const declared = await fetch(`${base}/wq/e`, { method: 'POST', headers: { 'content-type': 'text/plain' }, body: 'x'.repeat(10_000) });
    expect(declared.status).toBe(413);
    // Chunked (no Content-Length): the limit is found while reading.
    const status = await new Promise<number>((resolve, reject) => {
      const req = httpRequest(
        `${base}/wq/e`,
        { method: 'POST', headers: { 'content-type': 'text/plain', 'transfer-encoding': 'chunked' } },
        (res) => {
          res.resume();
          resolve(res.statusCode!);
        },
      );
      req.on('error', reject);
      for (let i = 0; i < 8; i++) req.write('y'.repeat(1024));
      req.end();
    });
    expect(status).toBe(413);
    expect((await fetch(`${base}/wq/health`)).status).toBe(200);
  });

  it('lets a client still uploading a large refused body read the 413, not a reset', async () => {
    // The 413 is decided after 64 KiB; the rest is read and discarded before the connection closes.
    const big = '{"events":[' + Array.from({ length: 10_000 }, (_, i) => JSON.stringify(event('big' + i))).join(',') + ']}';
    for (let round = 0; round < 5; round++) {
      const res = await fetch(`${base}/wq/e`, { method: 'POST', headers: { 'content-type': 'text/plain' }, body: big });
      expect(res.status).toBe(413);
    }
  });

  it('survives a client that aborts mid-body, storing nothing from it', async () => {
    const before = outbox.all().length;
    const arrived = new Promise((ok) => server.once('request', ok));
    const socket = connect((server.address() as AddressInfo).port, '127.0.0.1');
    await new Promise((ok) => socket.once('connect', ok));
    // Chunked, so the handler is already reading the stream when the client disappears.
    socket.write(
      'POST /wq/e HTTP/1.1\r\nHost: x\r\nContent-Type: text/plain\r\nTransfer-Encoding: chunked\r\n\r\n10\r\n{"events":[{"com\r\n',
    );
    // Vanish once the server has the request in hand (its body half sent).
    await arrived;
    socket.destroy();
    const deadline = Date.now() + 5000;
    // The handler sees the abort as an unreadable body; poll for that, with a deadline.
    while (Date.now() < deadline && relay.metrics.get('rejected_total', { reason: 'body_unreadable' }) === 0)
      await new Promise((ok) => setTimeout(ok, 10));
    expect(relay.metrics.get('rejected_total', { reason: 'body_unreadable' })).toBe(1);
    expect((await fetch(`${base}/wq/health`)).status).toBe(200);
    const res = await fetch(`${base}/wq/e`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(event('e2')),
    });
    expect(res.status).toBe(200);
    expect(outbox.all().length).toBe(before + 1);
  });

  it('survives a client that aborts a small buffered body', async () => {
    const before = outbox.all().length;
    const socket = connect((server.address() as AddressInfo).port, '127.0.0.1');
    await new Promise((ok) => socket.once('connect', ok));
    const arrived = new Promise((ok) => server.once('request', ok));
    socket.write('POST /wq/e HTTP/1.1\r\nHost: x\r\nContent-Type: text/plain\r\nContent-Length: 500\r\n\r\n{"events":[');
    await arrived;
    socket.destroy();
    const res = await fetch(`${base}/wq/e`, {
      method: 'POST',
      headers: { 'content-type': 'text/plain' },
      body: JSON.stringify(event('e3')),
    });
    expect(res.status).toBe(200);
    expect(outbox.all().length).toBe(before + 1);
  });
});

describe('serve() under slow and idle clients (issue 17)', () => {
  const start = async (options: Parameters<typeof serve>[1], relayOptions: Partial<Parameters<typeof createRelay>[0]> = {}) => {
    const s = serve(createRelay({ outbox: new MemoryOutbox(), rateLimit: false, ...relayOptions }), {
      port: 0,
      host: '127.0.0.1',
      ...options,
    });
    await new Promise((ok) => s.once('listening', ok));
    return {
      s,
      port: (s.address() as AddressInfo).port,
      stop: () =>
        new Promise<void>((done) => {
          s.closeAllConnections();
          s.close(() => done());
        }),
    };
  };
  /** Opens a raw connection from `from`; resolves with how long until the server closed it (ms), or null past `waitMs`. */
  const lifetime = (port: number, from: string, write: (socket: ReturnType<typeof connect>) => void, waitMs: number) =>
    new Promise<number | null>((resolve) => {
      const t = Date.now();
      const socket = connect({ port, host: '127.0.0.1', localAddress: from }, () => write(socket));
      socket.on('error', () => {});
      socket.on('data', () => {});
      const give = setTimeout(() => (socket.destroy(), resolve(null)), waitMs);
      socket.on('close', () => (clearTimeout(give), resolve(Date.now() - t)));
    });

  it('closes a connection that sends nothing, or headers too slowly, after the headers deadline', async () => {
    const { port, stop } = await start({ headersTimeoutMs: 600 });
    try {
      const [idle, partial] = await Promise.all([
        lifetime(port, '127.0.0.1', () => {}, 8_000),
        lifetime(port, '127.0.0.1', (s) => s.write('POST /wq/e HTTP/1.1\r\nHost: x\r\n'), 8_000),
      ]);
      expect(idle).not.toBeNull();
      expect(partial).not.toBeNull();
      expect(idle!).toBeLessThan(4_000);
      expect(partial!).toBeLessThan(4_000);
    } finally {
      await stop();
    }
  });

  it('closes a body that trickles in past the body deadline', async () => {
    const { port, stop } = await start({ bodyTimeoutMs: 700, requestTimeoutMs: 60_000 });
    try {
      const slow = await lifetime(
        port,
        '127.0.0.1',
        (s) => {
          s.write('POST /wq/e HTTP/1.1\r\nHost: x\r\nContent-Type: text/plain\r\nContent-Length: 2000\r\n\r\n');
          const drip = setInterval(() => s.writable && s.write('{'), 100);
          s.on('close', () => clearInterval(drip));
        },
        8_000,
      );
      expect(slow).not.toBeNull();
      expect(slow!).toBeLessThan(4_000);
    } finally {
      await stop();
    }
  });

  it('caps connections per address, so one client cannot hold them all, while another address is served', async () => {
    const { port, stop } = await start({ maxConnectionsPerIp: 5, headersTimeoutMs: 20_000 });
    const sockets: Array<ReturnType<typeof connect>> = [];
    try {
      let closed = 0;
      await Promise.all(
        Array.from(
          { length: 12 },
          () =>
            new Promise<void>((ok) => {
              const s = connect({ port, host: '127.0.0.1', localAddress: '127.0.0.2' }, () => ok());
              s.on('error', () => {});
              s.on('close', () => closed++);
              sockets.push(s);
            }),
        ),
      );
      await new Promise((r) => setTimeout(r, 300));
      expect(closed).toBe(7);
      const res = await new Promise<number>((resolve) => {
        const req = httpRequest(
          { host: '127.0.0.1', port, path: '/wq/health', localAddress: '127.0.0.3' },
          (r) => (r.resume(), resolve(r.statusCode ?? 0)),
        );
        req.on('error', () => resolve(0));
        req.end();
      });
      expect(res).toBe(200);
    } finally {
      for (const s of sockets) s.destroy();
      await stop();
    }
  });

  it('slow uploads do not hold ingest capacity: with every in-flight slot taken by one, others are still stored', async () => {
    const { port, stop } = await start({ bodyTimeoutMs: 30_000, requestTimeoutMs: 60_000 }, { maxInFlight: 2 });
    const slow: Array<ReturnType<typeof connect>> = [];
    try {
      // Chunked bodies are streamed to the relay (not buffered first): the case that held a slot.
      for (let i = 0; i < 4; i++) {
        const s = connect({ port, host: '127.0.0.1', localAddress: `127.0.0.${10 + i}` }, () =>
          s.write('POST /wq/e HTTP/1.1\r\nHost: x\r\nContent-Type: text/plain\r\nTransfer-Encoding: chunked\r\n\r\n1\r\n{\r\n'),
        );
        s.on('error', () => {});
        slow.push(s);
      }
      await new Promise((r) => setTimeout(r, 300));
      const res = await fetch(`http://127.0.0.1:${port}/wq/e`, {
        method: 'POST',
        headers: { 'content-type': 'text/plain' },
        body: JSON.stringify(event('fast-1')),
      });
      expect(res.status).toBe(200);
    } finally {
      for (const s of slow) s.destroy();
      await stop();
    }
  });
});
