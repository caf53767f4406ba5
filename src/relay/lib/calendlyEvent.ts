import { ANONYMOUS_ID, isObject, text, type HookResult } from './hookResult';
import type { RelayEvent } from './relayEvent';
import { whopError } from './whopError';

/**
 * How a booking page hands the visitor's anonymous id to Calendly: a tracking field (`utm_content`
 * by convention, any of Calendly's six works) set to `wq_aid.<anonymous id>`. Calendly passes only
 * `utm_*` and `salesforce_uuid` through a booking, so the id rides in one of those.
 */
export const CALENDLY_AID_PREFIX = 'wq_aid.';

const _UTMS = ['utm_campaign', 'utm_source', 'utm_medium', 'utm_content', 'utm_term'] as const;
const _TRACKING = [..._UTMS, 'salesforce_uuid'] as const;

/**
 * A Calendly webhook body as the relay's event: `invitee.created` becomes a `schedule` named by the
 * invitee's email (and the anonymous id its tracking carried), with the invitee's URI as event_id so
 * Calendly's retries and a replay count once. A reschedule (`old_invitee` set) and other subscribed
 * events are acknowledged and dropped.
 * Payload: https://developer.calendly.com/api-docs/overview/webhooks (the Invitee resource).
 */
export function calendlyEvent(body: unknown, companyId: string): HookResult {
  if (!isObject(body) || !isObject(body.payload))
    return { error: whopError('Not a Calendly webhook body (no payload).', 'parameter_invalid', 'payload') };
  if (body.event !== 'invitee.created') return { ignored: `Calendly ${String(body.event).slice(0, 64)}: not a booking` };
  const p = body.payload;
  // A reschedule is the same booking moved: the first invitee.created already counted it.
  if (text(p.old_invitee)) return { ignored: 'Calendly invitee.created for a reschedule: the booking was counted when first made' };
  const uri = text(p.uri);
  if (!uri) return { error: whopError('The invitee has no uri to identify the booking by.', 'parameter_missing', 'payload.uri') };

  const user: NonNullable<RelayEvent['user']> = {};
  const email = text(p.email);
  if (email) user.email = email.toLowerCase();
  const phone = text(p.text_reminder_number);
  if (phone) user.phone = phone;
  for (const key of ['first_name', 'last_name', 'name'] as const) {
    const v = text(p[key]);
    if (v) user[key] = v;
  }
  const context: NonNullable<RelayEvent['context']> = {};
  const tracking = isObject(p.tracking) ? p.tracking : {};
  for (const key of _TRACKING) {
    const v = text(tracking[key]);
    if (!v) continue;
    if (v.startsWith(CALENDLY_AID_PREFIX)) {
      const aid = v.slice(CALENDLY_AID_PREFIX.length);
      if (ANONYMOUS_ID.test(aid)) user.anonymous_id = aid;
    } else if (key !== 'salesforce_uuid') context[key] = v;
  }
  const event: RelayEvent = {
    company_id: companyId,
    event_name: 'schedule',
    event_id: uri,
    event_time: text(p.created_at) ?? text(body.created_at) ?? null,
    action_source: 'website',
    user,
  };
  if (Object.keys(context).length) event.context = context;
  return { event };
}
