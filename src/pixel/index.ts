// The pixel as a module, for apps that bundle it instead of pasting the snippet:
//   import { init, track } from 'whopq';  init('biz_…');  track('lead');
// Same commands and options as `whopq(…)`; like it, none of these functions ever throws.
import type { ConversionUser } from '../shared/conversion';
import type { TrackProps } from './lib/event';
import { createWhopq, type InitOptions, type TrackOptions, type Whopq } from './lib/whopq';

let instance: Whopq | undefined;
const w = (...args: [string, ...unknown[]]) => (instance ||= createWhopq())(...args);

/** Registers a company (`biz_…`) and starts capture and delivery; call again to add companies. */
export const init = (companyId: string, options?: InitOptions): void => w('init', companyId, options);

/** Records a conversion under any name (a name `/conversions` lacks goes there as `custom`). */
export const track = (name: string, props?: TrackProps, options?: TrackOptions): void => w('track', name, props, options);

/** Attaches user fields (email, phone, external_id, …) to the events that follow, on later pages too (kept with consent). */
export const identify = (user: ConversionUser): void => w('identify', user);

/** Grants or revokes consent (see InitOptions.requireConsent). */
export const consent = (state: 'grant' | 'revoke'): void => w('consent', state);

/** Re-reads the URL after an SPA route change (a new ad touch may be on it); `track` does it too when the URL changed. */
export const page = (): void => w('page');

/** Forgets the identified user and the browser ids (a logout, a shared device): the next event is a new visitor. */
export const reset = (): void => w('reset');

/** Sends queued events now (delivery also runs on its own). */
export const flush = (): void => w('flush');

/** Turns console logging of each step on or off. */
export const debug = (on = true): void => w('debug', on);

export { createWhopq };
export type { ConversionUser, InitOptions, TrackOptions, TrackProps, Whopq };
