import { sha256Hex } from './sha256';

/** The ids nobody can guess: the pixel's (32 hex digits) and the relay's own (a UUID). */
const _RANDOM_ID = /^(?:[0-9a-f]{32}|[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12})$/i;

/**
 * Scopes the guessable `event_id`s of an unauthenticated ingest body to the visitor that sent them.
 * Whop (and the outbox) keep the first event with an id, so an id anyone can guess (`order-1001`)
 * would let a stranger who posts it first have the real conversion dropped. When the relay has a
 * server token, a raw caller-chosen id is a promise only the authenticated server endpoint makes;
 * from anywhere else `order-1001` becomes `order-1001.v<8 hex>`, the hex from the company and the
 * visitor (`user.anonymous_id`, else the client IP), so a visitor's own resends still dedup while
 * another visitor's copy is a different event. Random ids (the pixel's, the relay's) are kept.
 * Returns the body text to ingest: the same text when nothing changed or it does not parse.
 */
export function scopeEventIds(text: string, ip: string | null): string {
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    return text;
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) return text;
  const list = Array.isArray((parsed as { events?: unknown }).events) ? (parsed as { events: unknown[] }).events : [parsed];
  let changed = false;
  for (const event of list) {
    if (typeof event !== 'object' || event === null) continue;
    const e = event as { event_id?: unknown; company_id?: unknown; user?: { anonymous_id?: unknown } };
    if (typeof e.event_id !== 'string' || e.event_id === '' || _RANDOM_ID.test(e.event_id)) continue;
    const visitor = typeof e.user?.anonymous_id === 'string' ? e.user.anonymous_id : (ip ?? '');
    e.event_id = `${e.event_id}.v${sha256Hex(`${String(e.company_id)}\u0000${visitor}`).slice(0, 8)}`;
    changed = true;
  }
  return changed ? JSON.stringify(parsed) : text;
}
