import type { Conversion, ConversionContext } from '../../shared/conversion';
import { fbclidFromFbc, gaClientId } from './cookies';
import { MAX_STRING } from './validateEvent';

/** What only the server knows about the request an event came in. */
export interface RequestFacts {
  /** The visitor's IP (socket or trusted proxy chain), or null when unknown. */
  ip: string | null;
  /** The request's User-Agent, or null. */
  userAgent: string | null;
  /** The request's cookies. */
  cookies: Map<string, string>;
  /** An `_fbp` the relay is setting on this response (the visitor had none). */
  newFbp: string | null;
}

const _empty = (v: unknown) => v === undefined || v === null || v === '';
const _fits = (v: string | null | undefined): string | null => (v && v.length <= MAX_STRING ? v : null);

/**
 * Returns a copy of a validated event with the server's facts: `ip_address` and `user_agent` always
 * from the request (whatever the browser sent is replaced: it cannot know its public IP, and a
 * page could lie), and `fbp`, `fbclid`, `ga`, `ttp` from first-party cookies where the event has none.
 */
export function enrichEvent(event: Conversion, facts: RequestFacts): Conversion {
  const context: ConversionContext = { ...event.context };
  delete context.ip_address;
  delete context.user_agent;
  if (facts.ip) context.ip_address = facts.ip;
  if (facts.userAgent) context.user_agent = facts.userAgent.slice(0, 2048);
  const c = facts.cookies;
  if (_empty(context.fbp)) {
    const fbp = _fits(c.get('_fbp')) ?? facts.newFbp;
    if (fbp) context.fbp = fbp;
  }
  if (_empty(context.fbclid)) {
    const fbc = c.get('_fbc');
    const fbclid = fbc ? _fits(fbclidFromFbc(fbc)) : null;
    if (fbclid) context.fbclid = fbclid;
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
  return { ...event, context };
}
