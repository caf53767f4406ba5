// Consent states. Pending: events are held in memory, no cookie or storage is written, nothing is
// sent. Granted: normal operation. Revoked: whopq's cookies and storage are wiped and nothing is
// stored, set or sent until a later grant; the choice itself is remembered (`wq_r`, a strictly
// necessary record) so the next page starts revoked.
import { AID_KEY, FBP_KEY } from './browserId';
import { setCookie } from './cookies';
import { clearQueue, setPersist } from './queue';
import { store, storeKeys } from './storage';

export const enum Consent {
  Pending,
  Granted,
  Revoked,
}

/** localStorage record of a revoke, read when a page starts. */
export const REVOKED_KEY = 'wq_r';

/** localStorage key of the identified user's fields (identify persists them). */
export const USER_KEY = 'wq_u';

/**
 * Forgets the visitor: the touch and id cookies (host-only and on `domain`: the relay sets them
 * host-only when no cookie domain is configured), the ids' mirrors and the stored identity. `all`
 * (a revoke) forgets the queue and every other `wq_` key too (calls a snippet kept), and records
 * the revoke. The relay's own cookies (`wq_c` is HttpOnly) are the relay's `/forget`'s to expire.
 */
export function forget(domain: string | undefined, all?: boolean): void {
  // `wq_t`: the touch cookie earlier versions of the pixel wrote.
  for (const name of ['wq_t', AID_KEY, FBP_KEY]) setCookie(name, '', 0, domain), setCookie(name, '', 0);
  for (const k of storeKeys('wq_')) (all ? k != 'wq_debug' : /^wq_(aid|fbp|u)$/.test(k)) && store(k, null);
  if (all) setPersist(false), clearQueue(), store(REVOKED_KEY, '1');
}
