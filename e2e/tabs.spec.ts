// Several tabs of one visitor share one queue (localStorage): each event reaches Whop once.
import { test } from './fixtures';

test('two tabs tracking at once: every event once, none twice', async ({ context, stack }) => {
  const [a, b] = [await context.newPage(), await context.newPage()];
  await Promise.all([a.goto(`${stack.origin}/t/blank.html?utm_source=meta`), b.goto(`${stack.origin}/t/blank.html?utm_source=meta`)]);
  const burst = (name: string) => {
    for (let i = 0; i < 5; i++) whopq('track', name, { value: i });
  };
  await Promise.all([a.evaluate(burst, 'lead'), b.evaluate(burst, 'schedule')]);
  const expected = ['lead', 'schedule'].flatMap((event_name) =>
    [0, 1, 2, 3, 4].map((value) => ({ event_name: event_name as 'lead' | 'schedule', value })),
  );
  await stack.expectConversions(expected);
});
