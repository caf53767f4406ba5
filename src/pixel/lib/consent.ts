// Consent states. Pending: events are held in memory, no cookie or storage is written, nothing is
// sent. Granted: normal operation. Revoked: whopq's cookies and storage are wiped and nothing is
// stored, set or sent until a later grant.
import { AID_KEY } from './anonymousId';
import { setCookie } from './cookies';
import { clearQueue, setPersist } from './queue';
import { store } from './storage';
import { TOUCH_COOKIE } from './touch';

export const enum Consent {
  Pending,
  Granted,
  Revoked,
}

/** Removes every trace whopq left: the queue, the touch and id cookies, the id mirror. */
export function forget(domain: string | undefined): void {
  setPersist(false);
  clearQueue();
  store(AID_KEY, null);
  for (const name of [TOUCH_COOKIE, AID_KEY]) setCookie(name, '', 0, domain);
}
