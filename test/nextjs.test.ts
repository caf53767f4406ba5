// The Next.js route example (examples/nextjs/app/wq/[...path]/route.ts), called the way Next.js
// calls it: its exported GET/POST/OPTIONS with a `Request`, no server. It imports `whopq/relay`, the
// package's built relay (dist/relay, from `npm run build`), with the example's MemoryOutbox.
import { createHmac } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import type { Conversion } from '../src/shared/conversion';
import type { MemoryOutbox } from '../src/relay/lib/memoryOutbox';

type Route = typeof import('../examples/nextjs/app/wq/[...path]/route');
const SITE = 'https://shop.example';
const COMPANY = 'biz_next1';
const saved = { ...process.env };

async function loadRoute(env: Record<string, string>): Promise<{ route: Route; outbox: MemoryOutbox }> {
  vi.resetModules();
  Object.assign(process.env, env);
  const route = await import('../examples/nextjs/app/wq/[...path]/route');
  const { outbox } = await import('../examples/nextjs/lib/whopq');
  return { route, outbox: outbox as MemoryOutbox };
}

const event = (event_id: string): Conversion => ({
  company_id: COMPANY,
  event_name: 'lead',
  event_id,
  event_time: new Date().toISOString(),
  action_source: 'website',
  url: `${SITE}/landing`,
  user: { anonymous_id: 'anon-n1' },
});

const post = (route: Route, events: Conversion[], headers: Record<string, string> = {}) =>
  route.POST(
    new Request(`${SITE}/wq/e`, {
      method: 'POST',
      headers: {
        'content-type': 'text/plain',
        origin: SITE,
        'user-agent': 'Mozilla/5.0 (next test)',
        'x-real-ip': '198.51.100.4',
        ...headers,
      },
      body: JSON.stringify({ events }),
    }),
  );

let route: Route;
let outbox: MemoryOutbox;

beforeAll(async () => {
  ({ route, outbox } = await loadRoute({
    VERCEL: '1',
    WHOP_COMPANY_ID: COMPANY,
    WHOPQ_ORIGINS: `${SITE},https://app.example`,
    WHOPQ_BUNDLE_PATH: 'dist/whopq.js',
  }));
});
afterAll(() => {
  for (const key of Object.keys(process.env)) if (!(key in saved)) delete process.env[key];
  Object.assign(process.env, saved);
});

