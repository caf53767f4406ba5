import type { AcceptServerEvents, ServerAcceptResult } from './acceptServerEvents';
import { calendlyEvent } from './calendlyEvent';
import { calendlyVerifier, CALENDLY_TOLERANCE_S, type Verdict } from './calendlyVerifier';
import type { HookResult } from './hookResult';
import type { Logger } from './logger';
import type { Metrics } from './metrics';
import { OutboxUnavailableError } from './outbox';
import { bodyReadError, refusedBatch } from './prepareEvents';
import { decodeUtf8, readBodyBytes } from './readBody';
import { typeformEvent } from './typeformEvent';
import { typeformVerifier } from './typeformVerifier';
import { errorResponse, jsonResponse, storeUnavailable, whopError, type WhopErrorBody } from './whopError';

/** Signed vendor webhooks (`POST <basePath>/hooks/<vendor>`); a vendor without its secret is not served (404). */
export interface HooksOptions {
  /** The company every webhook event belongs to (one of the relay's companies). */
  company: string;
  /** Calendly's webhook signing key (the subscription's `signing_key`). Unset: `/hooks/calendly` is 404. */
  calendlySigningKey?: string;
  /** Seconds a Calendly signature's timestamp may be off the relay's clock. Default 180 (Calendly's advice). */
  calendlyToleranceSeconds?: number;
  /** The secret set on the Typeform webhook. Unset: `/hooks/typeform` is 404. */
  typeformSecret?: string;
  /** Event name per Typeform form id (e.g. `{ lT4Z3j: 'submit_application' }`). Default for any form: `lead`. */
  typeformEvents?: Readonly<Record<string, string>>;
}

export interface HooksRouteConfig extends HooksOptions {
  /** The relay's entry point for events a server vouches for (the memory fills them, the outbox keeps them). */
  accept: AcceptServerEvents;
  maxBodyBytes: number;
  metrics: Metrics;
  logger: Logger;
  now: () => number;
}

interface _Vendor {
  _verify(request: Request, body: Uint8Array<ArrayBuffer>, now: number): Promise<Verdict>;
  _event(body: unknown): HookResult;
}

/**
 * `<basePath>/hooks/<vendor>`: reads the body within the limit, checks the vendor's signature over
 * the raw bytes, then hands the one event to `accept`. A request that is unsigned, wrongly signed
 * or stale gets 401 and is stored nowhere; a delivery of another event type is acknowledged (200)
 * so the vendor does not retry it.
 */
export function createHooksRoute(config: HooksRouteConfig): (request: Request, vendor: string) => Promise<Response> {
  const { metrics, logger, company } = config;
  metrics.describe('hooks_refused_total', 'Webhook requests refused (signature, body, event), by vendor and reason; nothing was stored.');
  metrics.describe(
    'hooks_ignored_total',
    'Webhook deliveries acknowledged without an event (another event type, a reschedule), by vendor.',
  );
  const vendors = new Map<string, _Vendor>();
  if (config.calendlySigningKey) {
    const verify = calendlyVerifier(config.calendlySigningKey, config.calendlyToleranceSeconds ?? CALENDLY_TOLERANCE_S);
    vendors.set('calendly', {
      _verify: (request, body, now) => verify(request.headers.get('calendly-webhook-signature'), body, now),
      _event: (body) => calendlyEvent(body, company),
    });
  }
  if (config.typeformSecret) {
    const verify = typeformVerifier(config.typeformSecret);
    vendors.set('typeform', {
      _verify: (request, body) => verify(request.headers.get('typeform-signature'), body),
      _event: (body) => typeformEvent(body, { companyId: company, eventNames: config.typeformEvents }),
    });
  }

  return async (request, name) => {
    const vendor = vendors.get(name);
    if (!vendor) return errorResponse(404, whopError('Not found', null, null, 'not_found'));
    if (request.method !== 'POST') return errorResponse(405, whopError('Use POST.', 'method_not_allowed'), {}, { allow: 'POST' });
    const refuse = (status: number, error: WhopErrorBody, headers?: Record<string, string>) => {
      metrics.inc('hooks_refused_total', { source: name, reason: error.code ?? error.type });
      return errorResponse(status, error, {}, headers);
    };
    let bytes: Uint8Array<ArrayBuffer>;
    try {
      bytes = await readBodyBytes(request, config.maxBodyBytes);
    } catch (error) {
      const refused = bodyReadError(error, config.maxBodyBytes);
      return refuse(refused.status, refused.error);
    }
    const verdict = await vendor._verify(request, bytes, config.now());
    if (verdict !== 'ok') {
      logger.warn('hooks: signature refused', { source: name, reason: verdict });
      // One answer for every reason: a caller without the secret learns nothing about how close it came.
      return refuse(401, whopError('The webhook signature is missing, wrong or too old.', 'invalid_signature', null, 'unauthorized'));
    }
    let parsed: unknown;
    try {
      parsed = JSON.parse(decodeUtf8(bytes));
    } catch {
      return refuse(400, whopError('The body is not valid JSON.', 'invalid_json'));
    }
    const result = vendor._event(parsed);
    if ('ignored' in result) {
      metrics.inc('hooks_ignored_total', { source: name });
      return jsonResponse(200, { accepted: 0, duplicates: 0, ignored: result.ignored });
    }
    if ('error' in result) return refuse(400, result.error);
    let answer: ServerAcceptResult;
    try {
      answer = await config.accept([result.event], { source: name });
    } catch (error) {
      if (!(error instanceof OutboxUnavailableError)) throw error;
      // The vendor retries a 5xx, so the booking waits in its queue instead of being lost.
      return errorResponse(503, storeUnavailable(), {}, { 'retry-after': '30' });
    }
    if (answer.rejected[0]) {
      const refused = refusedBatch(1, answer.rejected);
      return refuse(refused.status, refused.error);
    }
    logger.info('hooks: event accepted', { source: name, event_id: result.event.event_id, duplicate: answer.duplicates > 0 });
    return jsonResponse(200, answer);
  };
}
