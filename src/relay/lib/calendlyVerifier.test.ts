import { createHmac } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { calendlyVerifier } from './calendlyVerifier';

const KEY = 'calendly_signing_key_7c1e';
const body = new Uint8Array(readFileSync(new URL('../../../test/fixtures/calendly-invitee-created.json', import.meta.url)));
const NOW = 1_764_252_131_000;
// Calendly's scheme, computed the way its docs do it (node:crypto), not with the code under test.
const sign = (t: number, raw: Uint8Array = body, key = KEY) =>
  `t=${t},v1=${createHmac('sha256', key).update(`${t}.`).update(raw).digest('hex')}`;

describe('calendlyVerifier', () => {
  const verify = calendlyVerifier(KEY);
  const t = NOW / 1000;

  it('accepts the signature Calendly computes over "<t>.<raw body>"', async () => {
    expect(await verify(sign(t), body, NOW)).toBe('ok');
    expect(await verify(sign(t - 170), body, NOW)).toBe('ok');
    // Whitespace after the comma and a second v1 (a key being rolled) are allowed.
    expect(await verify(`t=${t}, v1=${'0'.repeat(64)}, ${sign(t).split(',')[1]}`, body, NOW)).toBe('ok');
  });

  it('refuses another key, a changed body, a missing or malformed header', async () => {
    expect(await verify(sign(t, body, 'other'), body, NOW)).toBe('mismatch');
    const changed = body.slice();
    changed[changed.length - 5] ^= 1;
    expect(await verify(sign(t), changed, NOW)).toBe('mismatch');
    expect(await verify(null, body, NOW)).toBe('missing');
    expect(await verify('', body, NOW)).toBe('missing');
    expect(await verify(`v1=${'a'.repeat(64)}`, body, NOW)).toBe('malformed');
    expect(await verify(`t=${t}`, body, NOW)).toBe('malformed');
    expect(await verify(`t=soon,v1=${'a'.repeat(64)}`, body, NOW)).toBe('malformed');
    // The body alone signed (no timestamp): the usual mistake, and not Calendly's scheme.
    expect(await verify(`t=${t},v1=${createHmac('sha256', KEY).update(body).digest('hex')}`, body, NOW)).toBe('mismatch');
  });

  it('refuses a timestamp more than three minutes off, either way', async () => {
    expect(await verify(sign(t - 181), body, NOW)).toBe('stale');
    expect(await verify(sign(t + 181), body, NOW)).toBe('stale');
    expect(await calendlyVerifier(KEY, 600)(sign(t - 500), body, NOW)).toBe('ok');
  });
});
