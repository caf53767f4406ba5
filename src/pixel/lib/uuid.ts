/**
 * 128 random bits as 32 hex digits, for event_id and anonymous_id. getRandomValues rather than
 * crypto.randomUUID, which exists only in secure contexts (plain-http landing pages lack it).
 */
export function uuid(): string {
  let s = '';
  for (const b of crypto.getRandomValues(new Uint8Array(16))) s += (b + 256).toString(16).slice(1);
  return s;
}
