import type { Conversion } from '../../shared/conversion';
import type { ServerEventResult } from '../lib/acceptServerEvents';
import { DEFAULT_PII_PARAMS, piiMatcher } from '../lib/cleanUrl';
import { forwardOne, type Upstream } from '../lib/forwardOne';
import { outboxInput, prepareEvents } from '../lib/prepareEvents';
import type { RelayContext, RelayUser } from '../lib/relayEvent';
import { createWhopClient } from '../lib/whopClient';
import type { WhopErrorBody } from '../lib/whopError';

/** A conversion as a server sends it: CreateConversion plus the relay's fields; `event_name` any name. */
export interface ServerConversion extends Omit<Conversion, 'event_name' | 'context' | 'user' | 'event_time'> {
  event_name: string;
  /** RFC 3339 or epoch ms/s. Default: now. */
  event_time?: string | number | null;
  context?: RelayContext | null;
  user?: RelayUser | null;
}

/** Where to send: a whopq relay's server endpoint (`relayUrl` is its base, e.g. `https://shop.example/wq`), or Whop itself. */
export type SendOptions =
  | { relayUrl: string; token: string; timeoutMs?: number; fetch?: typeof fetch }
  | { apiKey: string; baseURL?: string; upstream?: Upstream; timeoutMs?: number };

/** What became of the conversion. */
export interface SendResult {
  status: 'accepted' | 'duplicate';
  event_id: string;
  /** Fields the relay filled from the visitor's memory (relay only). */
  filled?: string[];
  /** Fields repaired or left out (the relay's `dropped`). */
  dropped?: Array<{ param: string; message: string }>;
  /** Whop's id of the conversion (straight to Whop only). */
  whop_id?: string | null;
}

/** The conversion was not taken. `retryable`: send it again later (a 429/5xx, a timeout, a store that could not write). */
export class SendConversionError extends Error {
  override name = 'SendConversionError';
  constructor(
    message: string,
    readonly status: number | null,
    readonly retryable: boolean,
    readonly error?: WhopErrorBody,
  ) {
    super(message);
  }
}

/**
 * Sends one conversion from your server. To a relay (`{ relayUrl, token }`): `POST <relayUrl>/s`,
 * where the relay fills in the visitor's click from its memory; or straight to Whop (`{ apiKey }`)
 * after the relay's own normalisation (fields repaired or left out, an event_id generated when
 * missing) and the same mapping to the upstream's body. Resolves with the stored event's id;
 * rejects with `SendConversionError`.
 */
export async function sendConversion(event: ServerConversion, options: SendOptions): Promise<SendResult> {
  if ('relayUrl' in options) return _toRelay(event, options);
  const now = Date.now();
  const { good, rejected, dropped } = prepareEvents([event], now, null, piiMatcher(DEFAULT_PII_PARAMS));
  if (!good.length) {
    const error = rejected[0]!.error;
    throw new SendConversionError(error.message, 400, false, error);
  }
  const input = outboxInput(good[0]!._event, good[0]!._dropped, now, options.upstream ?? 'conversions');
  const client = createWhopClient({ apiKey: options.apiKey, baseURL: options.baseURL, timeoutMs: options.timeoutMs });
  const report = await forwardOne({ body: input.body, received_at: now, attempts: 1 }, { client, upstream: options.upstream });
  const outcome = report.outcome;
  if (outcome.kind === 'delivered') {
    const result: SendResult = { status: 'accepted', event_id: input.event_id, whop_id: outcome.whop_id };
    if (dropped.length) result.dropped = dropped.map(({ param, message }) => ({ param, message }));
    return result;
  }
  throw new SendConversionError(outcome.error, report.status, outcome.kind === 'retry');
}

async function _toRelay(event: ServerConversion, options: { relayUrl: string; token: string; timeoutMs?: number; fetch?: typeof fetch }) {
  const url = options.relayUrl.replace(/\/+$/, '') + '/s';
  let res: Response;
  try {
    res = await (options.fetch ?? fetch)(url, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${options.token}` },
      body: JSON.stringify(event),
      redirect: 'manual',
      signal: AbortSignal.timeout(options.timeoutMs ?? 10_000),
    });
  } catch (error) {
    throw new SendConversionError(`the relay could not be reached: ${(error as Error).message}`, null, true);
  }
  const body = (await res.json().catch(() => null)) as {
    error?: WhopErrorBody;
    results?: ServerEventResult[];
    dropped?: Array<{ index: number; param: string; message: string }>;
  } | null;
  const result = body?.results?.[0];
  if (res.ok && result && result.status !== 'rejected') {
    const out: SendResult = { status: result.status, event_id: result.event_id! };
    if (result.filled) out.filled = result.filled;
    if (body?.dropped?.length) out.dropped = body.dropped.map(({ param, message }) => ({ param, message }));
    return out;
  }
  const error = result?.error ?? body?.error;
  throw new SendConversionError(
    error?.message ?? `the relay answered HTTP ${res.status}`,
    res.status,
    res.status === 408 || res.status === 429 || res.status >= 500,
    error,
  );
}
