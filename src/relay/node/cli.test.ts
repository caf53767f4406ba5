import { createHmac } from 'node:crypto';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, inject, it } from 'vitest';
import { startFakeWhop, type FakeWhop } from '../../../test/fakeWhop';
import { startRelay, type RunningRelay } from './cli';
import { configProblems, relayConfigFromEnv } from './relayConfig';

const dirs: string[] = [];
const running: Array<RunningRelay | FakeWhop> = [];
afterEach(async () => {
  for (const r of running.splice(0)) await r.close();
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});
const tmp = () => {
  const d = mkdtempSync(join(tmpdir(), 'whopq-cli-'));
  dirs.push(d);
  return d;
};

describe('relayConfigFromEnv', () => {
  it('reads lists, defaults and flags', () => {
    const c = relayConfigFromEnv({
      WHOP_COMPANY_ID: 'biz_a, biz_b,',
      WHOPQ_ORIGINS: 'https://a.example',
      PORT: '9000',
      WHOPQ_PRODUCTION: 'true',
      WHOPQ_RATE_LIMIT: 'off',
    });
    expect(c).toMatchObject({
      companies: ['biz_a', 'biz_b'],
      origins: ['https://a.example'],
      port: 9000,
      production: true,
      dataDir: './.data',
      baseURL: 'https://api.whop.com/api/v1',
      basePath: '/wq',
      rateLimit: false,
    });
    expect(relayConfigFromEnv({}).rateLimit).toEqual({ perSecond: 20, burst: 60 });
    expect(relayConfigFromEnv({}).port).toBe(8787);
  });

  it('picks the upstream from WHOPQ_UPSTREAM (conversions by default) and refuses any other value', () => {
    expect(relayConfigFromEnv({}).upstream).toBe('conversions');
    expect(relayConfigFromEnv({ WHOPQ_UPSTREAM: ' Events ' }).upstream).toBe('events');
    expect(configProblems(relayConfigFromEnv({ WHOPQ_UPSTREAM: 'events' })).errors.join('\n')).not.toMatch(/WHOPQ_UPSTREAM/);
    expect(configProblems(relayConfigFromEnv({ WHOPQ_UPSTREAM: 'pixel' })).errors.join('\n')).toMatch(
      /WHOPQ_UPSTREAM must be conversions or events/,
    );
  });

  it('says what is wrong in plain words', () => {
    const prod = configProblems(relayConfigFromEnv({ WHOPQ_PRODUCTION: '1', WHOPQ_ORIGINS: 'shop.example' }));
    expect(prod.errors.join('\n')).toMatch(/WHOP_API_KEY is not set/);
    expect(prod.errors.join('\n')).toMatch(/not an origin/);
    expect(prod.warnings.join('\n')).toMatch(/WHOPQ_ADMIN_TOKEN/);
    expect(configProblems(relayConfigFromEnv({})).warnings.join('\n')).toMatch(/dry-run/);
  });

  it('reads the forwarder settings and names bad values', () => {
    expect(relayConfigFromEnv({})).toMatchObject({ forwardConcurrency: 8, pauseProbeSeconds: 30 });
    const set = relayConfigFromEnv({ WHOPQ_FORWARD_CONCURRENCY: '32', WHOPQ_PAUSE_PROBE_SECONDS: '5' });
    expect(set).toMatchObject({ forwardConcurrency: 32, pauseProbeSeconds: 5 });
    expect(configProblems(set).errors).toEqual([]);
    const bad = configProblems(relayConfigFromEnv({ WHOPQ_FORWARD_CONCURRENCY: 'lots', WHOPQ_PAUSE_PROBE_SECONDS: '0' })).errors.join('\n');
    expect(bad).toMatch(/WHOPQ_FORWARD_CONCURRENCY must be a whole number from 1 to 256 \(it is NaN\)/);
    expect(bad).toMatch(/WHOPQ_PAUSE_PROBE_SECONDS must be/);
    expect(configProblems(relayConfigFromEnv({ WHOPQ_FORWARD_CONCURRENCY: '1000' })).errors.join('\n')).toMatch(
      /WHOPQ_FORWARD_CONCURRENCY/,
    );
  });

  it('refuses a cookie domain a Set-Cookie header cannot carry', () => {
    expect(configProblems(relayConfigFromEnv({ WHOPQ_COOKIE_DOMAIN: 'shop.example' })).errors).toEqual([]);
    expect(configProblems(relayConfigFromEnv({ WHOPQ_COOKIE_DOMAIN: '.shop.example' })).errors).toEqual([]);
    for (const bad of ['shop.example\r\nX-Evil: 1', 'shöp.example', 'shop.example; Secure', 'https://shop.example'])
      expect(configProblems(relayConfigFromEnv({ WHOPQ_COOKIE_DOMAIN: bad })).errors.join('\n')).toMatch(
        /WHOPQ_COOKIE_DOMAIN .* is not a domain/,
      );
  });
});

