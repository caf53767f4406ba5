import type { Conversion, ConversionContext, ConversionUser } from '../../shared/conversion';

/**
 * The event as the relay stores it: the union of Whop's CreateConversion (`spec/`) and the SDK's
 * EventCreateParams, keyed by company_id. `event_name` is any string (the six conversion names,
 * `page`, or the seller's own); forwarding maps it down to the upstream body (`toConversion`).
 */
export interface RelayEvent extends Omit<Conversion, 'event_name' | 'context' | 'user'> {
  event_name: string;
  /** Always set once ingest accepted the event (generated when the sender had none). */
  event_id?: string | null;
  /** Page views: the document title. */
  title?: string | null;
  /** Page views: restored from the back/forward cache. */
  resumed?: boolean | null;
  /** Milliseconds on the page (leave events). */
  duration?: number | null;
  /** Where an identity was captured (url, form, manual, iframe). */
  source?: string | null;
  context?: RelayContext | null;
  user?: RelayUser | null;
}

export interface RelayContext extends ConversionContext {
  fbc?: string | null;
  gbraid?: string | null;
  wbraid?: string | null;
  msclkid?: string | null;
  li_fat_id?: string | null;
  rdt_cid?: string | null;
  sccid?: string | null;
  twclid?: string | null;
  language?: string | null;
  timezone?: string | null;
  screen_resolution?: string | null;
}

export interface RelayUser extends ConversionUser {
  linked_anonymous_id?: string | null;
  linked_wuid?: string | null;
}

/** A page view: stored, never sent to /conversions (which has no such event). */
export const PAGE_EVENT = 'page';

/** Longest string a field may hold (cut past it); URLs and the user agent get more room. Whop's spec states no limit, a relay needs one. */
export const MAX_STRING = 1024;
export const LONG_FIELDS: Readonly<Record<string, number>> = { url: 8192, referrer_url: 8192, 'context.user_agent': 2048 };
/** Whop's limit on `custom_name` (EventCreateParams: "Maximum 35 chars"). */
export const MAX_CUSTOM_NAME = 35;

/** Context fields of the relay's event beyond CreateConversion's (all `string | null`). */
export const EXTRA_CONTEXT_FIELDS = [
  'fbc',
  'gbraid',
  'wbraid',
  'msclkid',
  'li_fat_id',
  'rdt_cid',
  'sccid',
  'twclid',
  'language',
  'timezone',
  'screen_resolution',
] as const;
/** User fields of the relay's event beyond CreateConversion's. */
export const EXTRA_USER_FIELDS = ['linked_anonymous_id', 'linked_wuid'] as const;
/** Top-level fields of the relay's event beyond CreateConversion's. */
export const EXTRA_FIELDS = ['title', 'resumed', 'duration', 'source'] as const;
