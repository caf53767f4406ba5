import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { conversionErrors } from '../../../test/fakeWhop';
import { normalizeEvent } from './normalizeEvent';
import type { RelayEvent } from './relayEvent';
import { conversionLeftOut, toConversion } from './toConversion';

const NOW = Date.now();
const base: RelayEvent = {
  company_id: 'biz_a',
  event_name: 'lead',
  event_id: 'e1',
  event_time: new Date(NOW).toISOString(),
  action_source: 'website',
  url: 'https://shop.example/',
};

describe('toConversion', () => {
  it('sends the six conversion names as they are and leaves out what /conversions lacks', () => {
    const m = toConversion({
      ...base,
      title: 'Home',
      duration: 5,
      context: { gclid: 'g', gbraid: 'gb', language: 'en' },
      user: { email: 'a@b.c', linked_wuid: 'w' },
    })!;
    expect(m.body).toEqual({ ...base, context: { gclid: 'g' }, user: { email: 'a@b.c' } });
    expect(m.left_out).toEqual(['title', 'duration', 'context.gbraid', 'context.language', 'user.linked_wuid']);
    const counted: string[] = [];
    conversionLeftOut(
      {
        ...base,
        title: 'Home',
        duration: 5,
        context: { gclid: 'g', gbraid: 'gb', language: 'en' },
        user: { email: 'a@b.c', linked_wuid: 'w' },
      },
      counted,
    );
    expect(counted).toEqual(m.left_out);
    expect(conversionErrors(m.body)).toEqual([]);
  });

  it('sends any other name as custom with the name as custom_name, cut to 35 characters', () => {
    expect(toConversion({ ...base, event_name: 'purchase' })!.body).toMatchObject({ event_name: 'custom', custom_name: 'purchase' });
    const long = toConversion({ ...base, event_name: 'a_very_long_event_name_the_seller_chose_for_this' })!;
    expect(long.body.custom_name).toBe('a_very_long_event_name_the_seller_c');
    expect(conversionErrors(long.body)).toEqual([]);
    // A custom_name sent with a name of the seller's own is replaced by that name.
    expect(toConversion({ ...base, event_name: 'webinar', custom_name: 'x' })).toMatchObject({
      body: { event_name: 'custom', custom_name: 'webinar' },
      left_out: ['custom_name'],
    });
    expect(toConversion({ ...base, event_name: 'custom', custom_name: 'c'.repeat(50) })!.body.custom_name).toHaveLength(35);
  });

  it('has a fake Whop that refuses what /conversions would (so the mapping is really checked)', () => {
    expect(conversionErrors({ ...base, title: 'Home' })).not.toEqual([]);
    expect(conversionErrors({ ...base, context: { gbraid: 'x' } })).not.toEqual([]);
    expect(conversionErrors({ ...base, event_name: 'custom', custom_name: 'c'.repeat(36) })).not.toEqual([]);
    expect(conversionErrors({ ...base, event_name: 'purchase' })).not.toEqual([]);
  });

  it('never sends a page view', () => {
    expect(toConversion({ ...base, event_name: 'page', title: 'Home' })).toBeNull();
  });

  it('maps whatever ingest kept to a body the fake Whop (the spec, strict) accepts', () => {
    const anyName = fc.oneof(
      fc.constantFrom('lead', 'schedule', 'custom', 'purchase', 'add_to_cart', 'page'),
      fc.string({ minLength: 1, maxLength: 60 }),
    );
    const fields = fc.dictionary(
      fc.constantFrom(
        'event_id',
        'event_time',
        'action_source',
        'url',
        'value',
        'currency',
        'custom_name',
        'product_id',
        'title',
        'resumed',
        'duration',
        'context',
        'user',
        'extra',
      ),
      fc.oneof(
        fc.jsonValue({ maxDepth: 1 }),
        fc.dictionary(
          fc.constantFrom('fbclid', 'gbraid', 'language', 'email', 'phone', 'gender', 'linked_wuid', 'utm_source', 'nope'),
          fc.jsonValue({ maxDepth: 0 }),
        ),
      ),
      { maxKeys: 8 },
    );
    fc.assert(
      fc.property(anyName, fields, (event_name, extra) => {
        const result = normalizeEvent({ company_id: 'biz_a', ...extra, event_name }, NOW);
        if (result.error) return;
        const mapped = toConversion(result.event);
        if (result.event.event_name === 'page') expect(mapped).toBeNull();
        else {
          expect(conversionErrors(mapped!.body), JSON.stringify(mapped!.body)).toEqual([]);
          const counted: string[] = [];
          conversionLeftOut(result.event, counted);
          expect(counted.sort()).toEqual([...mapped!.left_out].sort());
        }
      }),
      { numRuns: 2000 },
    );
  });
});
