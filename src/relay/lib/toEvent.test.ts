import { describe, expect, it } from 'vitest';
import { eventErrors } from '../../../test/fakeWhop';
import type { RelayEvent } from './relayEvent';
import { eventLeftOut, toEvent } from './toEvent';

const NOW = Date.now();
const base: RelayEvent = {
  company_id: 'biz_a',
  event_name: 'lead',
  event_id: 'e1',
  event_time: new Date(NOW).toISOString(),
  action_source: 'website',
  url: 'https://shop.example/',
};
const context = {
  fbclid: 'IwAR1',
  fbc: 'fb.1.1700000000000.IwAR1',
  fbp: 'fb.1.1700000000000.42',
  gclid: 'g1',
  gbraid: 'gb1',
  wbraid: 'wb1',
  ttclid: 't1',
  msclkid: 'm1',
  li_fat_id: 'l1',
  rdt_cid: 'r1',
  sccid: 's1',
  twclid: 'x1',
  utm_source: 'meta',
  language: 'en-US',
  timezone: 'Europe/Paris',
  screen_resolution: '1920x1080',
  ip_address: '203.0.113.9',
  user_agent: 'Mozilla/5.0',
};

describe('toEvent', () => {
  it('sends every field /events has, with company_id as account_id and the event id as Idempotency-Key', () => {
    const event: RelayEvent = {
      ...base,
      event_name: 'page',
      title: 'Home',
      resumed: true,
      context,
      user: { anonymous_id: 'a1', linked_anonymous_id: 'a0', linked_wuid: 'wuid_k3j9', email: 'a@b.c' },
    };
    const { params, left_out } = toEvent(event);
    const { company_id, ...rest } = event;
    expect(params).toEqual({ ...rest, account_id: company_id, 'Idempotency-Key': 'e1' });
    expect(left_out).toEqual([]);
    const { 'Idempotency-Key': key, ...body } = params;
    expect(key).toBe(event.event_id);
    expect(eventErrors(body)).toEqual([]);
  });

  it('sends standard names as they are and a name of the seller’s own cut to Whop’s 35 characters', () => {
    for (const name of ['lead', 'view_content', 'add_to_cart', 'initiate_checkout', 'purchase', 'leave', 'identify'])
      expect(toEvent({ ...base, event_name: name }).params.event_name).toBe(name);
    const purchase = toEvent({ ...base, event_name: 'purchase', value: 49.5, currency: 'usd' }).params;
    expect(purchase).toMatchObject({ event_name: 'purchase', value: 49.5, currency: 'usd' });
    const long = toEvent({ ...base, event_name: 'a_very_long_event_name_the_seller_chose_for_this' });
    expect(long.params.event_name).toBe('a_very_long_event_name_the_seller_c');
    const { 'Idempotency-Key': _k, ...body } = long.params;
    expect(eventErrors(body)).toEqual([]);
    // custom_name only means something with event_name `custom`.
    expect(toEvent({ ...base, event_name: 'webinar', custom_name: 'x' })).toMatchObject({
      params: { event_name: 'webinar' },
      left_out: ['custom_name'],
    });
    expect(toEvent({ ...base, event_name: 'webinar', custom_name: 'x' }).params).not.toHaveProperty('custom_name');
    expect(toEvent({ ...base, event_name: 'custom', custom_name: 'c'.repeat(50) }).params.custom_name).toHaveLength(35);
  });

  it('leaves out (and names) only keys /events has no place for', () => {
    const odd = {
      ...base,
      surprise: 1,
      context: { gclid: 'g', nope: 'x' },
      user: { email: 'a@b.c', shoe_size: 42 },
    } as unknown as RelayEvent;
    const m = toEvent(odd);
    expect(m.left_out).toEqual(['surprise', 'context.nope', 'user.shoe_size']);
    const counted: string[] = [];
    eventLeftOut(odd, counted);
    expect(counted.sort()).toEqual([...m.left_out].sort());
  });

  it('has a fake Whop that refuses what /events would (so the mapping is really checked)', () => {
    const body = { account_id: 'biz_a', event_name: 'lead', event_id: 'e1' };
    expect(eventErrors(body)).toEqual([]);
    expect(eventErrors({ ...body, company_id: 'biz_a' })).not.toEqual([]);
    expect(eventErrors({ ...body, context: { nope: 'x' } })).not.toEqual([]);
    expect(eventErrors({ ...body, event_name: 'n'.repeat(36) })).not.toEqual([]);
    expect(eventErrors({ ...body, event_name: 'custom', custom_name: 'c'.repeat(36) })).not.toEqual([]);
    expect(eventErrors({ ...body, resumed: 'yes' })).not.toEqual([]);
    expect(eventErrors({ ...body, event_time: new Date(NOW - 29 * 86_400_000).toISOString() })).not.toEqual([]);
  });
});
