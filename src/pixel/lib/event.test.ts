import { build } from 'esbuild';
import { describe, expect, it } from 'vitest';
import { EVENT_NAMES } from '../../shared/conversion';
import { draftEvent, userFields } from './event';

/** This module as the lean bundle compiles it (`__DEBUG__` false), loaded as a module of its own. */
async function leanBuild(): Promise<typeof import('./event')> {
  const out = await build({
    entryPoints: ['src/pixel/lib/event.ts'],
    bundle: true,
    format: 'esm',
    write: false,
    define: { __DEBUG__: 'false' },
    logLevel: 'warning',
  });
  return import('data:text/javascript;base64,' + Buffer.from(out.outputFiles[0].text).toString('base64'));
}

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

  it('leaves out a currency outside the API list and keeps the event', () => {
    expect(draftEvent('lead', { value: 10, currency: 'xyz' })).toEqual({ event_name: 'lead', value: 10 });
    expect(draftEvent('lead', { value: 10, currency: 'US$' })).toEqual({ event_name: 'lead', value: 10 });
  });

  it('refuses bad values', () => {
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

  it('refuses non-string values, leaves out unknown genders', () => {
    expect(typeof userFields({ city: 5 })).toBe('string');
    expect(userFields({ gender: 'x', email: 'a@b.co' })).toEqual({ email: 'a@b.co' });
    expect(typeof userFields(null)).toBe('string');
  });
});

describe('the lean build (dist/whopq.js)', () => {
  it('sends the currency as a string and leaves the list to the relay, which keeps the event without a bad one', async () => {
    const lean = await leanBuild();
    expect(lean.draftEvent('lead', { value: 10, currency: 'EUR' })).toEqual({ event_name: 'lead', value: 10, currency: 'EUR' });
    // A number would make the relay refuse the whole event (wrong type); as a string it is only left out there.
    expect(lean.draftEvent('purchase_done', { value: 10, currency: 840 })).toEqual({ event_name: 'custom', custom_name: 'purchase_done', value: 10, currency: '840' });
  });

  it('drops a bad call without a message, and filters unknown keys', async () => {
    const lean = await leanBuild();
    expect(lean.draftEvent('', {})).toBe(false);
    expect(lean.draftEvent('lead', { content_name: 'x', plan_id: 'p' })).toEqual({ event_name: 'lead', plan_id: 'p' });
    expect(lean.userFields({ email: 'a@b.co', favourite: 'x', anonymous_id: 'mine' })).toEqual({ email: 'a@b.co' });
  });
});
