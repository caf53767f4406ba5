/** The pixel bundle as bytes or text, or a function that loads it (called per request, so a rebuild shows up). */
export type BundleSource = Uint8Array | string | (() => Promise<Uint8Array | string> | Uint8Array | string);

async function _etag(bytes: Uint8Array): Promise<string> {
  const digest = new Uint8Array(await crypto.subtle.digest('SHA-256', bytes as Uint8Array<ArrayBuffer>));
  let hex = '';
  for (let i = 0; i < 12; i++) hex += digest[i]!.toString(16).padStart(2, '0');
  return `"${hex}"`;
}

/**
 * Answers `GET <basePath>/p.js` with the bundle: `Cache-Control: public, max-age=300` (a fix reaches
 * visitors within minutes), a strong ETag of its bytes, and 304 when `If-None-Match` matches.
 */
export function serveBundle(source: BundleSource): (request: Request) => Promise<Response> {
  let last: { _value: Uint8Array | string; _bytes: Uint8Array; _etag: string } | null = null;
  return async (request) => {
    let value: Uint8Array | string;
    try {
      value = typeof source === 'function' ? await source() : source;
    } catch {
      // Not built or not deployed with the function: the page's snippet retries on its next load.
      return new Response('// whopq: the pixel bundle is not available on this server\n', {
        status: 404,
        headers: { 'content-type': 'text/javascript; charset=utf-8', 'cache-control': 'no-store' },
      });
    }
    if (!last || last._value !== value) {
      const bytes = typeof value === 'string' ? new TextEncoder().encode(value) : value;
      last = { _value: value, _bytes: bytes, _etag: await _etag(bytes) };
    }
    const headers: Record<string, string> = {
      'content-type': 'text/javascript; charset=utf-8',
      'cache-control': 'public, max-age=300',
      etag: last._etag,
      'x-content-type-options': 'nosniff',
    };
    const match = request.headers.get('if-none-match');
    if (match && match.split(',').some((t) => t.trim() === last!._etag || t.trim() === '*'))
      return new Response(null, { status: 304, headers });
    return new Response(request.method === 'HEAD' ? null : (last._bytes as Uint8Array<ArrayBuffer>), {
      status: 200,
      headers: { ...headers, 'content-length': String(last._bytes.byteLength) },
    });
  };
}
