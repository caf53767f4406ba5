import http from 'node:http';
import https from 'node:https';

export interface NodeFetchOptions {
  /** Most connections open to Whop at once (per host); at least the forwarder's most sends in flight. Default 256. */
  maxSockets?: number;
  /** Most response bytes read; a longer body is cut there (Whop's answers are a few hundred bytes). Default 1 MiB. */
  maxBodyBytes?: number;
}

export interface NodeFetch {
  /** A `fetch` for the @whop/sdk client: string or byte bodies, never follows a redirect. */
  fetch: typeof fetch;
  /** Closes the kept-alive connections. */
  close(): void;
}

/**
 * A minimal `fetch` over node:http(s) with keep-alive connections, handed to the @whop/sdk client
 * on Node. The global fetch (undici) costs 2–2.5× the CPU per send (web streams, a cloned
 * request for `redirect: 'manual'`), which at 1,000 sends/s is most of a core. It never follows a
 * redirect (a 3xx comes back as is) and aborts on the SDK's signal (its timeout).
 */
export function createNodeFetch(options: NodeFetchOptions = {}): NodeFetch {
  const maxSockets = options.maxSockets ?? 256;
  const maxBodyBytes = options.maxBodyBytes ?? 1_048_576;
  const agents = {
    'http:': new http.Agent({ keepAlive: true, maxSockets, maxFreeSockets: maxSockets, scheduling: 'lifo' }),
    'https:': new https.Agent({ keepAlive: true, maxSockets, maxFreeSockets: maxSockets, scheduling: 'lifo' }),
  };

  const nodeFetch = (input: string | URL | Request, init: RequestInit = {}): Promise<Response> =>
    new Promise((resolve, reject) => {
      const url = typeof input === 'string' ? new URL(input) : input instanceof URL ? input : new URL(input.url);
      const agent = agents[url.protocol as keyof typeof agents];
      if (!agent) return reject(new TypeError(`unsupported protocol ${url.protocol}`));
      const body = init.body;
      if (body != null && typeof body !== 'string' && !(body instanceof Uint8Array))
        return reject(new TypeError('only string or byte bodies are sent'));
      const signal = init.signal;
      if (signal?.aborted) return reject(_abortError());
      const headers: Record<string, string> = {};
      new Headers(init.headers).forEach((value, name) => {
        headers[name] = value;
      });
      const request = (url.protocol === 'https:' ? https : http).request(url, { method: init.method ?? 'GET', headers, agent }, (res) => {
        const chunks: Buffer[] = [];
        let size = 0;
        res.on('data', (chunk: Buffer) => {
          if (size < maxBodyBytes) chunks.push(chunk);
          size += chunk.length;
        });
        res.on('error', fail);
        res.on('end', () => {
          signal?.removeEventListener('abort', onAbort);
          const text = Buffer.concat(chunks).subarray(0, maxBodyBytes).toString('utf8');
          const responseHeaders = new Headers();
          for (let i = 0; i + 1 < res.rawHeaders.length; i += 2) responseHeaders.append(res.rawHeaders[i]!, res.rawHeaders[i + 1]!);
          resolve(_response(res.statusCode ?? 0, responseHeaders, text, url.href));
        });
      });
      function fail(error: Error) {
        signal?.removeEventListener('abort', onAbort);
        reject(error);
      }
      function onAbort() {
        request.destroy(_abortError());
      }
      signal?.addEventListener('abort', onAbort, { once: true });
      request.on('error', fail);
      request.end(body ?? undefined);
    });

  return {
    fetch: nodeFetch as typeof fetch,
    close() {
      agents['http:'].destroy();
      agents['https:'].destroy();
    },
  };
}

function _abortError(): Error {
  const error = new Error('The operation was aborted');
  error.name = 'AbortError';
  return error;
}

/**
 * The part of a fetch `Response` the SDK and whopClient read (status, ok, headers, url, text, json),
 * the body already read: a full `Response` would build a web stream per answer.
 */
function _response(status: number, headers: Headers, text: string, url: string): Response {
  const answer = {
    status,
    ok: status >= 200 && status < 300,
    statusText: '',
    headers,
    url,
    redirected: false,
    body: null,
    bodyUsed: false,
    text: async () => text,
    json: async () => JSON.parse(text) as unknown,
  };
  return answer as unknown as Response;
}
