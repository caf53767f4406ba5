import { hmacSha256, timingSafeEqual, toBase64 } from './hmacSha256';
import type { Verdict } from './calendlyVerifier';

/**
 * Checks a `Typeform-Signature` header: `sha256=` and the base64 HMAC-SHA256 of the raw body under
 * the webhook's secret (https://www.typeform.com/developers/webhooks/secure-your-webhooks/).
 * Typeform signs no timestamp, so a replay is only ever caught by the event id it repeats.
 */
export function typeformVerifier(secret: string) {
  const sign = hmacSha256(secret);
  return async (header: string | null, body: Uint8Array<ArrayBuffer>): Promise<Verdict> => {
    if (!header) return 'missing';
    const given = header.trim();
    if (!given.startsWith('sha256=')) return 'malformed';
    const expected = `sha256=${toBase64(await sign(body))}`;
    return timingSafeEqual(given, expected) ? 'ok' : 'mismatch';
  };
}
