import type { RelayContext, RelayEvent } from './relayEvent';

const _DAY = 24 * 3_600_000;

/**
 * The ad networks whose click ids the relay keeps, each for its own window (docs/PROTOCOL.md has
 * the sources): a click id replaces only its own network's id. `params` are the URL query names
 * that carry it (Snapchat's is `ScCid`), `fields` the context fields it fills.
 */
export const NETWORKS: ReadonlyArray<{
  name: string;
  fields: readonly string[];
  params: Readonly<Record<string, string>>;
  windowMs: number;
}> = [
  { name: 'meta', fields: ['fbclid'], params: { fbclid: 'fbclid' }, windowMs: 90 * _DAY },
  {
    name: 'google',
    fields: ['gclid', 'gbraid', 'wbraid'],
    params: { gclid: 'gclid', gbraid: 'gbraid', wbraid: 'wbraid' },
    windowMs: 90 * _DAY,
  },
  { name: 'tiktok', fields: ['ttclid'], params: { ttclid: 'ttclid' }, windowMs: 28 * _DAY },
  { name: 'microsoft', fields: ['msclkid'], params: { msclkid: 'msclkid' }, windowMs: 90 * _DAY },
  { name: 'linkedin', fields: ['li_fat_id'], params: { li_fat_id: 'li_fat_id' }, windowMs: 90 * _DAY },
  { name: 'reddit', fields: ['rdt_cid'], params: { rdt_cid: 'rdt_cid' }, windowMs: 28 * _DAY },
  { name: 'snapchat', fields: ['sccid'], params: { ScCid: 'sccid', sccid: 'sccid' }, windowMs: 28 * _DAY },
  { name: 'x', fields: ['twclid'], params: { twclid: 'twclid' }, windowMs: 30 * _DAY },
];

/** UTMs and ad ids: one group, the latest touch's, kept this long. */
export const TOUCH_FIELDS = [
  'utm_source',
  'utm_medium',
  'utm_campaign',
  'utm_term',
  'utm_content',
  'utm_id',
  'ad_id',
  'ad_set_id',
  'ad_campaign_id',
] as const;
export const TOUCH_WINDOW_MS = 30 * _DAY;
/** The cookie's Max-Age: the longest window. */
export const CLICK_COOKIE_MAX_AGE_S = Math.max(TOUCH_WINDOW_MS, ...NETWORKS.map((n) => n.windowMs)) / 1000;

/** The click model: per network its ids and the time of the click; the latest touch and its time. */
export interface ClickModel {
  /** network → [fields, epoch ms] */
  c: Record<string, [Record<string, string>, number]>;
  /** the latest touch → [fields, epoch ms], or absent */
  t?: [Record<string, string>, number];
  /**
   * The anonymous id of the browser, kept only beside clicks: `/forget` reads it here (HttpOnly, so
   * still sent after the pixel cleared its own cookies) to forget the visitor's memory.
   */
  a?: string;
}

const _NETWORK_OF: ReadonlyMap<string, (typeof NETWORKS)[number]> = new Map(NETWORKS.flatMap((n) => n.fields.map((f) => [f, n] as const)));
const _PARAM: ReadonlyMap<string, string> = new Map(
  NETWORKS.flatMap((n) => Object.entries(n.params)).concat(TOUCH_FIELDS.map((f) => [f, f])),
);
const _TOUCH: ReadonlySet<string> = new Set(TOUCH_FIELDS);
/** A URL parameter's value is cut to this (as the pixel cut it when it read the URL itself). */
export const URL_VALUE_MAX = 255;
/** Longest value kept in the cookie; what exceeds it is a mistake or an attack, not a click id. */
const _MAX_VALUE = 500;
/** The cookie stays below this (browsers take 4 KB per cookie; other cookies share the header). */
export const CLICK_COOKIE_MAX = 3000;
/** A click may be up to this much after the event it fills (clock skew between the visitor's tabs). */
const _SKEW_MS = 60_000;

const _isRecord = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

/** Reads a `wq_c` value (base64url JSON); anything malformed is an empty model. Own, known keys only. */
export function parseClickCookie(value: string | undefined): ClickModel {
  const model: ClickModel = { c: {} };
  if (!value || value.length > 4096) return model;
  let raw: unknown;
  try {
    raw = JSON.parse(new TextDecoder().decode(_fromBase64Url(value)));
  } catch {
    return model;
  }
  if (!_isRecord(raw)) return model;
  if (_isRecord(raw.c)) {
    for (const n of NETWORKS) {
      const entry: unknown = Object.prototype.hasOwnProperty.call(raw.c, n.name) ? raw.c[n.name] : undefined;
      if (!Array.isArray(entry)) continue;
      const fields = _fields(entry[0], n.fields);
      if (fields && typeof entry[1] === 'number') model.c[n.name] = [fields, entry[1]];
    }
  }
  const t = raw.t;
  if (Array.isArray(t)) {
    const fields = _fields(t[0], TOUCH_FIELDS);
    if (fields && typeof t[1] === 'number') model.t = [fields, t[1]];
  }
  if (typeof raw.a === 'string' && raw.a && raw.a.length <= 200) model.a = raw.a;
  return model;
}

function _fields(v: unknown, names: readonly string[]): Record<string, string> | null {
  if (!_isRecord(v)) return null;
  const out: Record<string, string> = {};
  let any = false;
  for (const name of names) {
    const x = Object.prototype.hasOwnProperty.call(v, name) ? v[name] : undefined;
    if (typeof x === 'string' && x && x.length <= _MAX_VALUE) (out[name] = x), (any = true);
  }
  return any ? out : null;
}

