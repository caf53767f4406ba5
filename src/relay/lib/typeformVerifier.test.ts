import { createHmac } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { typeformVerifier } from './typeformVerifier';

const SECRET = 'typeform_secret_31d0';
const body = new Uint8Array(readFileSync(new URL('../../../test/fixtures/typeform-form-response.json', import.meta.url)));
// Typeform's scheme as its docs compute it (node:crypto): sha256= and the base64 digest of the raw body.
const sign = (raw: Uint8Array = body, secret = SECRET) => `sha256=${createHmac('sha256', secret).update(raw).digest('base64')}`;

describe('typeformVerifier', () => {
  const verify = typeformVerifier(SECRET);

  it('accepts the signature Typeform computes over the raw body', async () => {
    expect(await verify(sign(), body)).toBe('ok');
  });

  it('refuses another secret, a changed body, hex instead of base64, a missing or malformed header', async () => {
    expect(await verify(sign(body, 'other'), body)).toBe('mismatch');
    const changed = body.slice();
    changed[10] ^= 1;
    expect(await verify(sign(), changed)).toBe('mismatch');
    expect(await verify(`sha256=${createHmac('sha256', SECRET).update(body).digest('hex')}`, body)).toBe('mismatch');
    expect(await verify(null, body)).toBe('missing');
    expect(await verify(sign().slice('sha256='.length), body)).toBe('malformed');
  });
});
