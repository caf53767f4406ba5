// The hand-off from the browser to the seller's server: the page reads the anonymous id and the
// event id from the pixel's track callback and posts them to its own backend, which sends the
// same lead with whopq/server's sendConversion to the relay's server endpoint. Whop receives one
// lead, with the browser's context (the ad click, _fbp, the browser's user agent).
import { once } from 'node:events';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { expect, test } from './fixtures';

const SERVER_TOKEN = 'e2e_server_token_7a1f';
test.use({ stackEnv: { WHOPQ_SERVER_TOKENS: SERVER_TOKEN } });

test('the page hands its ids to its backend; the backend’s lead and the browser’s reach Whop once, with the browser’s context', async ({
  page,
  stack,
}) => {
  const { sendConversion } = await import('../dist/relay/server.js');
  const received: Array<{ event_id: string; anonymous_id: string; email: string }> = [];
  const answers: unknown[] = [];
  const backend: Server = createServer((req, res) => {
    let body = '';
    req.on('data', (c) => (body += c));
    req.on('end', async () => {
      const ids = JSON.parse(body) as { event_id: string; anonymous_id: string; email: string };
      received.push(ids);
      const result = await sendConversion(
        {
          company_id: 'biz_demo',
          event_name: 'lead',
          event_id: ids.event_id,
          user: { anonymous_id: ids.anonymous_id, email: ids.email },
          value: 120,
          currency: 'usd',
        },
        { relayUrl: `${stack.origin}/wq`, token: SERVER_TOKEN },
      ).catch((e: Error) => ({ error: e.message }));
      answers.push(result);
      res.writeHead(200, { 'access-control-allow-origin': '*', 'content-type': 'application/json' });
      res.end(JSON.stringify(result));
    });
  });
  backend.listen(0, '127.0.0.1');
  await once(backend, 'listening');
  try {
    const backendUrl = `http://127.0.0.1:${(backend.address() as AddressInfo).port}`;
    await page.goto(`${stack.origin}/t/handoff.html?fbclid=IwAR_handoff_e2e&utm_source=facebook#${backendUrl}`);
    await page.click('#submit');
    await expect(page.locator('#status')).toContainText('event_id');
    expect(received).toHaveLength(1);
    const { event_id, anonymous_id } = received[0]!;
    expect(event_id).toMatch(/^[0-9a-f]{32}$|^[0-9a-f-]{36}$/);
    const cookies = await page.context().cookies();
    expect(anonymous_id).toBe(
      cookies.find((c) => c.name === 'wq_aid')?.value ?? (await page.evaluate(() => localStorage.getItem('wq_aid'))),
    );
    const fbp = cookies.find((c) => c.name === '_fbp')!.value;
    const userAgent = await page.evaluate(() => navigator.userAgent);
    expect(answers[0]).toMatchObject({ event_id, status: expect.stringMatching(/^(accepted|duplicate)$/) });

    const [lead] = await stack.expectConversions(
      [
        {
          event_name: 'lead',
          event_id,
          user: { anonymous_id, email: 'grace@example.com' },
          context: { fbclid: 'IwAR_handoff_e2e', utm_source: 'facebook', fbp, user_agent: userAgent },
        },
      ],
      { timeout: 20_000 },
    );
    expect(lead!.context?.ip_address).toBe('127.0.0.1');
  } finally {
    backend.closeAllConnections();
    await new Promise((r) => backend.close(r));
  }
});

test('whopq reset forgets the visitor at the relay: a server event naming the old anonymous id gets nothing of the visit', async ({
  page,
  stack,
}) => {
  const { sendConversion } = await import('../dist/relay/server.js');
  await page.goto(`${stack.origin}/t/handoff.html?fbclid=IwAR_forgotten_e2e&utm_source=facebook`);
  const ids = await page.evaluate(
    () => new Promise<{ event_id: string; anonymous_id: string }>((resolve) => window.whopq('track', 'lead', {}, { callback: resolve })),
  );
  // The visit reached the relay (the lead, after the page view) before the reset.
  await stack.expectConversions([{ event_name: 'lead', event_id: ids.event_id, context: { fbclid: 'IwAR_forgotten_e2e' } }]);
  const forgot = page.waitForResponse((r) => new URL(r.url()).pathname === '/wq/forget');
  await page.evaluate(() => window.whopq('reset'));
  expect((await forgot).status()).toBe(204);
  const result = await sendConversion(
    { company_id: 'biz_demo', event_name: 'schedule', event_id: 'handoff-after-reset', user: { anonymous_id: ids.anonymous_id } },
    { relayUrl: `${stack.origin}/wq`, token: SERVER_TOKEN },
  );
  expect(result).toMatchObject({ status: 'accepted' });
  expect(result.filled).toBeUndefined();
  const [, schedule] = await stack.expectConversions([
    { event_name: 'lead', event_id: ids.event_id },
    { event_name: 'schedule', event_id: 'handoff-after-reset' },
  ]);
  expect(schedule!.context?.fbclid).toBeUndefined();
});
