import { lazyInstance } from './lazyInstance';
import { readBody } from './readBody';
import type { WhopErrorBody } from './whopError';

/**
 * An ingest request as plain data: what the ingest route reads, and nothing more. The Fetch
 * handler makes one from a `Request` (`plainFromRequest`); the Node adapter makes one straight from
 * node:http without building a `Request` at all.
 */
export interface PlainRequest {
  method: string;
  /** The URL the browser used (`https://shop.example/wq/e`). */
  url: string;
  /** A header's value as `Headers.get` gives it (same-name headers combined), or null. Lower-case name. */
  header(name: string): string | null;
  /**
   * The body as UTF-8 text (a leading BOM dropped, as `TextDecoder` does), at most `maxBytes`;
   * rejects with `BodyTooLargeError` past it, with another error when the body cannot be read.
   */
  text(maxBytes: number): Promise<string>;
  /** The visitor's IANA time zone when the platform knows it from the IP (Cloudflare's `request.cf.timezone`). */
  timezone?: string | null;
}

/** An answer as plain data. `headers` are lower-case pairs; `set-cookie` may repeat. */
export interface PlainResponse {
  status: number;
  headers: Array<[string, string]>;
  body: string | null;
}

/** The plain view of a Fetch `Request`; the body is read with the limit enforced while reading. */
export function plainFromRequest(request: Request): PlainRequest {
  return {
    method: request.method,
    url: request.url,
    header: (name) => request.headers.get(name),
    text: (maxBytes) => readBody(request, maxBytes),
    timezone: (request as { cf?: { timezone?: string } }).cf?.timezone ?? null,
  };
}

/** A JSON answer that is never cached and never sniffed. */
export function plainJson(status: number, body: unknown, headers: Record<string, string> = {}): PlainResponse {
  const pairs: Array<[string, string]> = [
    ['content-type', 'application/json; charset=utf-8'],
    ['cache-control', 'no-store'],
    ['x-content-type-options', 'nosniff'],
  ];
  for (const name in headers) pairs.push([name.toLowerCase(), headers[name]!]);
  return { status, headers: pairs, body: JSON.stringify(body) };
}

/** An error answer in Whop's shape, optionally with more top-level fields (e.g. `rejected`). */
export function plainError(
  status: number,
  error: WhopErrorBody,
  extra: Record<string, unknown> = {},
  headers: Record<string, string> = {},
): PlainResponse {
  return plainJson(status, { error, ...extra }, headers);
}

/** The Fetch `Response` for a plain answer. */
export function toResponse(plain: PlainResponse): Response {
  return new Response(plain.body, { status: plain.status, headers: plain.headers });
}

/**
 * A `Response` that stays plain data until something reads it: the Node adapter writes the plain
 * data to the socket itself (`lazyState`), anything else that touches it gets the real one.
 */
export const lazyResponse: (plain: PlainResponse) => Response = lazyInstance(Response, toResponse);
