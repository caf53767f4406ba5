import type { Outbox } from '../lib/outbox';
import { inspectorData, inspectorJson } from './inspectorData';
import { inspectorPage } from './inspectorPage';

export interface InspectorOptions {
  /** Where events are read from (`stats()` and `recent()`). */
  outbox: Outbox;
  /**
   * Required on every request when set: `Authorization: Bearer <token>` or `?token=<token>` (the
   * page passes it on to its data requests as a header). Default: none.
   */
  token?: string;
  /**
   * A production relay: the inspector answers only with a token configured (and given), so events'
   * user data is never open to the internet by accident. Default false.
   */
  production?: boolean;
  /** Strings never shown (the API key): replaced by `[redacted]` wherever they appear. Default none. */
  secrets?: readonly string[];
  /** A short note in the page header, e.g. "dry-run". Default empty. */
  label?: string;
}

/** Rows a data request may ask for (`?limit=`). */
const _MAX_LIMIT = 500;
const _DEFAULT_LIMIT = 100;

function _json(status: number, body: string, extra: Record<string, string> = {}): Response {
  return new Response(body, {
    status,
    headers: {
      'content-type': 'application/json; charset=utf-8',
      'cache-control': 'no-store',
      'x-content-type-options': 'nosniff',
      ...extra,
    },
  });
}

function _error(status: number, type: string, message: string, extra?: Record<string, string>): Response {
  return _json(status, JSON.stringify({ error: { type, message, code: null, param: null } }), extra);
}

/** Compares without an early exit, so response timing does not reveal how much of a guess matched. */
function _same(a: string, b: string): boolean {
  let diff = a.length ^ b.length;
  for (let i = 0; i < b.length; i++) diff |= (a.charCodeAt(i % (a.length || 1)) || 0) ^ b.charCodeAt(i);
  return diff === 0;
}

function _nonce(): string {
  const bytes = crypto.getRandomValues(new Uint8Array(16));
  return btoa(String.fromCharCode(...bytes));
}

function _given(request: Request, url: URL): string | null {
  const auth = request.headers.get('authorization');
  if (auth && /^bearer /i.test(auth)) return auth.slice(7).trim();
  return url.searchParams.get('token');
}

/**
 * The event inspector: a Fetch handler for `<basePath>/inspect` (the page) and
 * `<basePath>/inspect/data.json` (what the page polls every two seconds). The relay calls it for
 * `<basePath>/inspect*` when the inspector is enabled (always in dry-run). Runtime-neutral.
 */
export function createInspector(options: InspectorOptions): (request: Request) => Promise<Response> {
  const { outbox, token, production = false, label = '' } = options;
  const secrets = [...(options.secrets ?? []), ...(token ? [token] : [])];

  return async (request) => {
    const url = new URL(request.url);
    const route = /\/inspect\/?$/.test(url.pathname) ? 'page' : /\/inspect\/data\.json$/.test(url.pathname) ? 'data' : null;
    // Production without a token: the inspector does not exist, as far as the internet can tell.
    if (!route || (production && !token)) return _error(404, 'not_found', 'Not found');
    if (request.method !== 'GET' && request.method !== 'HEAD')
      return _error(405, 'invalid_request_error', 'Use GET', { allow: 'GET, HEAD' });
    if (token) {
      const given = _given(request, url);
      if (given === null || !_same(given, token)) {
        return _error(401, 'unauthorized', 'The inspector needs its token: open it as …/inspect?token=<token>', {
          'www-authenticate': 'Bearer',
        });
      }
    }

    if (route === 'page') {
      const nonce = _nonce();
      return new Response(request.method === 'HEAD' ? null : inspectorPage(nonce, label), {
        headers: {
          'content-type': 'text/html; charset=utf-8',
          'cache-control': 'no-store',
          'content-security-policy': `default-src 'none'; script-src 'nonce-${nonce}'; style-src 'nonce-${nonce}'; connect-src 'self'; img-src 'self' data:; base-uri 'none'; form-action 'none'; frame-ancestors 'none'`,
          'x-content-type-options': 'nosniff',
          'x-frame-options': 'DENY',
          'referrer-policy': 'no-referrer',
        },
      });
    }

    const asked = Number.parseInt(url.searchParams.get('limit') ?? '', 10);
    const limit = Number.isFinite(asked) ? Math.min(Math.max(asked, 1), _MAX_LIMIT) : _DEFAULT_LIMIT;
    try {
      const data = await inspectorData(outbox, limit, Date.now());
      return _json(200, request.method === 'HEAD' ? '' : inspectorJson(data, secrets));
    } catch {
      // The store is down; the page says so and keeps polling.
      return _error(503, 'service_unavailable', 'The event store cannot be read right now');
    }
  };
}
