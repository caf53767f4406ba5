import type { IncomingMessage } from 'node:http';
import { lazyInstance } from '../lib/lazyInstance';
import type { PlainRequest } from '../lib/plainExchange';
import { BodyTooLargeError, decodeUtf8 } from '../lib/readBody';

/** What the Node adapter knows of a request whose body it has read into one buffer. */
interface _State extends PlainRequest {
  _rawHeaders: string[];
  _body: Buffer | null;
}

const _TOKEN = /^[!#$%&'*+\-.^`|~\w]+$/;
const _BAD_VALUE = /[\0\r\n]/;
const _EDGE_SPACE = /^[\t\n\r ]+|[\t\n\r ]+$/g;

/**
 * The request's headers as `new Headers(rawHeaders)` would hold them: names lower-cased, values
 * trimmed of HTTP whitespace, same-name values joined with `, ` (`; ` for Cookie), and what Fetch
 * refuses (a name that is not a token, a value with NUL/CR/LF) left out, as `toRequest` leaves it out.
 */
function _headerMap(raw: readonly string[]): Map<string, string> {
  const map = new Map<string, string>();
  for (let i = 0; i < raw.length; i += 2) {
    const name = raw[i]!;
    let value = raw[i + 1]!;
    if (!_TOKEN.test(name) || _BAD_VALUE.test(value)) continue;
    value = value.replace(_EDGE_SPACE, '');
    const key = name.toLowerCase();
    const had = map.get(key);
    map.set(key, had === undefined ? value : had + (key === 'cookie' ? '; ' : ', ') + value);
  }
  return map;
}

/** The headers as Fetch holds them; a value Fetch refuses (control characters) is left out rather than failing the request. */
function _headers(raw: readonly string[]): Headers {
  const headers = new Headers();
  for (let i = 0; i < raw.length; i += 2) {
    try {
      headers.append(raw[i]!, raw[i + 1]!);
    } catch {}
  }
  return headers;
}

/** The Fetch `Request` for a node:http request: its body buffered, streamed, or none. */
export function toRequest(req: IncomingMessage, url: string, body: Buffer | ReadableStream<Uint8Array> | null): Request {
  const streamed = !!body && !(body instanceof Uint8Array);
  return new Request(url, {
    method: req.method ?? 'GET',
    headers: _headers(req.rawHeaders),
    body: body ?? undefined,
    duplex: streamed ? 'half' : undefined,
  } as RequestInit);
}

const _lazy = lazyInstance<Request, _State>(
  Request,
  (s) => new Request(s.url, { method: s.method, headers: _headers(s._rawHeaders), body: s._body ?? undefined }),
  { url: (s) => s.url, method: (s) => s.method },
);

/**
 * A `Request` for a node:http request whose whole body is in `body` (null: it has none), built
 * lazily: it carries the plain view (`PlainRequest`) the relay's ingest route reads directly, and
 * becomes a real `Request` only if some code reads more than its `url` and `method`.
 */
export function nodeRequest(req: IncomingMessage, url: string, body: Buffer | null): Request {
  let headers: Map<string, string> | null = null;
  const state: _State = {
    method: req.method ?? 'GET',
    url,
    header: (name) => (headers ??= _headerMap(req.rawHeaders)).get(name) ?? null,
    text: async (maxBytes) => {
      if (!body) return '';
      if (body.byteLength > maxBytes) throw new BodyTooLargeError();
      return decodeUtf8(body);
    },
    _rawHeaders: req.rawHeaders,
    _body: body,
  };
  return _lazy(state);
}
