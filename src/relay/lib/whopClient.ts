import Whop, { APIConnectionError, APIConnectionTimeoutError, APIError } from '@whop/sdk';

export interface WhopClientOptions {
  /** The company API key, sent as `Authorization: Bearer <key>`. Never logged, never returned. */
  apiKey: string;
  /** Whop's API root. Default `https://api.whop.com/api/v1`; tests point it at a local fake. */
  baseURL?: string;
  /** Per-request timeout (ms). Default 10_000. */
  timeoutMs?: number;
}

/** What Whop (or the network) answered to one `POST /conversions`. */
export type WhopAnswer =
  | { kind: 'ok'; status: number; id: string | null }
  | {
      kind: 'http';
      status: number;
      /** The response body as Whop sent it (its `{"error":{…}}` JSON, or text). */
      body: string;
      /** Raw `Retry-After` / `Retry-After-Ms` headers, when sent. */
      retryAfter: string | null;
      retryAfterMs: string | null;
    }
  | { kind: 'timeout'; message: string }
  | { kind: 'network'; message: string };

export interface WhopClient {
  /** Sends one CreateConversion body (already-serialized JSON, sent byte for byte). Never throws. */
  createConversion(json: string): Promise<WhopAnswer>;
}

/**
 * The one place that talks to Whop, through the official `@whop/sdk` client: its auth header, base
 * URL and error classes, with its own retries off (`maxRetries: 0`) because the outbox retries
 * durably, and its logging off so nothing about a request (or the key) reaches the logs.
 * The SDK has no typed `conversions` resource in this version, so this calls its generic `post`.
 */
export function createWhopClient(options: WhopClientOptions): WhopClient {
  const client = new Whop({
    apiKey: options.apiKey,
    baseURL: options.baseURL ?? 'https://api.whop.com/api/v1',
    timeout: options.timeoutMs ?? 10_000,
    maxRetries: 0,
    logLevel: 'off',
    // Do not pick these up from the environment: only the key we were given is sent.
    appID: null,
    webhookKey: null,
  });
  return {
    async createConversion(json) {
      try {
        // A string body with an explicit content-type is passed through verbatim (no re-encoding),
        // so Whop receives exactly the stored body.
        const response = await client.post('/conversions', { body: json, headers: { 'content-type': 'application/json' } }).asResponse();
        const text = await response.text().catch(() => '');
        return { kind: 'ok', status: response.status, id: _id(text) };
      } catch (error) {
        return _classify(error);
      }
    },
  };
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

function _classify(error: unknown): WhopAnswer {
  if (error instanceof APIConnectionTimeoutError) return { kind: 'timeout', message: 'request timed out' };
  if (error instanceof APIConnectionError) {
    const cause = (error as { cause?: { message?: string; cause?: { code?: string } } }).cause;
    return { kind: 'network', message: [cause?.message, cause?.cause?.code].filter(Boolean).join(': ') || error.message };
  }
  if (error instanceof APIError && typeof error.status === 'number') {
    const headers = error.headers as Headers | undefined;
    const body = error.error === undefined ? error.message : JSON.stringify(error.error);
    return {
      kind: 'http',
      status: error.status,
      body,
      retryAfter: headers?.get('retry-after') ?? null,
      retryAfterMs: headers?.get('retry-after-ms') ?? null,
    };
  }
  return { kind: 'network', message: error instanceof Error ? error.message : String(error) };
}