describe('startRelay', () => {
  it('refuses to start on a malformed trusted proxy list', async () => {
    await expect(
      startRelay({ ...relayConfigFromEnv({ WHOPQ_TRUSTED_PROXIES: 'proxy.local' }), port: 0, dataDir: tmp() }, { print: () => {} }),
    ).rejects.toThrow(/WHOPQ_TRUSTED_PROXIES/);
  });

  it('runs dry-run on SQLite with a fallback for other paths, and closes cleanly', async () => {
    const printed: string[] = [];
    const relay = await startRelay(
      { ...relayConfigFromEnv({}), port: 0, host: '127.0.0.1', dataDir: tmp() },
      {
        print: (l) => printed.push(l),
        logger: { info() {}, warn() {}, error() {} },
        fallback: async (r) => (new URL(r.url).pathname === '/' ? new Response('landing') : undefined),
      },
    );
    running.push(relay);
    expect(printed.join('\n')).toMatch(/mode: dry-run/);
    expect(await (await fetch(relay.url + '/')).text()).toBe('landing');
    expect((await fetch(relay.url + '/nope')).status).toBe(404);
    const res = await fetch(relay.url + '/wq/e', {
      method: 'POST',
      headers: { 'content-type': 'text/plain' },
      body: JSON.stringify({ company_id: 'biz_x', event_name: 'lead', event_id: 'cli-1' }),
    });
    expect(await res.json()).toEqual({ accepted: 1, duplicates: 0, rejected: [] });
    expect((await relay.outbox.recent(5)).map((r) => [r.event_id, r.state])).toEqual([['cli-1', 'dry_run']]);
    expect((await fetch(relay.url + '/wq/ready')).status).toBe(200);
    expect((await fetch(relay.url + '/wq/inspect')).status).toBe(200);
    await relay.close();
    running.length = 0;
  });

  it('runs on Postgres when WHOPQ_DATABASE_URL is set: two relays share the store, the password never printed', async () => {
    const url = inject('postgresUrl');
    const schema = `cli_${Date.now().toString(36)}`;
    const printed: string[] = [];
    const config = {
      ...relayConfigFromEnv({ WHOPQ_DATABASE_URL: url, WHOPQ_DATABASE_SCHEMA: schema }),
      port: 0,
      host: '127.0.0.1',
      dataDir: tmp(),
    };
    const quiet = { print: (l: string) => printed.push(l), logger: { info() {}, warn() {}, error() {} } };
    const first = await startRelay(config, quiet);
    running.push(first);
    const second = await startRelay(config, quiet);
    running.push(second);
    const post = (relay: typeof first, event_id: string) =>
      fetch(relay.url + '/wq/e', {
        method: 'POST',
        headers: { 'content-type': 'text/plain' },
        body: JSON.stringify({ company_id: 'biz_x', event_name: 'lead', event_id }),
      }).then((r) => r.json());
    expect(await post(first, 'pg-1')).toEqual({ accepted: 1, duplicates: 0, rejected: [] });
    // The other relay sees it: a resend there is a duplicate.
    expect(await post(second, 'pg-1')).toMatchObject({ accepted: 0, duplicates: 1 });
    expect((await second.outbox.recent(5)).map((r) => [r.event_id, r.state])).toEqual([['pg-1', 'dry_run']]);
    expect(await (await fetch(second.url + '/wq/ready')).json()).toMatchObject({ ready: true, queue: { dry_run: 1 } });
    const password = decodeURIComponent(new URL(url).password);
    expect(printed.join('\n')).toMatch(new RegExp(`store: +Postgres .*schema ${schema}`));
    expect(printed.join('\n')).not.toContain(password);
    expect(readdirSync(config.dataDir)).toEqual([]);
  });

  it('refuses a WHOPQ_DATABASE_URL that is not a postgres URL', () => {
    expect(configProblems(relayConfigFromEnv({ WHOPQ_DATABASE_URL: 'mysql://x' })).errors.join()).toMatch(/WHOPQ_DATABASE_URL/);
    expect(relayConfigFromEnv({ DATABASE_URL: 'postgres://h/db' }).databaseUrl).toBe('postgres://h/db');
    expect(relayConfigFromEnv({}).databaseUrl).toBeUndefined();
  });

  it('locks its data directory: a second relay on it is refused in plain words, and close() frees it', async () => {
    const dataDir = tmp();
    const config = { ...relayConfigFromEnv({}), port: 0, host: '127.0.0.1', dataDir };
    const quiet = { print: () => {}, logger: { info() {}, warn() {}, error() {} } };
    const first = await startRelay(config, quiet);
    running.push(first);
    await expect(startRelay(config, quiet)).rejects.toThrow(/already used by a relay/);
    await first.close();
    running.length = 0;
    const second = await startRelay(config, quiet);
    running.push(second);
    expect((await fetch(second.url + '/wq/health')).status).toBe(200);
  });

  it('hands the fallback a Request it can pass on (new Request(request, init), as a proxying page handler does)', async () => {
    const relay = await startRelay(
      { ...relayConfigFromEnv({}), port: 0, host: '127.0.0.1', dataDir: tmp() },
      {
        print: () => {},
        logger: { info() {}, warn() {}, error() {} },
        fallback: async (request) => {
          const copy = new Request(request, { headers: { 'x-site': '1' } });
          return new Response(`${copy.method} ${new URL(copy.url).pathname} ${copy.headers.get('x-site')} ${await copy.text()}`);
        },
      },
    );
    running.push(relay);
    const res = await fetch(relay.url + '/contact', { method: 'POST', headers: { 'content-type': 'text/plain' }, body: 'hello' });
    expect([res.status, await res.text()]).toEqual([200, 'POST /contact 1 hello']);
  });

  it("answers a Host header that makes no URL with a 400 in Whop's shape, for ingest and for pages", async () => {
    const relay = await startRelay(
      { ...relayConfigFromEnv({}), port: 0, host: '127.0.0.1', dataDir: tmp() },
      { print: () => {}, logger: { info() {}, warn() {}, error() {} }, fallback: async () => new Response('page') },
    );
    running.push(relay);
    const { connect } = await import('node:net');
    const raw = (head: string) =>
      new Promise<string>((done, fail) => {
        const socket = connect(Number(new URL(relay.url).port), '127.0.0.1', () => socket.end(head));
        let text = '';
        socket
          .setEncoding('utf8')
          .on('data', (d) => (text += d))
          .on('end', () => done(text))
          .on('error', fail);
      });
    for (const line of ['POST /wq/e', 'GET /']) {
      const body = line.startsWith('POST') ? '{}' : '';
      const answer = await raw(
        `${line} HTTP/1.1\r\nHost: a b\r\nContent-Type: text/plain\r\nContent-Length: ${body.length}\r\nConnection: close\r\n\r\n${body}`,
      );
      expect(answer, line).toMatch(/^HTTP\/1\.1 400 /);
      expect(answer).toContain('"type":"invalid_request_error"');
    }
  });

  it('serves the pixel at p.js and the debug build found beside it at p.debug.js', async () => {
    const dir = tmp();
    writeFileSync(join(dir, 'whopq.js'), 'lean()');
    writeFileSync(join(dir, 'whopq.debug.js'), 'debug()');
    const relay = await startRelay(
      { ...relayConfigFromEnv({}), port: 0, host: '127.0.0.1', dataDir: tmp() },
      { print: () => {}, logger: { info() {}, warn() {}, error() {} }, bundlePath: join(dir, 'whopq.js') },
    );
    running.push(relay);
    expect(await (await fetch(relay.url + '/wq/p.js')).text()).toBe('lean()');
    expect(await (await fetch(relay.url + '/wq/p.debug.js')).text()).toBe('debug()');
  });

  it('forwards with the key, never printing or logging it, and /ready turns 503 when Whop refuses the key', async () => {
    const KEY = 'apik_cli_test_SECRET_value';
    const whop = await startFakeWhop({ apiKey: KEY });
    running.push(whop);
    const lines: string[] = [];
    const relay = await startRelay(
      {
        ...relayConfigFromEnv({ WHOP_API_KEY: 'apik_wrong_key_value', WHOP_COMPANY_ID: 'biz_cli', WHOPQ_ADMIN_TOKEN: 'admin-token-1' }),
        port: 0,
        host: '127.0.0.1',
        dataDir: tmp(),
        baseURL: whop.url,
      },
      {
        print: (l) => lines.push(l),
        logger: {
          info: (m, f) => lines.push(JSON.stringify([m, f])),
          warn: (m, f) => lines.push(JSON.stringify([m, f])),
          error: (m, f) => lines.push(JSON.stringify([m, f])),
        },
      },
    );
    running.unshift(relay);
    await fetch(relay.url + '/wq/e', {
      method: 'POST',
      headers: { 'content-type': 'text/plain' },
      body: JSON.stringify({ company_id: 'biz_cli', event_name: 'lead', event_id: 'cli-2' }),
    });
    const deadline = Date.now() + 10_000;
    let ready = 200;
    while (Date.now() < deadline && ready === 200) {
      ready = (await fetch(relay.url + '/wq/ready')).status;
      if (ready === 200) await new Promise((ok) => setTimeout(ok, 50));
    }
    expect(ready).toBe(503);
    const metrics = await (await fetch(relay.url + '/wq/metrics', { headers: { authorization: 'Bearer admin-token-1' } })).text();
    expect(metrics).toContain('whopq_accepted_total 1');
    for (const line of lines) expect(line).not.toContain('apik_wrong_key_value');
  });
});

