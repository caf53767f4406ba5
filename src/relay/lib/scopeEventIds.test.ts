import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { scopeEventIds } from './scopeEventIds';

const scoped = (company: string, visitor: string) => createHash('sha256').update(`${company}\u0000${visitor}`).digest('hex').slice(0, 8);

describe('scopeEventIds', () => {
  it('suffixes a guessable id with the first 8 hex of SHA-256(company, NUL, visitor), the same across releases', () => {
    const body = {
      events: [
        { company_id: 'biz_x', event_id: 'order-1', user: { anonymous_id: 'aid-1' } },
        { company_id: 'biz_x', event_id: 'order-2' },
      ],
    };
    const out = JSON.parse(scopeEventIds(JSON.stringify(body), '203.0.113.9'));
    expect(out.events.map((e: { event_id: string }) => e.event_id)).toEqual([
      `order-1.v${scoped('biz_x', 'aid-1')}`,
      `order-2.v${scoped('biz_x', '203.0.113.9')}`,
    ]);
  });

  it('keeps random ids and returns the text itself when nothing changed or it does not parse', () => {
    const text = JSON.stringify({ company_id: 'biz_x', event_id: '0123456789abcdef0123456789abcdef' });
    expect(scopeEventIds(text, null)).toBe(text);
    expect(scopeEventIds('{not json', null)).toBe('{not json');
  });
});
