import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { Outbox, OutboxInput } from '../lib/outbox';
import { SqliteOutbox } from '../node/sqliteOutbox';
import { createInspector } from './createInspector';
import type { InspectorData } from './inspectorData';

const BASE = 'http://relay.test/wq/inspect';
const HOSTILE = '</script><img src=x onerror=alert(1)>&"\'\u2028';

let dir: string;
let outbox: SqliteOutbox;

function event(id: string, extra: Partial<OutboxInput['body']> = {}): OutboxInput {
  const body = { company_id: 'biz_demo', event_id: id, event_name: 'lead' as const, url: 'https://shop.example/', ...extra };
  return { company_id: 'biz_demo', event_name: body.event_name, event_id: id, received_at: Date.now(), body };
}

/** Puts one event in each state the inspector shows, through the real outbox's own transitions. */
async function fillEveryState(): Promise<void> {
  await outbox.append([
    event('e-delivered'),
    event('e-retrying'),
    event('e-dead'),
    event('e-pending', { custom_name: HOSTILE, event_name: 'custom', context: { utm_source: HOSTILE, fbclid: 'IwAR_click' } }),
  ]);
  const now = Date.now();
  const claimed = await outbox.claim(now, 3, 60_000);
  const byId = new Map(claimed.map((r) => [r.event_id, r]));
  expect([...byId.keys()].sort()).toEqual(['e-dead', 'e-delivered', 'e-retrying']);
  await outbox.settle(byId.get('e-delivered')!, { kind: 'delivered', at: now, whop_id: 'conv_123' });
  await outbox.settle(byId.get('e-retrying')!, {
    kind: 'retry',
    at: now,
    next_attempt_at: now + 30_000,
    error: '500 internal_server_error',
  });
  await outbox.settle(byId.get('e-dead')!, { kind: 'dead', at: now, error: '422 {"error":{"message":"bad key sk_live_SECRET123"}}' });
}

async function data(inspect: (r: Request) => Promise<Response>, init?: RequestInit, query = ''): Promise<{ res: Response; text: string }> {
  const res = await inspect(new Request(`${BASE}/data.json${query}`, init));
  return { res, text: await res.text() };
}

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'whopq-inspector-'));
  outbox = new SqliteOutbox({ path: join(dir, 'outbox.db') });
});
afterEach(async () => {
  await outbox.close();
  rmSync(dir, { recursive: true, force: true });
});

