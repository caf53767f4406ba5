const _digest = async (text: string) => new Uint8Array(await crypto.subtle.digest('SHA-256', new TextEncoder().encode(text)));

/**
 * Checks `Authorization: Bearer <token>` against the configured tokens in constant time: both
 * sides are hashed (SHA-256, Web Crypto, so Workers run it too), and the digests compared byte by
 * byte without an early exit, against every token, so neither a token's length nor its prefix
 * shows in the timing. Resolves with the matching token's index (the rate limiter's key), or -1.
 */
export function bearerTokens(tokens: readonly string[]): (authorization: string | null) => Promise<number> {
  const digests = Promise.all(tokens.filter(Boolean).map(_digest));
  return async (authorization) => {
    const list = await digests;
    const given = authorization && /^bearer /i.test(authorization) ? authorization.slice(7).trim() : '';
    if (!given || list.length === 0) return -1;
    const d = await _digest(given);
    let found = -1;
    for (let i = 0; i < list.length; i++) {
      let diff = 0;
      for (let j = 0; j < d.length; j++) diff |= d[j]! ^ list[i]![j]!;
      if (diff === 0) found = i;
    }
    return found;
  };
}
