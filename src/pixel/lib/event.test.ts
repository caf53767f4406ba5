import { describe, expect, it } from 'vitest';
import { EVENT_NAMES } from '../../shared/conversion';
import { draftEvent, userFields } from './event';

describe('draftEvent', () => {
  it.each(EVENT_NAMES)('passes the API name %s through', (n) => {
    expect(draftEvent(n, undefined)).toEqual({ event_name: n });
  });

  it('sends any other name as custom with custom_name', () => {
    expect(draftEvent('booked_call', { value: 50, currency: 'USD' })).toEqual({ event_name: 'custom', custom_name: 'booked_call', value: 50, currency: 'usd' });
  });

  it('carries product and plan ids, leaves unknown props out', () => {
    expect(draftEvent('lead', { product_id: 'prod_1', plan_id: 'plan_1', content_name: 'x' })).toEqual({ event_name: 'lead', product_id: 'prod_1', plan_id: 'plan_1' });
  });

  it('refuses currencies outside the API list, and bad values', () => {
    expect(typeof draftEvent('lead', { currency: 'xyz' })).toBe('string');
    expect(typeof draftEvent('lead', { value: '10' })).toBe('string');
    expect(typeof draftEvent('lead', { value: NaN })).toBe('string');
    expect(typeof draftEvent('lead', { plan_id: 5 })).toBe('string');
    expect(typeof draftEvent('', {})).toBe('string');
    expect(typeof draftEvent(42, {})).toBe('string');
    expect(typeof draftEvent('lead', 'usd')).toBe('string');
  });
});

describe('userFields', () => {
  it('keeps the API user fields, drops unknown ones and anonymous_id', () => {
    expect(userFields({ email: 'a@b.co', phone: '+1555', gender: 'female', favourite: 'x', anonymous_id: 'mine' })).toEqual({ email: 'a@b.co', phone: '+1555', gender: 'female' });
  });

  it('refuses non-string values and unknown genders', () => {
    expect(typeof userFields({ email: 5 })).toBe('string');
    expect(typeof userFields({ gender: 'x' })).toBe('string');
    expect(typeof userFields(null)).toBe('string');
  });
});
