import Whop, { APIConnectionError, APIConnectionTimeoutError, APIError } from '@whop/sdk';
import type { EventCreateParams } from '@whop/sdk/resources/events';

export interface WhopClientOptions {
  /** The company API key, sent as `Authorization: Bearer <key>`. Never logged, never returned. */
  apiKey: string;
  /** Whop's API root. Default `https://api.whop.com/api/v1`; tests point it at a local fake. */
  baseURL?: string;
  /** Per-request timeout (ms). Default 10_000. */
  timeoutMs?: number;
  /** The transport the SDK sends with. Default the global fetch; on Node the relay passes `createNodeFetch`'s. It must not follow redirects. */
  fetch?: typeof fetch;
}

/** What Whop (or the network) answered to one `POST /conversions` or `POST /events`. */
export type WhopAnswer =
  | { kind: 'ok'; status: number; id: string | null }
  | {
      kind: 'http';
      status: number;
      /** The response body as Whop sent it (its `{"error":{…}}` JSON, or text), the key and bearer tokens redacted. */
      body: string;
      /** Whop's `error.code` and `error.param`, when the body had them. */
      code: string | null;
      param: string | null;
      /** Raw `Retry-After` / `Retry-After-Ms` headers, when sent. */
      retryAfter: string | null;
      retryAfterMs: string | null;
    }
  | { kind: 'timeout'; message: string }
  | { kind: 'network'; message: string };

export interface WhopClient {
  /** Sends one CreateConversion body (already-serialized JSON, sent byte for byte). Never throws. */
  createConversion(json: string): Promise<WhopAnswer>;
  /**
   * Sends one event to `POST /events` through the SDK's typed `client.events.create`, its
   * `Idempotency-Key` header from the params (the event's id). Never throws.
   */
  createEvent(params: EventCreateParams): Promise<WhopAnswer>;
}

/**
 * The one place that talks to Whop. /events goes through the official `@whop/sdk` client's typed
 * `events.create`, with its own retries off (`maxRetries: 0`) because the outbox retries durably,
 * and its logging off so nothing about a request (or the key) reaches the logs. The SDK has no
 * typed `conversions` resource in this version, so /conversions is one plain POST through the same
 * transport: the SDK's generic request machinery cost about 0.3 ms of CPU per send more than the
 * plain POST (bench/lib/sendCost.mjs, bench/RESULTS.md), a third of a core at 1,000 sends/s.
 * Both classify Whop's answers the same way. Neither follows a redirect.
 */
export function createWhopClient(options: WhopClientOptions): WhopClient {
  const baseURL = options.baseURL ?? 'https://api.whop.com/api/v1';
  const timeoutMs = options.timeoutMs ?? 10_000;
  const transport = options.fetch ?? ((input: string, init?: RequestInit) => fetch(input, init));
  const conversionsUrl = `${baseURL.replace(/\/+$/, '')}/conversions`;
  const client = new Whop({
    apiKey: options.apiKey,
    baseURL,
    timeout: timeoutMs,
    maxRetries: 0,
    logLevel: 'off',
    // Do not pick these up from the environment: only the key we were given is sent.
    appID: null,
    webhookKey: null,
    // Never follow a redirect: the body would go to another host and its 200 would count as
    // delivered. A 3xx is an error the outbox retries.
    fetchOptions: { redirect: 'manual' },
    ...(options.fetch ? { fetch: options.fetch } : {}),
  });
  const secret = options.apiKey;
  return {
    async createConversion(json) {
      const controller = new AbortController();
      const timer = setTimeout(() => controller.abort(), timeoutMs);
      try {
        // The stored body byte for byte.
        const response = await transport(conversionsUrl, {
          method: 'POST',
          headers: { authorization: `Bearer ${secret}`, 'content-type': 'application/json', accept: 'application/json' },
          body: json,
          redirect: 'manual',
          signal: controller.signal,
        });
        const text = await response.text().catch(() => '');
        if (response.status >= 200 && response.status < 300) return { kind: 'ok', status: response.status, id: _id(text) };
        return _httpAnswer(response.status, _json(text) ?? text, response.headers, secret);
      } catch (error) {
        return _transportError(error);
      } finally {
        clearTimeout(timer);
      }
    },
    async createEvent(params) {
      try {
        const { data, response } = await client.events.create(params).withResponse();
        return { kind: 'ok', status: response.status, id: typeof data?.id === 'string' ? data.id : null };
      } catch (error) {
        return _classify(error, secret);
      }
    },
  };
}

function _json(text: string): unknown {
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return undefined;
  }
}

function _id(text: string): string | null {
  try {
    const parsed = JSON.parse(text) as { id?: unknown };
    return typeof parsed?.id === 'string' ? parsed.id : null;
  } catch {
    // Whop accepted the event; an unreadable body must not turn a delivery into a retry (a duplicate).
    return null;
  }
}

/** Removes the key, and any bearer token, from text Whop (or a proxy before it) may echo back. */
export function redactSecret(text: string, secret: string): string {
  let out = secret.length >= 4 ? text.split(secret).join('[redacted]') : text;
  out = out.replace(/(bearer\s+)[^\s"',;]+/gi, '$1[redacted]');
  return out;
}

function _field(error: unknown, name: 'code' | 'param'): string | null {
  const value = (error as { [k: string]: unknown } | undefined)?.[name];
  return typeof value === 'string' ? value.slice(0, 200) : null;
}

/** A non-2xx answer: `body` is Whop's parsed JSON, or the text when it was not JSON. */
function _httpAnswer(status: number, body: unknown, headers: Headers | undefined, secret: string): WhopAnswer {
  // Whop nests its fields under `error`.
  const parsed = body as { error?: unknown } | undefined;
  const fields = parsed && typeof parsed === 'object' && 'error' in parsed ? parsed.error : parsed;
  return {
    kind: 'http',
    status,
    body: redactSecret(typeof body === 'string' ? body : JSON.stringify(body), secret).slice(0, 2_000),
    code: _field(fields, 'code'),
    param: _field(fields, 'param'),
    retryAfter: headers?.get('retry-after') ?? null,
    retryAfterMs: headers?.get('retry-after-ms') ?? null,
  };
}

/** A request that got no answer: aborted at the timeout, or a network error. */
function _transportError(error: unknown): WhopAnswer {
  const name = (error as { name?: unknown })?.name;
  if (name === 'AbortError' || name === 'TimeoutError') return { kind: 'timeout', message: 'request timed out' };
  // fetch wraps the socket's error as `cause`; node:http rejects with it directly.
  const cause = ((error as { cause?: unknown })?.cause ?? error) as { message?: string; code?: string } | undefined;
  return {
    kind: 'network',
    message: [cause?.message, cause?.code].filter(Boolean).join(': ') || (error instanceof Error ? error.message : String(error)),
  };
}

function _classify(error: unknown, secret: string): WhopAnswer {
  if (error instanceof APIConnectionTimeoutError) return { kind: 'timeout', message: 'request timed out' };
  if (error instanceof APIConnectionError) {
    const cause = (error as { cause?: { message?: string; cause?: { code?: string } } }).cause;
    return { kind: 'network', message: [cause?.message, cause?.cause?.code].filter(Boolean).join(': ') || error.message };
  }
  if (error instanceof APIError && typeof error.status === 'number')
    // The SDK hands over the parsed body (or, when it was not JSON, a message with the text).
    return _httpAnswer(error.status, error.error === undefined ? error.message : error.error, error.headers as Headers | undefined, secret);
  return { kind: 'network', message: error instanceof Error ? error.message : String(error) };
}
