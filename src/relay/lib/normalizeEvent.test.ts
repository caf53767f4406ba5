import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { MAX_EVENT_AGE_MS, normalizeEvent } from './normalizeEvent';

const NOW = Date.parse('2026-11-30T12:00:00.000Z');
const valid = () => ({
  company_id: 'biz_a',
  event_name: 'lead',
  event_id: 'evt_1',
  event_time: '2026-11-30T11:59:00.000Z',
  action_source: 'website',
  url: 'https://shop.example/landing?utm_source=meta',
  referrer_url: 'https://l.facebook.com/',
  value: 49,
  currency: 'usd',
  product_id: 'prod_1',
  context: { fbclid: 'IwAR1', utm_source: 'meta', gbraid: 'gb1', language: 'en-US' },
  user: { anonymous_id: 'aid-1', email: 'ada@example.com', phone: '+14155550100', gender: 'female' },
});

const ok = (raw: unknown) => {
  const result = normalizeEvent(raw, NOW);
  if (result.error) throw new Error(`refused: ${JSON.stringify(result.error)}`);
  return result;
};

describe('normalizeEvent', () => {
  it('keeps a valid event as it is, with nothing dropped', () => {
    const { event, dropped } = ok(valid());
    expect(event).toEqual(valid());
    expect(dropped).toEqual([]);
  });

  it('converts numeric strings to numbers and numbers to strings, cuts long strings, lists each', () => {
    const { event, dropped } = ok({
      ...valid(),
      value: '49.00',
      product_id: 123,
      duration: ' 1500 ',
      context: { utm_content: 'c'.repeat(1100) },
      user: { phone: 4155550100 },
    });
    expect(event).toMatchObject({
      value: 49,
      product_id: '123',
      duration: 1500,
      context: { utm_content: 'c'.repeat(1024) },
      user: { phone: '4155550100' },
    });
    expect(dropped).toEqual([{ param: 'context.utm_content', message: expect.stringMatching(/cut/) }]);
  });

  it('leaves out unknown keys, prototype keys and values of the wrong type, keeping the event', () => {
    const raw = JSON.parse(
      '{"company_id":"biz_a","event_name":"lead","__proto__":{"x":1},"constructor":1,"src":"ad","value":{},"context":{"toString":"x","fbclid":[1]},"user":"ada"}',
    );
    const { event, dropped } = ok(raw);
    expect(Object.keys(event).sort()).toEqual(['company_id', 'context', 'event_name', 'event_time']);
    expect(event.context).toEqual({});
    expect(Object.getPrototypeOf(event)).toBe(Object.prototype);
    expect(dropped.map((d) => d.param)).toEqual(['__proto__', 'constructor', 'src', 'value', 'context.toString', 'context.fbclid', 'user']);
  });

  it('normalises email (trimmed, lower case) and phone (+ and digits), and drops an unusable one', () => {
    expect(ok({ ...valid(), user: { email: '  Ada@Example.COM ', phone: ' +1 (415) 555-0100 ' } }).event.user).toEqual({
      email: 'ada@example.com',
      phone: '+14155550100',
    });
    const { event, dropped } = ok({ ...valid(), user: { email: '   ', phone: 'call me' } });
    expect(event.user).toEqual({});
    expect(dropped.map((d) => d.param)).toEqual(['user.email', 'user.phone']);
  });

  it('repairs event_time: missing or unreadable or out of range becomes the time of receipt; epoch numbers are read', () => {
    const receipt = new Date(NOW).toISOString();
    expect(ok({ ...valid(), event_time: undefined }).event.event_time).toBe(receipt);
    expect(ok({ ...valid(), event_time: undefined }).dropped).toEqual([]);
    for (const bad of ['yesterday', '2026-02-30T10:00:00', {}, true]) {
      const r = ok({ ...valid(), event_time: bad });
      expect(r.event.event_time, String(bad)).toBe(receipt);
      expect(r.dropped).toEqual([{ param: 'event_time', message: expect.any(String) }]);
    }
    const old = new Date(NOW - MAX_EVENT_AGE_MS - 60_000).toISOString();
    expect(ok({ ...valid(), event_time: old }).event.event_time).toBe(receipt);
    expect(ok({ ...valid(), event_time: new Date(NOW + 3_600_000).toISOString() }).event.event_time).toBe(receipt);
    // Within 28 days: kept as sent, offset and all.
    expect(ok({ ...valid(), event_time: '2026-11-10T08:00:00+02:00' }).event.event_time).toBe('2026-11-10T08:00:00+02:00');
    expect(ok({ ...valid(), event_time: (NOW - 60_000) / 1000 }).event.event_time).toBe(new Date(NOW - 60_000).toISOString());
    expect(ok({ ...valid(), event_time: NOW - 60_000 }).event.event_time).toBe(new Date(NOW - 60_000).toISOString());
  });

  it("keeps any event name (page, the seller's own) and the SDK's extra fields", () => {
    const { event, dropped } = ok({
      ...valid(),
      event_name: 'page',
      title: 'Home',
      resumed: 'true',
      source: 'form',
      user: { linked_anonymous_id: 'a0' },
    });
    expect(event).toMatchObject({ event_name: 'page', title: 'Home', resumed: true, source: 'form', user: { linked_anonymous_id: 'a0' } });
    expect(dropped).toEqual([]);
  });

  it('refuses only without a company or a usable name', () => {
    for (const [raw, param] of [
      [{ ...valid(), company_id: undefined }, 'company_id'],
      [{ ...valid(), company_id: '' }, 'company_id'],
      [{ ...valid(), company_id: {} }, 'company_id'],
      [{ ...valid(), event_name: undefined }, 'event_name'],
      [{ ...valid(), event_name: 12 }, 'event_name'],
      [{ ...valid(), event_name: '  ' }, 'event_name'],
      [{ ...valid(), event_name: 'custom', custom_name: undefined }, 'custom_name'],
      [null, null],
      [[valid()], null],
    ] as const) {
      expect(normalizeEvent(raw, NOW).error?.param, JSON.stringify(raw)).toBe(param);
    }
  });

  // The principle: a conversion is worth more than any one of its fields.
  it('never loses a valid event for whatever JSON value one of its fields holds, unless it is the company or the name', () => {
    const paths = [
      'event_id',
      'event_time',
      'action_source',
      'url',
      'referrer_url',
      'value',
      'currency',
      'custom_name',
      'product_id',
      'plan_id',
      'title',
      'resumed',
      'duration',
      'source',
      'context',
      'user',
      'context.fbclid',
      'context.utm_content',
      'context.language',
      'user.email',
      'user.phone',
      'user.gender',
      'user.anonymous_id',
      'unknown',
      'context.unknown',
      'user.unknown',
      '__proto__',
      'context.__proto__',
      'constructor',
      'company_id',
      'event_name',
    ];
    fc.assert(
      fc.property(
        fc.array(fc.tuple(fc.constantFrom(...paths), fc.jsonValue({ maxDepth: 2 })), { minLength: 1, maxLength: 4 }),
        (changes) => {
          const raw: Record<string, any> = valid();
          for (const [path, value] of changes) {
            const [head, leaf] = path.split('.') as [string, string | undefined];
            if (leaf === undefined) Object.defineProperty(raw, head, { value, enumerable: true, configurable: true, writable: true });
            else if (raw[head] && typeof raw[head] === 'object' && !Array.isArray(raw[head]))
              Object.defineProperty(raw[head], leaf, { value, enumerable: true, configurable: true, writable: true });
          }
          const result = normalizeEvent(JSON.parse(JSON.stringify(raw)), NOW);
          const touchesIdentity = changes.some(([p]) => p === 'company_id' || p === 'event_name');
          if (!touchesIdentity) expect(result.error, JSON.stringify(changes)).toBeUndefined();
          if (result.error) {
            expect(['company_id', 'event_name', 'custom_name']).toContain(result.error.param);
            return;
          }
          // What is kept has the model's types.
          const e = result.event;
          expect(typeof e.company_id).toBe('string');
          expect(typeof e.event_name).toBe('string');
          expect(Number.isNaN(Date.parse(e.event_time!))).toBe(false);
          if (e.value != null) expect(Number.isFinite(e.value)).toBe(true);
          for (const group of [e.context, e.user])
            if (group) for (const v of Object.values(group)) expect(v === null || typeof v === 'string').toBe(true);
          expect(({} as Record<string, unknown>).x).toBeUndefined();
        },
      ),
      { numRuns: 3000 },
    );
  });
});
