/** The body was longer than allowed; the handler answers 413. */
export class BodyTooLargeError extends Error {
  override name = 'BodyTooLargeError';
}

/**
 * Reads a request body as UTF-8 text, at most `maxBytes`. A declared Content-Length over the limit
 * is refused before reading; otherwise the stream is read chunk by chunk and cancelled as soon as it
 * passes the limit, so a client cannot make the relay buffer more than `maxBytes`.
 */
export async function readBody(request: Request, maxBytes: number): Promise<string> {
  return decodeUtf8(await readBodyBytes(request, maxBytes));
}

/** The body's bytes as sent, within the same limit as `readBody` (what a signature is computed over). */
export async function readBodyBytes(request: Request, maxBytes: number): Promise<Uint8Array<ArrayBuffer>> {
  const declared = Number(request.headers.get('content-length'));
  if (Number.isFinite(declared) && declared > maxBytes) throw new BodyTooLargeError();
  if (!request.body) return new Uint8Array(0);
  const reader = request.body.getReader();
  const chunks: Uint8Array[] = [];
  let size = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    size += value.byteLength;
    if (size > maxBytes) {
      reader.cancel().catch(() => {});
      throw new BodyTooLargeError();
    }
    chunks.push(value);
  }
  if (chunks.length === 1) return chunks[0] as Uint8Array<ArrayBuffer>;
  const all = new Uint8Array(size);
  let at = 0;
  for (const chunk of chunks) {
    all.set(chunk, at);
    at += chunk.byteLength;
  }
  return all;
}

const _decoder = new TextDecoder();

/** UTF-8 bytes as text the way `Request.text()` decodes them: a leading BOM dropped, bad bytes as U+FFFD. */
export function decodeUtf8(bytes: Uint8Array): string {
  return _decoder.decode(bytes);
}