/** The click fields an event carries: its context, then its URL's query (own keys only). */
export function clicksOf(event: RelayEvent): Record<string, string> {
  const found: Record<string, string> = {};
  const ctx = event.context as Record<string, unknown> | null | undefined;
  if (ctx) {
    for (const key of Object.keys(ctx)) {
      const v = ctx[key];
      if ((_NETWORK_OF.has(key) || _TOUCH.has(key)) && typeof v === 'string' && v && v.length <= _MAX_VALUE) found[key] = v;
    }
  }
  const url = event.url;
  if (url && url.includes('?')) {
    let params: URLSearchParams;
    try {
      params = new URL(url).searchParams;
    } catch {
      return found;
    }
    // URLSearchParams holds only what the query says: `?constructor=1` is a key like any other,
    // and it is not one of ours.
    // Cut, not refused: a careless link's 1,500-character utm_content still says where the visit came from.
    for (const [name, v] of params) {
      const field = _PARAM.get(name);
      if (field && v && !(field in found)) found[field] = v.slice(0, URL_VALUE_MAX);
    }
  }
  return found;
}

/**
 * Folds one event's clicks into the model: a click id replaces its own network's entry when it is
 * at least as new (a late resend of an old event does not undo a newer click); UTMs and ad ids
 * replace the touch as a group when as new. Returns whether the model changed.
 */
export function mergeClicks(model: ClickModel, clicks: Record<string, string>, at: number): boolean {
  let changed = false;
  for (const n of NETWORKS) {
    let fields: Record<string, string> | null = null;
    for (const f of n.fields) if (clicks[f]) (fields ??= {})[f] = clicks[f]!;
    if (!fields) continue;
    const old = model.c[n.name];
    if (old && old[1] > at) continue;
    if (old && old[1] === at && _same(old[0], fields)) continue;
    model.c[n.name] = [fields, at];
    changed = true;
  }
  let touch: Record<string, string> | null = null;
  for (const f of TOUCH_FIELDS) if (clicks[f]) (touch ??= {})[f] = clicks[f]!;
  if (touch && !(model.t && (model.t[1] > at || (model.t[1] === at && _same(model.t[0], touch))))) {
    model.t = [touch, at];
    changed = true;
  }
  return changed;
}

const _same = (a: Record<string, string>, b: Record<string, string>) => {
  const ka = Object.keys(a);
  return ka.length === Object.keys(b).length && ka.every((k) => a[k] === b[k]);
};

/**
 * Fills an event's missing click context from the model: a network's ids when the event has none of
 * that network's, the touch when the event has no UTM or ad id at all; only clicks from before the
 * event (a minute of skew) and within their window of it. `fbc` is derived from Meta's click.
 * Returns the fields filled.
 */
export function fillClicks(event: RelayEvent, model: ClickModel, at: number): string[] {
  const filled: string[] = [];
  const ctx: RelayContext & Record<string, unknown> = (event.context ??= {}) as RelayContext & Record<string, unknown>;
  const usable = (t: number, windowMs: number) => t <= at + _SKEW_MS && at - t <= windowMs;
  for (const n of NETWORKS) {
    const entry = model.c[n.name];
    if (!entry || !usable(entry[1], n.windowMs) || n.fields.some((f) => ctx[f])) continue;
    for (const [f, v] of Object.entries(entry[0])) (ctx[f] = v), filled.push(f);
    if (n.name === 'meta' && !ctx.fbc && entry[0].fbclid) ctx.fbc = `fb.1.${entry[1]}.${entry[0].fbclid}`;
  }
  if (model.t && usable(model.t[1], TOUCH_WINDOW_MS) && !TOUCH_FIELDS.some((f) => ctx[f])) {
    for (const [f, v] of Object.entries(model.t[0])) (ctx[f] = v), filled.push(f);
  }
  return filled;
}

/** Drops entries past their window (at `now`). */
export function pruneClicks(model: ClickModel, now: number): void {
  for (const n of NETWORKS) if (model.c[n.name] && now - model.c[n.name]![1] > n.windowMs) delete model.c[n.name];
  if (model.t && now - model.t[1] > TOUCH_WINDOW_MS) delete model.t;
}

/**
 * The `wq_c` value (base64url JSON, cookie-safe), kept under `CLICK_COOKIE_MAX`: past it the touch
 * goes first, then the oldest clicks. Null when the model is empty.
 */
export function serializeClickCookie(model: ClickModel): string | null {
  const m: ClickModel = { c: { ...model.c }, t: model.t, a: model.a };
  if (!m.a) delete m.a;
  for (;;) {
    if (!m.t) delete m.t;
    if (!m.t && Object.keys(m.c).length === 0) return null;
    const value = _toBase64Url(new TextEncoder().encode(JSON.stringify(m)));
    if (value.length <= CLICK_COOKIE_MAX) return value;
    if (m.t) delete m.t;
    else {
      const oldest = Object.keys(m.c).sort((a, b) => m.c[a]![1] - m.c[b]![1])[0]!;
      delete m.c[oldest];
    }
  }
}

function _toBase64Url(bytes: Uint8Array): string {
  let s = '';
  for (const b of bytes) s += String.fromCharCode(b);
  return btoa(s).replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '');
}

function _fromBase64Url(s: string): Uint8Array {
  const bin = atob(s.replace(/-/g, '+').replace(/_/g, '/'));
  const out = new Uint8Array(bin.length);
  for (let i = 0; i < bin.length; i++) out[i] = bin.charCodeAt(i);
  return out;
}
