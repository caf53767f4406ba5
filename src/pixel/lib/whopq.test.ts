// @vitest-environment happy-dom
// The dispatcher against a real HTTP relay stand-in (node:http on an ephemeral port).
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import type { Conversion } from '../../shared/conversion';
import { clearQueue, loadQueue, QUEUE_KEY, setPersist } from './queue';

/** The queue's keys in storage (every event has its own, `wq_q1:…`). */
const queueKeys = () => Object.keys(localStorage).filter((k) => k.startsWith(QUEUE_KEY));
import { createWhopq, type Whopq } from './whopq';

interface Relay {
  url: string;
  /** The events received, page views aside. */
  events: Conversion[];
  /** The page views received. */
  pages: (Conversion & { title?: string; resumed?: boolean })[];
  /** The query of each request (the pixel's cookie domain hint). */
  queries: string[];
  /** The bodies posted to `/forget`. */
  forgets: { anonymous_id?: string }[];
  server: Server;
}

/** A relay stand-in answering `statuses` in turn (then 200), recording every event it receives. */
async function relay(statuses: number[] = []): Promise<Relay> {
  const events: Conversion[] = [];
  const pages: Relay['pages'] = [];
  const queries: string[] = [];
  const forgets: { anonymous_id?: string }[] = [];
  const server = createServer((req, res) => {
    let body = '';
    req.on('data', (c) => (body += c));
    req.on('end', () => {
      res.setHeader('access-control-allow-origin', '*');
      if (req.method != 'POST') return res.writeHead(204).end();
      queries.push(new URL(req.url!, 'http://x').search);
      if (req.url!.includes('/forget')) return (forgets.push(JSON.parse(body)), res.writeHead(204).end());
      const status = statuses.shift() ?? 200;
      if (status == 200) for (const e of JSON.parse(body).events) (e.event_name == 'page' ? pages : events).push(e);
      res.writeHead(status, { 'retry-after': '0' }).end('{}');
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/wq`, events, pages, queries, forgets, server };
}

async function until(cond: () => boolean, ms = 10_000): Promise<void> {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error('condition not met in ' + ms + ' ms');
    await new Promise((r) => setTimeout(r, 20));
  }
}

// Names of cookies with a value (happy-dom keeps a cookie deleted by max-age=0 as an empty value).
const cookieNames = () =>
  document.cookie
    .split('; ')
    .filter((c) => c.split('=')[1])
    .map((c) => c.split('=')[0]);

let r: Relay;
let whopq: Whopq;
/** Every instance of the test, revoked after it: instances share the window, and their route and pageshow listeners stay. */
let made: Whopq[] = [];
const make = () => {
  const w = createWhopq();
  made.push(w);
  return w;
};
beforeEach(async () => {
  localStorage.clear();
  for (const c of cookieNames()) document.cookie = c + '=;path=/;max-age=0';
  setPersist(true);
  clearQueue();
  // One instance a page in a browser; here the instances of earlier tests share the window: their
  // history hooks go, so a route change here is this test's instance's only.
  delete (history as { pushState?: unknown }).pushState;
  delete (history as { replaceState?: unknown }).replaceState;
  history.replaceState(null, '', '/landing?fbclid=FB1&utm_source=meta&utm_campaign=spring');
  r = await relay();
  whopq = make();
});
afterEach(async () => {
  // Every test ends with nothing queued, so no timer of this instance sends in the next test.
  await until(() => loadQueue().length == 0);
  for (const w of made.splice(0)) w('consent', 'revoke');
  // The revokes' /forget requests reach the relay before it closes.
  await new Promise((res) => setTimeout(res, 50));
  r.server.close();
  vi.restoreAllMocks();
});

describe('whopq commands', () => {
  it('init + track delivers one event with the page fields; the clicks on its URL are the relay to read', async () => {
    whopq('init', 'biz_A', { relay: r.url });
    whopq('identify', { email: 'ada@example.com' });
    whopq('track', 'lead', { value: 10, currency: 'EUR' });
    await until(() => r.events.length == 1);
    const e = r.events[0];
    expect(e).toMatchObject({
      company_id: 'biz_A',
      event_name: 'lead',
      action_source: 'website',
      value: 10,
      // As given: the relay puts it in lower case (and leaves out one off the API's list).
      currency: 'EUR',
      context: { screen_resolution: screen.width + 'x' + screen.height },
      user: { email: 'ada@example.com' },
    });
    expect(e.url).toContain('/landing?fbclid=FB1&utm_source=meta');
    expect(e.context).not.toHaveProperty('fbclid');
    // Epoch ms: the relay writes the ISO time.
    expect(typeof e.event_time).toBe('number');
    expect(e.context!.fbp).toMatch(/^fb\.1\.\d{13}\.\d+$/);
    expect(e.event_id).toMatch(/^[0-9a-f]{32}$/);
    expect(e.user!.anonymous_id).toMatch(/^[0-9a-f]{32}$/);
    expect(e.context).not.toHaveProperty('ip_address');
    expect(e.context).not.toHaveProperty('user_agent');
    expect(cookieNames()).toEqual(expect.arrayContaining(['wq_aid', '_fbp']));
    expect(cookieNames()).not.toContain('wq_t');
  });

  it('init, its page view and a track in one task go in one request under one lock; a flush with nothing queued asks for no lock', async () => {
    const request = vi.fn((_name: string, _o: unknown, f: (lock: unknown) => unknown) => Promise.resolve(f({})));
    Object.defineProperty(navigator, 'locks', { value: { request }, configurable: true });
    try {
      whopq('init', 'biz_A', { relay: r.url });
      whopq('track', 'lead');
      await until(() => r.events.length == 1 && loadQueue().length == 0);
      expect(r.pages).toHaveLength(1);
      expect(r.queries).toHaveLength(1);
      expect(request).toHaveBeenCalledTimes(1);
      whopq('flush');
      await new Promise((res) => setTimeout(res, 50));
      expect(request).toHaveBeenCalledTimes(1);
      expect(r.queries).toHaveLength(1);
    } finally {
      delete (navigator as { locks?: unknown }).locks;
    }
  });

  it('a currency off the API list: one warning, and the event goes (the relay leaves the currency out)', async () => {
    const warn = vi.spyOn(console, 'warn').mockImplementation(() => {});
    vi.spyOn(console, 'log').mockImplementation(() => {});
    whopq('debug', true);
    whopq('init', 'biz_A', { relay: r.url });
    whopq('track', 'lead', { value: 5, currency: 'zzz' });
    await until(() => r.events.length == 1);
    expect(r.events[0]).toMatchObject({ event_name: 'lead', value: 5, currency: 'zzz' });
    expect(warn).toHaveBeenCalledTimes(1);
    whopq('debug', false);
  });

  it('sends one event per initialised company, each with its own event_id, unless one is named', async () => {
    whopq('init', 'biz_A', { relay: r.url });
    whopq('init', 'biz_B');
    whopq('track', 'booked_call');
    await until(() => r.events.length == 2);
    expect(r.events.map((e) => e.company_id).sort()).toEqual(['biz_A', 'biz_B']);
    expect(r.events[0].event_id).not.toBe(r.events[1].event_id);
    expect(r.events[0]).toMatchObject({ event_name: 'booked_call' });
    whopq('track', 'lead', {}, { company_id: 'biz_B', event_id: 'order-7' });
    await until(() => r.events.length == 3);
    expect(r.events[2]).toMatchObject({ company_id: 'biz_B', event_id: 'order-7' });
  });

  it('an event is as it was at the call (time, URL, user, companies): what changes after it goes to later events only', async () => {
    whopq('init', 'biz_A', { relay: r.url });
    whopq('identify', { email: 'ada@example.com' });
    // A time the build (a task later) cannot mistake for its own.
    const at = Date.now() - 12_345;
    vi.spyOn(Date, 'now').mockReturnValueOnce(at);
    whopq('track', 'lead', {}, { user: { first_name: 'Ada' } });
    // In the same task, before the pixel's next one builds the event.
    vi.restoreAllMocks();
    whopq('identify', { email: 'grace@example.com', last_name: 'Hopper' });
    history.replaceState(null, '', '/thanks');
    whopq('init', 'biz_B');
    await until(() => r.events.length == 1);
    await new Promise((res) => setTimeout(res, 100));
    expect(r.events).toHaveLength(1);
    const e = r.events[0];
    expect(e).toMatchObject({ company_id: 'biz_A', event_time: at, user: { email: 'ada@example.com', first_name: 'Ada' } });
    expect(e.user).not.toHaveProperty('last_name');
    expect(e.url).toContain('/landing?fbclid=FB1');
    expect(loadQueue()).toEqual([]);
  });

  it("the call itself reads no cookie and draws no random id; the pixel's next task does", async () => {
    // No page view: its build would have read the ids (once a page) before the track.
    whopq('init', 'biz_A', { relay: r.url, pageViews: false });
    await until(() => loadQueue().length == 0);
    const cookie = vi.spyOn(document, 'cookie', 'get');
    const random = vi.spyOn(crypto, 'getRandomValues');
    whopq('track', 'lead');
    expect(cookie).not.toHaveBeenCalled();
    expect(random).not.toHaveBeenCalled();
    await until(() => r.events.length == 1);
    expect(cookie).toHaveBeenCalled();
    expect(random).toHaveBeenCalled();
    expect(r.events[0].url).toContain('fbclid=FB1');
  });

  it('retries 503 with backoff and delivers the same event_id once the relay recovers', async () => {
    r.server.close();
    r = await relay([503, 503]);
    whopq('init', 'biz_A', { relay: r.url });
    whopq('track', 'lead');
    const id = loadQueue().find((i) => i.e.event_name == 'lead')!.e.event_id;
    await until(() => r.events.length == 1);
    expect(r.events[0].event_id).toBe(id);
  });

  it('drops a batch the relay refuses for good (400)', async () => {
    r.server.close();
    r = await relay([400]);
    // One event alone (a page view in the same request would make it a batch, split on a 400).
    whopq('init', 'biz_A', { relay: r.url, pageViews: false });
    whopq('track', 'lead');
    await until(() => loadQueue().length == 0);
    expect(r.events).toEqual([]);
  });
});

describe('consent', () => {
  it('pending: holds events in memory, writes no cookie or storage, sends nothing; grant: they flow', async () => {
    whopq('init', 'biz_A', { relay: r.url, requireConsent: true });
    whopq('track', 'lead');
    expect(
      loadQueue()
        .map((i) => i.e.event_name)
        .sort(),
    ).toEqual(['lead', 'page']);
    expect(queueKeys()).toEqual([]);
    expect(localStorage.getItem('wq_aid')).toBeNull();
    expect(cookieNames()).toEqual([]);
    await new Promise((res) => setTimeout(res, 300));
    expect(r.events).toEqual([]);
    whopq('consent', 'grant');
    await until(() => r.events.length == 1);
    expect(r.events[0].url).toContain('fbclid=FB1');
    expect(cookieNames()).toEqual(expect.arrayContaining(['wq_aid', '_fbp']));
  });

  it('a grant made before init (a consent manager that answered first) stands', async () => {
    whopq('consent', 'grant');
    whopq('init', 'biz_A', { relay: r.url, requireConsent: true });
    whopq('track', 'lead');
    await until(() => r.events.length == 1);
    expect(localStorage.getItem('wq_aid')).toBe(r.events[0].user!.anonymous_id);
  });

  it('revoke: clears queue, cookies and storage, and sends nothing after', async () => {
    whopq('init', 'biz_A', { relay: r.url, requireConsent: true });
    whopq('consent', 'grant');
    whopq('consent', 'revoke');
    whopq('track', 'lead');
    expect(loadQueue()).toEqual([]);
    expect(queueKeys()).toEqual([]);
    expect(localStorage.getItem('wq_aid')).toBeNull();
    expect(cookieNames()).toEqual([]);
    await new Promise((res) => setTimeout(res, 300));
    expect(r.events).toEqual([]);
  });
});

describe('identity, browser ids and forgetting', () => {
  it('the pixel mints _fbp once; every event and the browser carry the same fbp and anonymous id', async () => {
    whopq('init', 'biz_A', { relay: r.url });
    whopq('track', 'lead');
    whopq('track', 'schedule');
    await until(() => r.events.length == 2);
    const cookie = (n: string) => document.cookie.match('(?:^|; )' + n + '=([^;]*)')![1];
    for (const e of r.events) {
      expect(e.context!.fbp).toBe(cookie('_fbp'));
      expect(e.user!.anonymous_id).toBe(cookie('wq_aid'));
    }
  });

  it('identify persists for later pages (a new instance), consent-gated', async () => {
    whopq('init', 'biz_A', { relay: r.url });
    whopq('identify', { email: 'ada@example.com' });
    const later = make();
    later('init', 'biz_A', { relay: r.url });
    later('track', 'lead');
    // Read at once (built by this read): other instances of earlier tests share the module's queue.
    expect(loadQueue().find((i) => i.e.event_name == 'lead')!.e.user).toMatchObject({ email: 'ada@example.com' });
    await until(() => loadQueue().length == 0);
    localStorage.clear();
    const pending = make();
    // No page view: held in memory until a grant, it would outlive the test.
    pending('init', 'biz_A', { relay: r.url, requireConsent: true, pageViews: false });
    pending('identify', { email: 'grace@example.com' });
    expect(localStorage.getItem('wq_u')).toBeNull();
  });

  it('an SPA route change to a new click: a page view of the new URL, and the next event carries it', async () => {
    whopq('init', 'biz_A', { relay: r.url });
    history.pushState(null, '', '/pricing?gclid=NEW');
    whopq('track', 'lead');
    await until(() => r.events.length == 1 && r.pages.length == 2);
    // Sent in one batch within a millisecond or two: the order in it is the queue's (time, then ids).
    expect(r.pages.map((p) => new URL(p.url!).search).sort()).toEqual(['?fbclid=FB1&utm_source=meta&utm_campaign=spring', '?gclid=NEW']);
    expect(r.events[0].url).toContain('/pricing?gclid=NEW');
  });

  it('reset forgets the identity and the ids (cookies and storage), and the next event has a new anonymous id', async () => {
    whopq('init', 'biz_A', { relay: r.url });
    whopq('identify', { email: 'ada@example.com' });
    whopq('track', 'lead');
    await until(() => r.events.length == 1);
    whopq('reset');
    expect(cookieNames().filter((n) => /^(wq_|_fbp)/.test(n))).toEqual([]);
    // The relay is told whom to forget (its visitor memory): the cookie is gone before the request leaves.
    await until(() => r.forgets.length == 1);
    expect(r.forgets[0]).toEqual({ anonymous_id: r.events[0].user!.anonymous_id });
    expect(Object.keys(localStorage).filter((k) => /^wq_(aid|fbp|u)$/.test(k))).toEqual([]);
    whopq('track', 'schedule');
    await until(() => r.events.length == 2);
    expect(r.events[1].user!.anonymous_id).not.toBe(r.events[0].user!.anonymous_id);
    expect(r.events[1].user).not.toHaveProperty('email');
  });

  it('a revoke is remembered by the next page; a grant there lifts it', async () => {
    whopq('init', 'biz_A', { relay: r.url });
    whopq('identify', { email: 'ada@example.com' });
    whopq('consent', 'revoke');
    expect(Object.keys(localStorage)).toEqual(['wq_r']);
    const next = make();
    next('init', 'biz_A', { relay: r.url });
    next('track', 'lead');
    await new Promise((res) => setTimeout(res, 300));
    expect(r.events).toEqual([]);
    next('consent', 'grant');
    next('track', 'contact');
    await until(() => r.events.length == 1);
    expect(r.events[0]).toMatchObject({ event_name: 'contact' });
    expect(r.events[0].user).not.toHaveProperty('email');
    expect(localStorage.getItem('wq_r')).toBeNull();
  });
});

describe('consent after a track', () => {
  it('a revoke in the same task as the track drops the event before it is built or written', async () => {
    whopq('init', 'biz_A', { relay: r.url });
    whopq('track', 'lead');
    whopq('consent', 'revoke');
    expect(loadQueue()).toEqual([]);
    await new Promise((res) => setTimeout(res, 300));
    expect(queueKeys()).toEqual([]);
    expect(cookieNames()).toEqual([]);
    expect(r.events).toEqual([]);
  });

  it('a grant in the same task as a pending track sends the event with its context', async () => {
    whopq('init', 'biz_A', { relay: r.url, requireConsent: true });
    whopq('track', 'lead');
    whopq('consent', 'grant');
    await until(() => r.events.length == 1);
    expect(r.events[0].url).toContain('fbclid=FB1');
    expect(r.events[0].context!.fbp).toBeTruthy();
    expect(localStorage.getItem('wq_aid')).toBe(r.events[0].user!.anonymous_id);
  });
});

describe('order and limits', () => {
  it('track and identify before init wait for it, then go to the company it names', async () => {
    whopq('identify', { email: ' Ada@Example.COM ', phone: '+1 (415) 555-0100' });
    whopq('track', 'lead');
    await new Promise((res) => setTimeout(res, 50));
    expect(loadQueue()).toEqual([]);
    whopq('init', 'biz_A', { relay: r.url });
    await until(() => r.events.length == 1);
    expect(r.events[0]).toMatchObject({
      company_id: 'biz_A',
      event_name: 'lead',
      user: { email: ' Ada@Example.COM ', phone: '+1 (415) 555-0100' },
    });
  });

  it('a call replayed from the snippet keeps its own time and page', async () => {
    const at = Date.now() - 3_600_000;
    whopq._r!(['init', 'biz_A', { relay: r.url }], at, 'https://shop.example/form?gclid=G0');
    whopq._r!(['track', 'lead'], at + 1, 'https://shop.example/form?gclid=G0');
    await until(() => r.events.length == 1);
    expect(r.events[0]).toMatchObject({ event_time: at + 1, url: 'https://shop.example/form?gclid=G0' });
  });

  it('a whole request refused as too large (413, 400 batch_too_large) is split and resent, nothing dropped', async () => {
    r.server.close();
    r = await relay([413, 400]);
    whopq('init', 'biz_A', { relay: r.url });
    for (let i = 0; i < 5; i++) whopq('track', 'lead', {}, { event_id: 'e' + i });
    await until(() => r.events.length == 5);
    expect(r.events.map((e) => e.event_id).sort()).toEqual(['e0', 'e1', 'e2', 'e3', 'e4']);
  });

  it("the init option params maps the site's own URL names; a name like a prototype key is none of them", async () => {
    history.replaceState(null, '', '/landing?constructor=1&valueOf=x&toString=&src=news&cid=C9&gclid=x&fbp=forged');
    whopq('init', 'biz_A', { relay: r.url, params: { src: 'utm_source', cid: 'ad_campaign_id', fbp: 'fbp' } });
    whopq('track', 'lead');
    await until(() => r.events.length == 1);
    const { fbp, screen_resolution, ...rest } = r.events[0].context!;
    expect(rest).toEqual({ utm_source: 'news', ad_campaign_id: 'C9' });
    // The pixel's own fbp is not the URL's to set.
    expect(fbp).toMatch(/^fb\.1\./);
    expect(screen_resolution).toBeTruthy();
  });
});

describe('bad calls', () => {
  it('never throw, warn once each in debug mode, and are dropped', async () => {
    const warn = vi.spyOn(console, 'warn').mockImplementation(() => {});
    vi.spyOn(console, 'log').mockImplementation(() => {});
    whopq('debug', true);
    const bad: unknown[][] = [[], [42], ['nope'], ['toString'], ['init', null], ['init', 'acme']];
    for (const args of bad) expect(() => (whopq as (...a: unknown[]) => void)(...args)).not.toThrow();
    expect(warn).toHaveBeenCalledTimes(bad.length);
    whopq('init', 'biz_A', { relay: r.url });
    const badAfterInit: unknown[][] = [
      ['track'],
      ['track', {}],
      ['track', 'lead', 'ten'],
      ['track', 'lead', {}, { company_id: 'biz_unknown' }],
      ['track', 'lead', {}, { user: 'ada' }],
      ['identify', 'ada@example.com'],
      ['consent', 'maybe'],
    ];
    warn.mockClear();
    for (const args of badAfterInit) expect(() => (whopq as (...a: unknown[]) => void)(...args)).not.toThrow();
    expect(warn).toHaveBeenCalledTimes(badAfterInit.length);
    expect(loadQueue().map((i) => i.e.event_name)).toEqual(['page']);
    whopq('debug', false);
  });
});

describe('page views', () => {
  it('one at init with the title, one per route change (pushState, replaceState, popstate), none for a fragment', async () => {
    document.title = 'Landing';
    whopq('init', 'biz_A', { relay: r.url });
    await until(() => r.pages.length == 1);
    expect(r.pages[0]).toMatchObject({ company_id: 'biz_A', title: 'Landing', action_source: 'website' });
    expect(r.pages[0].url).toContain('/landing?fbclid=FB1');
    expect(r.pages[0]).not.toHaveProperty('resumed');
    document.title = 'Pricing';
    history.pushState(null, '', '/pricing?gclid=G2');
    await until(() => r.pages.length == 2);
    history.replaceState(null, '', '/pricing?gclid=G2#plans');
    history.replaceState(null, '', '/checkout');
    await until(() => r.pages.length == 3);
    history.back();
    await until(() => r.pages.length == 4);
    expect(r.pages.map((p) => new URL(p.url!).pathname + new URL(p.url!).search)).toEqual([
      '/landing?fbclid=FB1&utm_source=meta&utm_campaign=spring',
      '/pricing?gclid=G2',
      '/checkout',
      '/landing?fbclid=FB1&utm_source=meta&utm_campaign=spring',
    ]);
    expect(r.pages[1]).toMatchObject({ title: 'Pricing' });
    // A second init (another company) is no new page view.
    whopq('init', 'biz_B');
    await new Promise((res) => setTimeout(res, 200));
    expect(r.pages).toHaveLength(4);
  });

  it('a back/forward-cache restore is a page view of the same URL, marked resumed', async () => {
    whopq('init', 'biz_A', { relay: r.url });
    await until(() => r.pages.length == 1);
    dispatchEvent(Object.assign(new Event('pageshow'), { persisted: false }));
    dispatchEvent(Object.assign(new Event('pageshow'), { persisted: true }));
    await until(() => r.pages.length == 2);
    expect(r.pages[1]).toMatchObject({ resumed: true });
    expect(r.pages[1].url).toBe(r.pages[0].url);
  });

  it('none with pageViews: false, and the route hooks still leave every event its own URL', async () => {
    whopq('init', 'biz_A', { relay: r.url, pageViews: false });
    history.pushState(null, '', '/pricing?gclid=G3');
    whopq('track', 'lead');
    await until(() => r.events.length == 1);
    dispatchEvent(Object.assign(new Event('pageshow'), { persisted: true }));
    await new Promise((res) => setTimeout(res, 200));
    expect(r.pages).toEqual([]);
    expect(r.events[0].url).toContain('/pricing?gclid=G3');
  });

  it('tell the relay the cookie domain the pixel uses', async () => {
    whopq('init', 'biz_A', { relay: r.url, cookieDomain: 'shop.example' });
    await until(() => r.pages.length == 1);
    expect(r.queries).toContain('?d=shop.example');
  });
});

describe('hand-off to a server', () => {
  it("the callback gets the event's id (one for every company) and the anonymous id the event carries", async () => {
    whopq('init', 'biz_A', { relay: r.url });
    whopq('init', 'biz_B');
    let ids: { event_id: string; anonymous_id: string } | undefined;
    whopq('track', 'lead', {}, { callback: (i: typeof ids) => (ids = i) });
    expect(ids!.event_id).toMatch(/^[0-9a-f]{32}$/);
    await until(() => r.events.length == 2);
    for (const e of r.events) expect(e).toMatchObject({ event_id: ids!.event_id, user: { anonymous_id: ids!.anonymous_id } });
    // A caller's own id is handed back as itself; a callback that throws costs nothing.
    whopq('track', 'contact', {}, { event_id: 'order-9', callback: (i: typeof ids) => ((ids = i), JSON.parse('{')) });
    expect(ids!.event_id).toBe('order-9');
    await until(() => r.events.length == 4);
  });

  it("carries Whop's own visitor id from its localStorage mirror, and never writes it", async () => {
    localStorage.setItem('_wuid', 'wuid-123');
    whopq('init', 'biz_A', { relay: r.url });
    whopq('track', 'lead');
    await until(() => r.events.length == 1);
    expect(r.events[0].user).toMatchObject({ linked_wuid: 'wuid-123' });
    expect(localStorage.getItem('_wuid')).toBe('wuid-123');
    expect(cookieNames()).not.toContain('_wuid');
  });
});

describe('Google Consent Mode v2', () => {
  const w = window as unknown as { dataLayer?: unknown[] };
  // What gtag() pushes: its `arguments` object.
  function gtag(..._a: unknown[]) {
    // biome-ignore lint/complexity/noArguments: gtag pushes its arguments object, and so must this stand-in.
    w.dataLayer!.push(arguments);
  }
  beforeEach(() => {
    w.dataLayer = [];
  });
  afterEach(() => {
    delete w.dataLayer;
  });

  it('a default denial holds everything (no cookie, no storage, nothing sent) until an update grants', async () => {
    gtag('consent', 'default', { ad_storage: 'denied', ad_user_data: 'denied', analytics_storage: 'denied' });
    whopq('init', 'biz_A', { relay: r.url });
    whopq('track', 'lead');
    gtag('consent', 'update', { analytics_storage: 'granted' });
    await new Promise((res) => setTimeout(res, 300));
    expect(r.events).toEqual([]);
    expect(r.pages).toEqual([]);
    expect(cookieNames()).toEqual([]);
    expect(queueKeys()).toEqual([]);
    gtag('consent', 'update', { ad_storage: 'granted', ad_user_data: 'granted' });
    await until(() => r.events.length == 1 && r.pages.length == 1);
    expect(cookieNames()).toEqual(expect.arrayContaining(['wq_aid', '_fbp']));
  });

  it('an update already on the dataLayer at init counts; a later denial revokes (everything forgotten)', async () => {
    gtag('consent', 'default', { ad_storage: 'denied', ad_user_data: 'denied' });
    gtag('consent', 'update', { ad_storage: 'granted', ad_user_data: 'granted' });
    whopq('init', 'biz_A', { relay: r.url });
    whopq('track', 'lead');
    await until(() => r.events.length == 1);
    gtag('consent', 'update', { ad_storage: 'granted', ad_user_data: 'denied' });
    expect(cookieNames().filter((n) => /^(wq_|_fbp)/.test(n))).toEqual([]);
    expect(localStorage.getItem('wq_r')).toBe('1');
    whopq('track', 'contact');
    await new Promise((res) => setTimeout(res, 300));
    expect(r.events).toHaveLength(1);
  });

  it('a default grant changes nothing, and the page is never broken by what it pushes', async () => {
    gtag('consent', 'default', { ad_storage: 'granted', ad_user_data: 'granted' });
    whopq('init', 'biz_A', { relay: r.url });
    for (const odd of [
      null,
      7,
      'consent',
      ['consent'],
      ['consent', 'update', null],
      {
        0: 'consent',
        2: {
          get ad_storage() {
            throw new Error('x');
          },
        },
      },
    ])
      expect(() => w.dataLayer!.push(odd)).not.toThrow();
    whopq('track', 'lead');
    await until(() => r.events.length == 1);
    expect(w.dataLayer).toHaveLength(7);
  });
});
