// What one send to Whop costs the relay in CPU, by path: @whop/sdk's generic post (how /conversions
// used to go) and the relay's whopClient (/conversions as one plain POST; /events through the SDK's
// events.create), each over the global fetch (what Workers and Next.js use) or the Node relay's
// node:http keep-alive transport (nodeFetch), and a bare node:http POST (the floor). Against the
// fake Whop in its own process answering at once, `concurrency` sends in flight, CPU from
// process.cpuUsage().
import http from 'node:http';
import { rmSync } from 'node:fs';
import Whop from '@whop/sdk';
import { bundleSources } from './bundleSources.mjs';
import { startChild } from './startChild.mjs';

const API_KEY = 'k_bench_send_cost';

export async function sendCost({ n = 4000, concurrency = 200 } = {}) {
  const src = await bundleSources(
    "export { createWhopClient } from './src/relay/lib/whopClient.ts'; export { createNodeFetch } from './src/relay/node/nodeFetch.ts';",
  );
  const { createWhopClient, createNodeFetch } = await import(src.url);
  const whop = await startChild({
    args: [new URL('../servers/fakeWhopServer.mjs', import.meta.url).pathname],
    env: { API_KEY, LATENCY_MS: '0' },
    ready: /listening on (http:\/\/\S+)/,
  });
  const node = createNodeFetch({ maxSockets: concurrency });
  const agent = new http.Agent({ keepAlive: true, maxSockets: concurrency });
  let next = 0;
  const body = () =>
    JSON.stringify({
      company_id: 'biz_bench',
      event_name: 'lead',
      event_id: `send_${++next}`,
      action_source: 'website',
      url: 'https://shop.example/landing?utm_source=meta',
      context: { fbclid: 'IwAR2bench', utm_source: 'meta' },
      user: { anonymous_id: '5f0c2a9e-3d8b-4c1e-9a67-0b2d4e6f8a1c' },
    });
  // A send that fails (a connection closed under load) is counted, not retried.
  let failed = 0;
  const viaClient = (client) => async () => {
    if ((await client.createConversion(body())).kind !== 'ok') failed++;
  };
  const viaEvents = (client) => async () => {
    const id = `send_${++next}`;
    if ((await client.createEvent({ account_id: 'biz_bench', event_name: 'lead', event_id: id, 'Idempotency-Key': id })).kind !== 'ok')
      failed++;
  };
  // The SDK configured as whopClient configures it, /conversions through its generic post.
  const viaSdkPost = (fetch) => {
    const sdk = new Whop({
      apiKey: API_KEY,
      baseURL: whop.url,
      maxRetries: 0,
      logLevel: 'off',
      appID: null,
      webhookKey: null,
      fetchOptions: { redirect: 'manual' },
      ...(fetch ? { fetch } : {}),
    });
    return async () => {
      try {
        await (await sdk.post('/conversions', { body: body(), headers: { 'content-type': 'application/json' } }).asResponse()).text();
      } catch {
        failed++;
      }
    };
  };
  const bare = () =>
    new Promise((resolve) => {
      const req = http.request(
        `${whop.url}/conversions`,
        { method: 'POST', agent, headers: { 'content-type': 'application/json', authorization: `Bearer ${API_KEY}` } },
        (res) => {
          const chunks = [];
          res.on('data', (c) => chunks.push(c));
          res.on('end', () => {
            if (res.statusCode !== 200) failed++;
            resolve(Buffer.concat(chunks).toString());
          });
        },
      );
      req.on('error', () => {
        failed++;
        resolve('');
      });
      req.end(body());
    });
  const global = createWhopClient({ apiKey: API_KEY, baseURL: whop.url });
  const onNode = createWhopClient({ apiKey: API_KEY, baseURL: whop.url, fetch: node.fetch });
  const variants = [
    ['/conversions by the SDK’s generic post, global fetch (before)', viaSdkPost(null)],
    ['/conversions by the SDK’s generic post, nodeFetch', viaSdkPost(node.fetch)],
    ['/conversions by whopClient (plain POST), global fetch: Workers, Next.js', viaClient(global)],
    ['/conversions by whopClient (plain POST), nodeFetch: the Node relay', viaClient(onNode)],
    ['/events by the SDK’s events.create, nodeFetch: the Node relay', viaEvents(onNode)],
    ['bare node:http POST (the floor)', bare],
  ];
  const rows = [];
  try {
    for (const [name, send] of variants) {
      let measured;
      // Twice: the first round warms up (connections, JIT), the second is kept.
      for (let round = 0; round < 2; round++) {
        let i = 0;
        failed = 0;
        const cpu = process.cpuUsage();
        const t0 = performance.now();
        await Promise.all(
          Array.from({ length: concurrency }, async () => {
            while (i++ < n) await send();
          }),
        );
        const used = process.cpuUsage(cpu);
        measured = { name, cpuMs: (used.user + used.system) / 1000 / n, rate: (n / (performance.now() - t0)) * 1000, failed };
      }
      rows.push(measured);
    }
  } finally {
    node.close();
    agent.destroy();
    await whop.stop();
    rmSync(src.dir, { recursive: true, force: true });
  }
  return rows;
}