describe('createInspector', () => {
  it('serves a page whose only script and style carry the nonce its CSP allows', async () => {
    const inspect = createInspector({ outbox, label: 'dry-run' });
    const res = await inspect(new Request(BASE));
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toMatch(/^text\/html/);
    const csp = res.headers.get('content-security-policy') ?? '';
    const nonce = /script-src 'nonce-([^']+)'/.exec(csp)?.[1];
    expect(nonce).toBeTruthy();
    expect(csp).not.toContain('unsafe-inline');
    expect(csp).toContain("default-src 'none'");
    const html = await res.text();
    const tags = html.match(/<(script|style)\b[^>]*>/g) ?? [];
    expect(tags).toHaveLength(2);
    for (const tag of tags) expect(tag).toContain(`nonce="${nonce}"`);
    // No external assets: nothing fetched but data.json (the icon is inline, so no /favicon.ico 404 either).
    const icon = /<link rel="icon" href="data:image\/svg\+xml,[^"]+">/;
    expect(html).toMatch(icon);
    expect(csp).toContain("img-src 'self' data:");
    expect(html.replace(icon, '')).not.toMatch(/<(link|img|iframe)\b|\bsrc=|@import|url\(/);
    // A second response gets another nonce.
    const again = await inspect(new Request(BASE + '/'));
    expect(again.headers.get('content-security-policy')).not.toContain(nonce);
  });

  it('reports every state, retrying apart from pending, with context, Whop ids and errors', async () => {
    await fillEveryState();
    const inspect = createInspector({ outbox });
    const { res, text } = await data(inspect);
    expect(res.status).toBe(200);
    const d = JSON.parse(text) as InspectorData;
    expect(d.counts).toEqual({ pending: 1, retrying: 1, delivered: 1, dead: 1, dry_run: 0, skipped: 0 });
    const byId = Object.fromEntries(d.events.map((e) => [e.event_id, e]));
    expect(byId['e-delivered']).toMatchObject({ state: 'delivered', whop_id: 'conv_123', attempts: 1 });
    expect(byId['e-retrying']).toMatchObject({ state: 'retrying', attempts: 1, last_error: '500 internal_server_error' });
    expect(byId['e-retrying']!.next_attempt_at).toBeGreaterThan(d.now);
    expect(byId['e-dead']).toMatchObject({ state: 'dead' });
    expect(byId['e-dead']!.last_error).toContain('422');
    expect(byId['e-pending']).toMatchObject({ state: 'pending', attempts: 0, event_name: 'custom', custom_name: HOSTILE });
    expect(byId['e-pending']!.context).toMatchObject({ utm_source: HOSTILE, fbclid: 'IwAR_click' });
    expect(d.per_minute.reduce((n, [, c]) => n + c, 0)).toBe(4);
  });

  it('shows dry-run events as such', async () => {
    const dry = new SqliteOutbox({ path: join(dir, 'dry.db'), dryRun: true });
    try {
      await dry.append([event('e-dry')]);
      const d = JSON.parse((await data(createInspector({ outbox: dry }))).text) as InspectorData;
      expect(d.counts.dry_run).toBe(1);
      expect(d.events[0]).toMatchObject({ event_id: 'e-dry', state: 'dry_run' });
    } finally {
      await dry.close();
    }
  });

  it("shows page views as not forwarded, and each event's repairs", async () => {
    const page = { ...event('e-page', { event_name: 'page' as never }), event_name: 'page', skipped: 'page view: not a conversion' };
    const repaired = { ...event('e-repaired'), dropped: [{ param: 'currency', message: "Not a currency on the API's list; left out." }] };
    await outbox.append([page, repaired]);
    const d = JSON.parse((await data(createInspector({ outbox }))).text) as InspectorData;
    expect(d.counts).toMatchObject({ pending: 1, skipped: 1 });
    const byId = Object.fromEntries(d.events.map((e) => [e.event_id, e]));
    expect(byId['e-page']).toMatchObject({ state: 'skipped', event_name: 'page', last_error: 'page view: not a conversion', dropped: [] });
    expect(byId['e-repaired']).toMatchObject({
      state: 'pending',
      dropped: [{ param: 'currency', message: expect.stringMatching(/left out/) }],
    });
  });

  it('never lets attacker-controlled text out as markup, and never shows a secret', async () => {
    await fillEveryState();
    const { res, text } = await data(createInspector({ outbox, secrets: ['sk_live_SECRET123'] }));
    expect(res.headers.get('x-content-type-options')).toBe('nosniff');
    expect(text).not.toMatch(/[<>&\u2028]/);
    expect(text).not.toContain('sk_live_SECRET123');
    expect(text).toContain('[redacted]');
    // Escaping changed the text, not the value.
    expect(JSON.stringify(JSON.parse(text))).toContain(JSON.stringify(HOSTILE).slice(1, -1));
  });

  it('asks for the token when one is set, by header or query string', async () => {
    const inspect = createInspector({ outbox, token: 'tok_abcdef' });
    expect((await inspect(new Request(BASE))).status).toBe(401);
    expect((await data(inspect)).res.status).toBe(401);
    expect((await data(inspect, { headers: { authorization: 'Bearer tok_abcdeX' } })).res.status).toBe(401);
    expect((await data(inspect, { headers: { authorization: 'Bearer tok_abcdef' } })).res.status).toBe(200);
    expect((await inspect(new Request(BASE + '?token=tok_abcdef'))).status).toBe(200);
    expect((await inspect(new Request(BASE + '?token=tok_abcdefg'))).status).toBe(401);
  });

  it('does not exist in production without a token, and needs it with one', async () => {
    expect((await createInspector({ outbox, production: true })(new Request(BASE))).status).toBe(404);
    const inspect = createInspector({ outbox, production: true, token: 'tok_prod_1' });
    expect((await inspect(new Request(BASE))).status).toBe(401);
    expect((await inspect(new Request(BASE, { headers: { authorization: 'Bearer tok_prod_1' } }))).status).toBe(200);
  });

  it('answers 404 off its routes, 405 to writes, and clamps the row limit', async () => {
    await outbox.append(Array.from({ length: 3 }, (_, i) => event('e' + i)));
    const inspect = createInspector({ outbox });
    expect((await inspect(new Request(BASE + '/../secrets'))).status).toBe(404);
    expect((await inspect(new Request(BASE + 'or'))).status).toBe(404);
    expect((await inspect(new Request(BASE, { method: 'POST', body: 'x' }))).status).toBe(405);
    expect((JSON.parse((await data(inspect, undefined, '?limit=1')).text) as InspectorData).events).toHaveLength(1);
    expect((JSON.parse((await data(inspect, undefined, '?limit=-5')).text) as InspectorData).events).toHaveLength(1);
    expect((JSON.parse((await data(inspect, undefined, '?limit=abc')).text) as InspectorData).events).toHaveLength(3);
  });

  it('answers 503 when the store cannot be read', async () => {
    const broken: Outbox = {
      append: () => Promise.reject(new Error('closed')),
      stats: () => Promise.reject(new Error('closed')),
      recent: () => Promise.reject(new Error('closed')),
      close: () => Promise.resolve(),
    };
    const { res, text } = await data(createInspector({ outbox: broken }));
    expect(res.status).toBe(503);
    expect(JSON.parse(text)).toMatchObject({ error: { type: 'service_unavailable' } });
  });
});
