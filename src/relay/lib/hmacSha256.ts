const _encoder = new TextEncoder();

/**
 * An HMAC-SHA256 signer for one secret (its UTF-8 bytes are the key, as the vendors' own examples
 * use it), with Web Crypto only so it runs on Node, Workers and Next.js alike. The key is imported
 * once, on first use.
 */
export function hmacSha256(secret: string): (data: Uint8Array<ArrayBuffer>) => Promise<Uint8Array> {
  let key: ReturnType<typeof crypto.subtle.importKey> | undefined;
  return async (data) => {
    key ??= crypto.subtle.importKey('raw', _encoder.encode(secret), { name: 'HMAC', hash: 'SHA-256' }, false, ['sign']);
    return new Uint8Array(await crypto.subtle.sign('HMAC', await key, data));
  };
}

/** Whether two strings are equal, in time that depends on `expected`'s length only. */
export function timingSafeEqual(given: string, expected: string): boolean {
  let diff = given.length ^ expected.length;
  for (let i = 0; i < expected.length; i++) diff |= (given.charCodeAt(i) || 0) ^ expected.charCodeAt(i);
  return diff === 0;
}

/** Bytes as lower-case hex. */
export function toHex(bytes: Uint8Array): string {
  let hex = '';
  for (const b of bytes) hex += (b + 256).toString(16).slice(1);
  return hex;
}

/** Bytes as standard base64 (with padding). */
export function toBase64(bytes: Uint8Array): string {
  let s = '';
  for (const b of bytes) s += String.fromCharCode(b);
  return btoa(s);
}
