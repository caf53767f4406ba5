import { describe, expect, it } from 'vitest';
import { MemoryOutbox } from './memoryOutbox';
import type { OutboxInput } from './outbox';

const input = (event_name: string, event_id: string, extra: Partial<OutboxInput> = {}): OutboxInput => ({
  company_id: 'biz_a',
  event_name,
  event_id,
  received_at: Date.now(),
  body: { company_id: 'biz_a', event_id, event_name: 'lead' },
  ...extra,
});

describe('MemoryOutbox', () => {
  it('dedups on (company_id, event_name, event_id)', async () => {
    const o = new MemoryOutbox();
    expect(await o.append([input('lead', 'x'), input('schedule', 'x'), input('lead', 'x')])).toEqual([true, true, false]);
    expect(await o.append([input('schedule', 'x'), input('lead', 'x', { company_id: 'biz_b' })])).toEqual([false, true]);
    expect((await o.stats()).pending).toBe(3);
  });

  it('keeps a skipped event in its terminal state, out of the backlog', async () => {
    const o = new MemoryOutbox();
    await o.append([input('page', 'p', { skipped: 'page view' }), input('lead', 'l')]);
    expect(await o.stats()).toMatchObject({ pending: 1, skipped: 1, oldest_pending_at: expect.any(Number) });
    expect(o.all()[0]).toMatchObject({ state: 'skipped', last_error: 'page view', next_attempt_at: null });
  });
});
