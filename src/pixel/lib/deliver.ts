// The two transports. Bodies are text/plain JSON `{"events":[…]}`: a "simple" request, so no CORS
// preflight even when the relay is on another origin (docs/PROTOCOL.md).
import type { Item } from './queue';

/**
 * Beacon and keepalive bodies share a 64 KiB in-flight budget per page
 * (https://fetch.spec.whatwg.org/#http-network-or-cache-fetch, keepalive); 16 KiB chunks leave room.
 */
export const CHUNK_BYTES = 16 * 1024;

/** The relay takes at most this many events per request (docs/PROTOCOL.md). */
export const CHUNK_EVENTS = 50;

/** The body for a list of queued events. */
export const body = (items: Item[]): string => JSON.stringify({ events: items.map((i) => i.e) });

/**
 * Splits items into runs of at most `max` events whose bodies stay under CHUNK_BYTES (a lone
 * oversized event goes alone).
 */
export function chunks(items: Item[], max = CHUNK_EVENTS): Item[][] {
  const out: Item[][] = [];
  let cur: Item[] = [];
  let size = 12;
  for (const i of items) {
    const n = JSON.stringify(i.e).length + 1;
    if (cur.length && (size + n > CHUNK_BYTES || cur.length >= max)) out.push(cur), (cur = []), (size = 12);
    cur.push(i);
    size += n;
  }
  if (cur.length) out.push(cur);
  return out;
}

/**
 * POSTs `data` (a `body`, or `/forget`'s) with fetch keepalive; resolves the status, Retry-After (status 0 on network error) and the
 * answer's text (what was accepted, rejected or dropped, and why: the debug build logs it).
 */
export async function post(url: string, data: string): Promise<[number, string | null, string?]> {
  try {
    // Credentials for a relay on another origin of the site (t.example.com): its answer may set
    // the server-set cookies; on the page's own origin they go anyway.
    const r = await fetch(url, { method: 'POST', body: data, keepalive: true, credentials: 'include' });
    // The answer is read to its end in both builds (the debug build shows it): an unread body keeps
    // the request open until the page goes (Chromium then reports it aborted) and its connection
    // from being reused. A body cut off is a network error, like a request that failed.
    return [r.status, r.headers.get('retry-after'), await r.text()];
  } catch {
    return [0, null];
  }
}

/** Hands one chunk to sendBeacon; false when the browser refused it (budget full, no API). */
export function beacon(url: string, items: Item[]): boolean {
  try {
    return navigator.sendBeacon(url, body(items));
  } catch {
    return false;
  }
}
