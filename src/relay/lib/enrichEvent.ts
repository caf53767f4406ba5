import { fbclidFromFbc, gaClientId } from './cookies';
import { MAX_STRING, type RelayContext, type RelayEvent } from './relayEvent';

/** What only the server knows about the request an event came in. */
export interface RequestFacts {
  /** The visitor's IP (socket or trusted proxy chain), or null when unknown. */
  ip: string | null;
  /** The request's User-Agent, or null. */
  userAgent: string | null;
  /** The request's cookies. */
  cookies: Map<string, string>;
  /** The request's Accept-Language, or null: fills `context.language` (the pixel saves the bytes). */
  acceptLanguage?: string | null;
  /** The visitor's IANA time zone as the platform geolocated it, or null: fills `context.timezone` (the pixel cannot read it cheaply). */
  timezone?: string | null;
}

/** An IANA zone name (`America/Argentina/Buenos_Aires`, `Etc/GMT+5`, `UTC`). */
const _ZONE = /^[A-Za-z]+(?:[/_+-][A-Za-z0-9_+-]+)*$/;

/** One BCP 47 tag as browsers send them first in Accept-Language (`en-US`, `pt-BR`, `zh-Hant-TW`). */
const _LANGUAGE = /^[A-Za-z]{1,8}(-[A-Za-z0-9]{1,8}){0,4}$/;

/** The first language of an Accept-Language header (the browser's preferred), or null. */
export function firstLanguage(header: string | null | undefined): string | null {
  if (!header) return null;
  const comma = header.indexOf(',');
  const first = (comma < 0 ? header : header.slice(0, comma)).split(';', 1)[0]!.trim();
  return _LANGUAGE.test(first) ? first : null;
}

const _empty = (v: unknown) => v === undefined || v === null || v === '';
const _fits = (v: string | null | undefined): string | null => (v && v.length <= MAX_STRING ? v : null);

/**
 * Fills an event ingest made (changed in place and returned) with the server's facts: `ip_address`
 * and `user_agent` always from the request (whatever the browser sent is replaced: it cannot know
 * its public IP, and a page could lie), `fbp`, `fbc`, `fbclid`, `ga`, `ttp` and `user.linked_wuid` from
 * first-party cookies, `language` from Accept-Language and `timezone` from the platform's
 * geolocation where the event has none.
 */
export function enrichEvent(event: RelayEvent, facts: RequestFacts): RelayEvent {
  // The event is ingest's own copy (normalizeEvent builds it): filled in place, no second copy.
  const context: RelayContext = event.context ?? {};
  if (facts.ip) context.ip_address = facts.ip;
  else if (context.ip_address !== undefined) delete context.ip_address;
  if (facts.userAgent) context.user_agent = facts.userAgent.slice(0, 2048);
  else if (context.user_agent !== undefined) delete context.user_agent;
  const c = facts.cookies;
  if (_empty(context.fbp)) {
    const fbp = _fits(c.get('_fbp'));
    if (fbp) context.fbp = fbp;
  }
  if (_empty(context.fbclid)) {
    const fbc = c.get('_fbc');
    const fbclid = fbc ? _fits(fbclidFromFbc(fbc)) : null;
    if (fbclid) context.fbclid = fbclid;
  }
  // Meta's `_fbc` as itself (the Events API's `fbc`), beside the fbclid it carries.
  if (_empty(context.fbc)) {
    const fbc = _fits(c.get('_fbc'));
    if (fbc) context.fbc = fbc;
  }
  if (_empty(context.ga)) {
    const ga = c.get('_ga');
    const id = ga ? _fits(gaClientId(ga)) : null;
    if (id) context.ga = id;
  }
  if (_empty(context.ttp)) {
    const ttp = _fits(c.get('_ttp'));
    if (ttp) context.ttp = ttp;
  }
  if (_empty(context.timezone) && facts.timezone && facts.timezone.length <= 64 && _ZONE.test(facts.timezone))
    context.timezone = facts.timezone;
  if (_empty(context.language)) {
    const language = firstLanguage(facts.acceptLanguage);
    if (language) context.language = language;
  }
  event.context = context;
  // Whop's own pixel's visitor id, when its cookie reaches the relay (read only: Whop's pixel owns it).
  if (_empty(event.user?.linked_wuid)) {
    const wuid = _fits(c.get('_wuid'));
    if (wuid) (event.user ??= {}).linked_wuid = wuid;
  }
  return event;
}
