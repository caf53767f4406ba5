/**
 * Forwarding holds shared by every relay on one outbox (Postgres): Whop's Retry-After, which holds
 * all sends, and a company's pause after Whop refused the key, with the time of its next probe.
 * A relay that learns either writes it here; the others read it before they claim, so a refused
 * key or a 429 stops every process, and one probe (not one per process) tests the key again.
 */
export interface SharedHolds {
  /** The holds in force (an implementation may answer from a cache of about a second). */
  read(): Promise<SharedHoldState>;
  /** Whop asked to wait: no relay sends before `until`. */
  hold(until: number): Promise<void>;
  /** The company is paused until a probe at `probeAt`. */
  pause(company_id: string, probeAt: number, reason: string): Promise<void>;
  /** The key works again for the company. */
  resume(company_id: string): Promise<void>;
  /**
   * Takes the company's probe when it is due at `now` (moving the next one to `nextProbeAt` for
   * everyone else); false when another relay took it, or it is not due.
   */
  takeProbe(company_id: string, now: number, nextProbeAt: number): Promise<boolean>;
}

export interface SharedHoldState {
  /** No send before this (epoch ms); 0 when there is no hold. */
  holdUntil: number;
  paused: Array<{ company_id: string; probeAt: number; reason: string }>;
}