describe('issue 17: startup checks', () => {
  const quiet = { logger: { info() {}, warn() {}, error() {} } };

  it('production refuses to start without a company allowlist', async () => {
    const config = relayConfigFromEnv({ WHOPQ_PRODUCTION: '1', WHOP_API_KEY: 'k_prod_1', WHOPQ_ADMIN_TOKEN: 'tok' });
    expect(configProblems(config).errors.join('\n')).toMatch(/WHOP_COMPANY_ID is not set/);
    await expect(startRelay({ ...config, port: 0, host: '127.0.0.1', dataDir: tmp() }, { ...quiet, print: () => {} })).rejects.toThrow(
      /WHOP_COMPANY_ID/,
    );
    expect(configProblems(relayConfigFromEnv({ WHOPQ_PRODUCTION: '1', WHOP_API_KEY: 'k', WHOP_COMPANY_ID: 'biz_a' })).errors).toEqual([]);
  });

  it('refuses a malformed trusted proxy CIDR at startup (10.0.0.1/ once trusted every IPv4 peer)', async () => {
    await expect(
      startRelay({ ...relayConfigFromEnv({ WHOPQ_TRUSTED_PROXIES: '10.0.0.1/' }), port: 0, dataDir: tmp() }, { ...quiet, print: () => {} }),
    ).rejects.toThrow(/WHOPQ_TRUSTED_PROXIES/);
  });

  it('dry run listens on loopback unless HOST is set, says its events stay unsent, and serves no inspector off loopback without a token', async () => {
    expect(relayConfigFromEnv({}).host).toBe('127.0.0.1');
    expect(relayConfigFromEnv({ HOST: '0.0.0.0' }).host).toBe('0.0.0.0');
    expect(relayConfigFromEnv({ WHOP_API_KEY: 'k' }).host).toBe('0.0.0.0');
    const printed: string[] = [];
    const relay = await startRelay(
      { ...relayConfigFromEnv({ HOST: '0.0.0.0' }), port: 0, dataDir: tmp() },
      { ...quiet, print: (l) => printed.push(l) },
    );
    running.push(relay);
    expect(printed.join('\n')).toMatch(/stay unsent even after WHOP_API_KEY is set/);
    expect(printed.join('\n')).toMatch(/inspector is off/);
    const port = (relay.server.address() as { port: number }).port;
    expect((await fetch(`http://127.0.0.1:${port}/wq/inspect`)).status).toBe(404);
  });
});

