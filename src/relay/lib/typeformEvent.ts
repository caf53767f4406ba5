import { CONTEXT_FIELDS } from '../../shared/conversion';
import { ANONYMOUS_ID, isObject, text, type HookResult } from './hookResult';
import { EXTRA_CONTEXT_FIELDS, type RelayEvent } from './relayEvent';
import { whopError } from './whopError';

/** The ids nobody can guess: the pixel's (32 hex digits) and a UUID. Only these are taken from a hidden field as event_id. */
const _RANDOM_ID = /^(?:[0-9a-f]{32}|[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12})$/i;
/** Hidden fields copied into the event's context: click ids, UTMs, ad ids (never the IP or user agent). */
const _CONTEXT: readonly string[] = [...CONTEXT_FIELDS, ...EXTRA_CONTEXT_FIELDS].filter((k) => k !== 'ip_address' && k !== 'user_agent');

export interface TypeformEventOptions {
  companyId: string;
  /** The event name per form id (`submit_application` for an application form). Default for any other form: `lead`. */
  eventNames?: Readonly<Record<string, string>>;
}

/**
 * A Typeform webhook body as the relay's event: a `form_response` becomes a `lead` (or the name its
 * form is configured with) named by the first email and phone answers and the hidden fields
 * `wq_aid` (anonymous id) and `event_id` (the browser event's id, so the two count once). Without a
 * usable hidden event_id the response token is the id, stable across Typeform's retries.
 * Payload: https://www.typeform.com/developers/webhooks/example-payload/
 */
export function typeformEvent(body: unknown, options: TypeformEventOptions): HookResult {
  if (!isObject(body) || !isObject(body.form_response))
    return { error: whopError('Not a Typeform webhook body (no form_response).', 'parameter_invalid', 'form_response') };
  if (body.event_type !== 'form_response') return { ignored: `Typeform ${String(body.event_type).slice(0, 64)}: not a submitted form` };
  const r = body.form_response;
  const hidden = isObject(r.hidden) ? r.hidden : {};
  const browserId = text(hidden.event_id);
  const eventId = browserId && _RANDOM_ID.test(browserId) ? browserId : text(r.token);
  if (!eventId) return { error: whopError('The response has no token to identify it by.', 'parameter_missing', 'form_response.token') };

  const user: NonNullable<RelayEvent['user']> = {};
  for (const answer of Array.isArray(r.answers) ? r.answers : []) {
    if (!isObject(answer)) continue;
    const email = answer.type === 'email' ? text(answer.email) : undefined;
    if (email && !user.email) user.email = email.toLowerCase();
    const phone = answer.type === 'phone_number' ? text(answer.phone_number) : undefined;
    if (phone && !user.phone) user.phone = phone;
  }
  const aid = text(hidden.wq_aid);
  if (aid && ANONYMOUS_ID.test(aid)) user.anonymous_id = aid;
  const context: NonNullable<RelayEvent['context']> = {};
  for (const key of _CONTEXT) {
    const v = text(hidden[key]);
    if (v) (context as Record<string, string>)[key] = v;
  }
  const formId = text(r.form_id) ?? '';
  const event: RelayEvent = {
    company_id: options.companyId,
    event_name: options.eventNames?.[formId] ?? 'lead',
    event_id: eventId,
    event_time: text(r.submitted_at) ?? null,
    action_source: 'website',
    user,
  };
  if (Object.keys(context).length) event.context = context;
  return { event };
}