describe('Next.js route handler example', () => {
  it('POST /wq/e stores the event with the IP Vercel gives in x-real-ip, and a resend is a duplicate', async () => {
    const first = await post(route, [event('next-ev-1')]);
    expect(first.status).toBe(200);
    expect(await first.json()).toEqual({ accepted: 1, duplicates: 0, rejected: [] });
    const again = await post(route, [event('next-ev-1')]);
    expect(await again.json()).toMatchObject({ accepted: 0, duplicates: 1 });
    const stored = outbox.all().filter((r) => r.event_id === 'next-ev-1');
    expect(stored).toHaveLength(1);
    expect(stored[0]!.state).toBe('dry_run');
    expect(stored[0]!.body.context).toMatchObject({ ip_address: '198.51.100.4', user_agent: 'Mozilla/5.0 (next test)' });
  });

  it('refuses a company and an origin it was not configured for', async () => {
    const other = await post(route, [{ ...event('next-ev-2'), company_id: 'biz_someoneelse' }]);
    expect(other.status).toBe(403);
    expect(await other.json()).toMatchObject({ rejected: [{ index: 0, error: { param: 'company_id' } }] });
    const foreign = await post(route, [event('next-ev-3')], { origin: 'https://evil.example' });
    expect(foreign.status).toBe(403);
    expect(outbox.all().some((r) => r.event_id === 'next-ev-2' || r.event_id === 'next-ev-3')).toBe(false);
  });

  it('OPTIONS answers the CORS preflight of a listed cross-origin page only', async () => {
    const preflight = (origin: string) =>
      route.OPTIONS(new Request(`${SITE}/wq/e`, { method: 'OPTIONS', headers: { origin, 'access-control-request-method': 'POST' } }));
    const ok = await preflight('https://app.example');
    expect(ok.status).toBe(204);
    expect(ok.headers.get('access-control-allow-origin')).toBe('https://app.example');
    expect((await preflight('https://evil.example')).status).toBe(403);
  });

  it('GET serves the built pixel at /wq/p.js with an ETag, health and readiness', async () => {
    const js = await route.GET(new Request(`${SITE}/wq/p.js`));
    expect(js.status).toBe(200);
    expect(Buffer.from(await js.arrayBuffer()).equals(readFileSync('dist/whopq.js'))).toBe(true);
    const etag = js.headers.get('etag')!;
    expect((await route.GET(new Request(`${SITE}/wq/p.js`, { headers: { 'if-none-match': etag } }))).status).toBe(304);
    expect((await route.GET(new Request(`${SITE}/wq/health`))).status).toBe(200);
    expect((await route.GET(new Request(`${SITE}/wq/ready`))).status).toBe(200);
  });

  it('off Vercel, a client-sent x-real-ip is not believed', async () => {
    const { route: plain, outbox: plainOutbox } = await loadRoute({ VERCEL: '' });
    expect((await post(plain, [event('next-ev-4')])).status).toBe(200);
    expect(plainOutbox.all().find((r) => r.event_id === 'next-ev-4')!.body.context?.ip_address ?? null).toBeNull();
  });

  it('with WHOPQ_IP_HEADER=x-forwarded-for, one validated IP (the proxy-written rightmost entry, port removed), never the list', async () => {
    const { route: proxied, outbox: proxiedOutbox } = await loadRoute({ VERCEL: '', WHOPQ_IP_HEADER: 'x-forwarded-for' });
    const ipOf = (id: string) => proxiedOutbox.all().find((r) => r.event_id === id)!.body.context?.ip_address ?? null;
    expect((await post(proxied, [event('next-ip-1')], { 'x-forwarded-for': '198.51.100.66, 203.0.113.7' })).status).toBe(200);
    expect((await post(proxied, [event('next-ip-2')], { 'x-forwarded-for': '203.0.113.8:51234' })).status).toBe(200);
    expect((await post(proxied, [event('next-ip-3')], { 'x-forwarded-for': 'not-an-ip' })).status).toBe(200);
    expect([ipOf('next-ip-1'), ipOf('next-ip-2'), ipOf('next-ip-3')]).toEqual(['203.0.113.7', '203.0.113.8', null]);
    delete process.env.WHOPQ_IP_HEADER;
  });

  it('with WHOPQ_TYPEFORM_SECRET, POST /wq/hooks/typeform stores a signed response once and refuses an unsigned one', async () => {
    const secret = 'next_typeform_secret';
    const { route: hooked, outbox: hookedOutbox } = await loadRoute({ VERCEL: '', WHOPQ_TYPEFORM_SECRET: secret });
    const raw = readFileSync(new URL('./fixtures/typeform-form-response.json', import.meta.url), 'utf8');
    const send = (signature?: string) =>
      hooked.POST(
        new Request(`${SITE}/wq/hooks/typeform`, {
          method: 'POST',
          headers: { 'content-type': 'application/json', ...(signature ? { 'typeform-signature': signature } : {}) },
          body: raw,
        }),
      );
    expect((await send()).status).toBe(401);
    const signature = `sha256=${createHmac('sha256', secret).update(raw).digest('base64')}`;
    expect(await (await send(signature)).json()).toMatchObject({ accepted: 1, duplicates: 0 });
    expect(await (await send(signature)).json()).toMatchObject({ accepted: 0, duplicates: 1 });
    const stored = hookedOutbox.all().filter((r) => r.event_name === 'lead' && r.company_id === COMPANY);
    expect(stored.map((r) => r.event_id)).toEqual(['9d2e4f6a8b0c1d3e5f7a9b1c3d5e7f90']);
    delete process.env.WHOPQ_TYPEFORM_SECRET;
  });
});