describe('webhooks', () => {
  it('read their secrets, event names and company, and say what is missing or wrong', () => {
    const one = relayConfigFromEnv({
      WHOP_COMPANY_ID: 'biz_a',
      WHOPQ_CALENDLY_SIGNING_KEY: ' ck ',
      WHOPQ_TYPEFORM_EVENTS: 'lT4Z3j=submit_application, x9=lead',
    });
    expect(one).toMatchObject({
      calendlySigningKey: 'ck',
      hooksCompany: 'biz_a',
      typeformEvents: { lT4Z3j: 'submit_application', x9: 'lead' },
    });
    expect(configProblems(one).errors).toEqual([]);
    const errors = (env: Record<string, string>) => configProblems(relayConfigFromEnv(env)).errors.join('\n');
    expect(errors({ WHOP_COMPANY_ID: 'biz_a,biz_b', WHOPQ_TYPEFORM_SECRET: 's' })).toMatch(/WHOPQ_HOOKS_COMPANY is not set/);
    expect(errors({ WHOP_COMPANY_ID: 'biz_a,biz_b', WHOPQ_TYPEFORM_SECRET: 's', WHOPQ_HOOKS_COMPANY: 'biz_b' })).toBe('');
    expect(errors({ WHOP_COMPANY_ID: 'biz_a', WHOPQ_TYPEFORM_SECRET: 's', WHOPQ_HOOKS_COMPANY: 'biz_c' })).toMatch(
      /is not one of WHOP_COMPANY_ID/,
    );
    expect(errors({ WHOPQ_TYPEFORM_EVENTS: 'lT4Z3j=purchase' })).toMatch(/WHOPQ_TYPEFORM_EVENTS entry "lT4Z3j=purchase"/);
    expect(errors({ WHOPQ_TYPEFORM_EVENTS: 'lT4Z3j' })).toMatch(/WHOPQ_TYPEFORM_EVENTS entry/);
  });

  it('serve /wq/hooks/calendly once its key is set, never printing or logging the key', async () => {
    const key = 'calendly_cli_key_5d41';
    const printed: string[] = [];
    const logged: string[] = [];
    const log = (...args: unknown[]) => logged.push(JSON.stringify(args));
    const relay = await startRelay(
      {
        ...relayConfigFromEnv({ WHOP_COMPANY_ID: 'biz_h', WHOPQ_CALENDLY_SIGNING_KEY: key }),
        port: 0,
        host: '127.0.0.1',
        dataDir: tmp(),
      },
      { print: (l) => printed.push(l), logger: { info: log, warn: log, error: log } },
    );
    running.push(relay);
    expect(printed.join('\n')).toMatch(/hooks: {3}POST http:\/\/127\.0\.0\.1:\d+\/wq\/hooks\/calendly \(for biz_h\)/);
    const raw = readFileSync(new URL('../../../test/fixtures/calendly-invitee-created.json', import.meta.url), 'utf8');
    const t = Math.floor(Date.now() / 1000);
    const post = (vendor: string, headers: Record<string, string>) =>
      fetch(`${relay.url}/wq/hooks/${vendor}`, { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body: raw });
    const signed = await post('calendly', {
      'calendly-webhook-signature': `t=${t},v1=${createHmac('sha256', key).update(`${t}.${raw}`).digest('hex')}`,
    });
    expect(await signed.json()).toMatchObject({ accepted: 1 });
    expect((await relay.outbox.recent(5)).map((r) => [r.event_name, r.company_id, r.state])).toEqual([['schedule', 'biz_h', 'dry_run']]);
    expect((await post('calendly', {})).status).toBe(401);
    expect((await post('typeform', {})).status).toBe(404);
    expect(printed.join('\n') + logged.join('\n')).not.toContain(key);
  });
});
