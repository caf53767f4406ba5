// The pixel as a module, for apps that bundle it instead of pasting the snippet:
//   import { init, track } from 'whopq';  init('biz_…');  track('lead');
// Same commands and options as `whopq(…)`; like it, none of these functions ever throws.
import type { ConversionUser } from '../shared/conversion';
import type { TrackProps } from './lib/event';
import { createWhopq, type InitOptions, type TrackedIds, type TrackOptions, type Whopq } from './lib/whopq';

let instance: Whopq | undefined;
const w = (...args: [string, ...unknown[]]) => (instance ||= createWhopq())(...args);

/** Registers a company (`biz_…`) and starts capture and delivery; call again to add companies. */
export const init = (companyId: string, options?: InitOptions): void => w('init', companyId, options);

/**
 * Records a conversion under any name (a name `/conversions` lacks goes there as `custom`). Returns
 * the event's id and the visitor's anonymous id, for a server event to match (undefined when nothing
 * was queued: before `init`, after a revoke, or a call without a name).
 */
export const track = (name: string, props?: TrackProps, options?: TrackOptions): TrackedIds | undefined => {
  let ids: TrackedIds | undefined;
  const callback = options && options.callback;
  // The command calls back before it returns, so the ids are known here.
  w('track', name, props, { ...options, callback: (i: TrackedIds) => ((ids = i), callback && callback(i)) });
  return ids;
};

/** Attaches user fields (email, phone, external_id, …) to the events that follow, on later pages too (kept with consent). */
export const identify = (user: ConversionUser): void => w('identify', user);

/** Grants or revokes consent (see InitOptions.requireConsent). */
export const consent = (state: 'grant' | 'revoke'): void => w('consent', state);

/**
 * A page view, when the URL changed since the last one (the fragment aside). Route changes through
 * `history` are seen without it, and `track` checks first; frameworks with their own router may call it.
 */
export const page = (): void => w('page');

/** Forgets the identified user and the browser ids (a logout, a shared device): the next event is a new visitor. */
export const reset = (): void => w('reset');

/** Sends queued events now (delivery also runs on its own). */
export const flush = (): void => w('flush');

/** Turns console logging of each step on or off. */
export const debug = (on = true): void => w('debug', on);

export { createWhopq };
export type { ConversionUser, InitOptions, TrackedIds, TrackOptions, TrackProps, Whopq };
