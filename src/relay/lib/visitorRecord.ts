import { CLICK_COOKIE_MAX_AGE_S, fillClicks, mergeClicks, pruneClicks, type ClickModel } from './clickModel';
import type { RelayContext, RelayEvent } from './relayEvent';

/** How long a record's browser ids, IP, user agent and landing URL fill a server event: the longest click window, at least 90 days. */
export const VISITOR_WINDOW_MS = Math.max(CLICK_COOKIE_MAX_AGE_S * 1000, 90 * 86_400_000);
/** The browser ids a record keeps (the latest seen). */
export const BROWSER_IDS = ['fbp', 'fbc', 'ga', 'ttp'] as const;

/**
 * What the relay remembers of one visitor (docs/SERVER.md lists it): the latest click per network and
 * the latest touch (a `ClickModel`), the latest browser ids, IP and user agent, the landing URL of
 * the latest click, the anonymous id, and the time of the latest event folded in. Short keys: it is
 * stored as JSON, up to a million of them.
 */
export interface VisitorRecord {
  c: ClickModel['c'];
  t?: ClickModel['t'];
  /** fbp, fbc, ga, ttp */
  b?: Record<string, string>;
  ip?: string;
  ua?: string;
  /** The landing page (no query, no fragment) of the latest event that brought a click or a touch. */
  u?: string;
  /** The anonymous id of the browser that wrote it (what `/forget` forgets by). */
  aid?: string;
  /** Epoch ms of the latest event folded in. */
  at: number;
}

/** The landing page without its query (the clicks and UTMs in it are kept apart) and fragment: less to store, less to leak. */
function _page(url: string): string {
  const end = url.search(/[?#]/);
  return end < 0 ? url : url.slice(0, end);
}

/** A record of one browser event: `clicks` the request's click model (real click times), `landing` whether the event brought one. */
export function recordOf(event: RelayEvent, clicks: ClickModel, at: number, landing: boolean): VisitorRecord {
  const ctx = (event.context ?? {}) as RelayContext & Record<string, unknown>;
  const rec: VisitorRecord = { c: { ...clicks.c }, at };
  if (clicks.t) rec.t = clicks.t;
  const ids: Record<string, string> = {};
  for (const k of BROWSER_IDS) {
    const v = ctx[k];
    if (typeof v === 'string' && v) ids[k] = v;
  }
  if (Object.keys(ids).length) rec.b = ids;
  if (ctx.ip_address) rec.ip = ctx.ip_address;
  if (ctx.user_agent) rec.ua = ctx.user_agent;
  if (landing && event.url) rec.u = _page(event.url);
  const aid = event.user?.anonymous_id;
  if (aid) rec.aid = aid;
  return rec;
}

/** `b` folded into `a` (changed in place and returned): clicks per network by time, the rest from the newer record where it has them. */
export function mergeRecords(a: VisitorRecord, b: VisitorRecord): VisitorRecord {
  const model: ClickModel = { c: a.c, t: a.t };
  for (const [fields, at] of Object.values(b.c)) mergeClicks(model, fields, at);
  if (b.t) mergeClicks(model, b.t[0], b.t[1]);
  a.c = model.c;
  if (model.t) a.t = model.t;
  const newer = b.at >= a.at;
  const pick = <K extends 'ip' | 'ua' | 'u' | 'aid'>(k: K) => {
    if (b[k] && (newer || !a[k])) a[k] = b[k];
  };
  for (const k of ['ip', 'ua', 'u', 'aid'] as const) pick(k);
  if (b.b) {
    const ids = { ...a.b };
    for (const [k, v] of Object.entries(b.b)) if (newer || !ids[k]) ids[k] = v;
    a.b = ids;
  }
  a.at = Math.max(a.at, b.at);
  return a;
}

/** Drops what is past its window at `now`; null when nothing is left worth keeping. */
export function pruneRecord(rec: VisitorRecord, now: number): VisitorRecord | null {
  pruneClicks(rec, now);
  return now - rec.at > VISITOR_WINDOW_MS ? null : rec;
}

const _empty = (v: unknown) => v === undefined || v === null || v === '';

/**
 * Fills a server event's missing context from a visitor's record, never overwriting what the event
 * gave: each network's click ids (when the event has none of that network's), the touch (when it has
 * no UTM or ad id), within their windows of `at` (`fillClicks`); browser ids, IP, user agent, the
 * landing URL and the anonymous id when the record is within 90 days. Returns the fields filled
 * (`context.fbclid`, `url`, `user.anonymous_id`).
 */
export function fillFromRecord(event: RelayEvent, rec: VisitorRecord, at: number): string[] {
  event.context ??= {};
  const ctx = event.context as RelayContext & Record<string, unknown>;
  const hadFbc = !_empty(ctx.fbc);
  const filled = fillClicks(event, { c: rec.c, t: rec.t }, at).map((f) => `context.${f}`);
  if (!hadFbc && !_empty(ctx.fbc)) filled.push('context.fbc');
  if (at - rec.at > VISITOR_WINDOW_MS) return filled;
  const fill = (name: string, has: boolean, set: () => void) => {
    if (has) return;
    set();
    filled.push(name);
  };
  for (const k of BROWSER_IDS) {
    const v = rec.b?.[k];
    if (v) fill(`context.${k}`, !_empty(ctx[k]), () => (ctx[k] = v));
  }
  const { ip, ua, u, aid } = rec;
  if (ip) fill('context.ip_address', !_empty(ctx.ip_address), () => (ctx.ip_address = ip));
  if (ua) fill('context.user_agent', !_empty(ctx.user_agent), () => (ctx.user_agent = ua));
  if (u) fill('url', !_empty(event.url), () => (event.url = u));
  if (aid) fill('user.anonymous_id', !_empty(event.user?.anonymous_id), () => (event.user = { ...event.user, anonymous_id: aid }));
  return filled;
}
