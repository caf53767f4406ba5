import { hmacSha256, timingSafeEqual, toHex } from './hmacSha256';

/** Why a webhook was refused, or `ok`. */
export type Verdict = 'ok' | 'missing' | 'malformed' | 'stale' | 'mismatch';

/** Calendly's advice: refuse a signature more than three minutes off the relay's clock (replays). */
export const CALENDLY_TOLERANCE_S = 180;

const _encoder = new TextEncoder();

/**
 * Checks a `Calendly-Webhook-Signature` header (`t=<unix seconds>,v1=<hex>`): v1 must be the
 * HMAC-SHA256 of `"<t>.<raw body>"` under the subscription's signing key, and t within `toleranceS`
 * of `nowMs` (https://developer.calendly.com/api-docs/overview/webhooks/webhook-signatures).
 */
export function calendlyVerifier(signingKey: string, toleranceS = CALENDLY_TOLERANCE_S) {
  const sign = hmacSha256(signingKey);
  return async (header: string | null, body: Uint8Array<ArrayBuffer>, nowMs: number): Promise<Verdict> => {
    if (!header) return 'missing';
    let t: string | undefined;
    const v1: string[] = [];
    for (const part of header.split(',')) {
      const eq = part.indexOf('=');
      const name = part.slice(0, eq).trim();
      const value = part.slice(eq + 1).trim();
      if (name === 't') t = value;
      else if (name === 'v1') v1.push(value.toLowerCase());
    }
    if (!t || !/^\d{1,12}$/.test(t) || v1.length === 0) return 'malformed';
    if (Math.abs(nowMs / 1000 - Number(t)) > toleranceS) return 'stale';
    const prefix = _encoder.encode(`${t}.`);
    const signed = new Uint8Array(prefix.length + body.length);
    signed.set(prefix);
    signed.set(body, prefix.length);
    const expected = toHex(await sign(signed));
    // Every v1 is compared, so which one matched (or how far) does not show in the time taken.
    let ok = false;
    for (const given of v1) ok = timingSafeEqual(given, expected) || ok;
    return ok ? 'ok' : 'mismatch';
  };
}
