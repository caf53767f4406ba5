import { build } from 'esbuild';
import { describe, expect, it, vi } from 'vitest';
import { EVENT_NAMES } from '../../shared/conversion';
import { draftEvent, userFields } from './event';
import { setDebug } from './log';

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
  it.each([...EVENT_NAMES, 'view_content', 'purchase', 'booked_call'])(
    'sends the name %s as itself (the relay maps names /conversions lacks)',
    (n) => {
      expect(draftEvent(n, undefined)).toEqual({ event_name: n });
    },
  );

  it('passes the props as given: the relay repairs types and leaves unknown ones out', () => {
    expect(draftEvent('lead', { value: '49.00', product_id: 123, currency: 'USD', content_name: 'x' })).toEqual({
      event_name: 'lead',
      value: '49.00',
      product_id: 123,
      currency: 'USD',
      content_name: 'x',
    });
  });

  it('a prop cannot rename the event; props JSON cannot write cost the props, never the event', () => {
    expect(draftEvent('lead', { event_name: 'other' })).toEqual({ event_name: 'lead' });
    const cyclic: Record<string, unknown> = { value: 1 };
    cyclic.self = cyclic;
    expect(draftEvent('lead', cyclic)).toEqual({ event_name: 'lead' });
    expect(draftEvent('lead', { value: 10n })).toEqual({ event_name: 'lead' });
  });

  it("warns in the debug build about a name past Whop's 35 characters, and sends it as given (the relay cuts it)", () => {
    const warn = vi.spyOn(console, 'warn').mockImplementation(() => {});
    vi.spyOn(console, 'log').mockImplementation(() => {});
    setDebug(true);
    const long = 'booked_a_discovery_call_from_the_webinar_page';
    expect(draftEvent(long, undefined)).toEqual({ event_name: long });
    expect(draftEvent('booked_call', undefined)).toEqual({ event_name: 'booked_call' });
    setDebug(false);
    expect(warn).toHaveBeenCalledTimes(1);
    expect(String(warn.mock.calls[0])).toContain('"booked_a_discovery_call_from_the_we"');
    vi.restoreAllMocks();
  });

  it('refuses a call without a usable name only', () => {
    expect(typeof draftEvent('', {})).toBe('string');
    expect(typeof draftEvent(42, {})).toBe('string');
    expect(typeof draftEvent('lead', 'usd')).toBe('string');
  });
});

describe('userFields', () => {
  it("keeps every field but the pixel's own anonymous_id, each a string cut to 255", () => {
    expect(userFields({ email: 'a@b.co', phone: 4155550100, favourite: 'x', anonymous_id: 'mine', city: 'x'.repeat(300) })).toEqual({
      email: 'a@b.co',
      phone: '4155550100',
      favourite: 'x',
      city: 'x'.repeat(255),
    });
  });

  it('refuses a non-object in the debug build', () => {
    expect(typeof userFields(null)).toBe('string');
  });
});

describe('the lean build', () => {
  it('builds the same event fields, without a word', async () => {
    const lean = await leanBuild();
    expect(lean.draftEvent('purchase_done', { value: 10, currency: 840 })).toEqual({
      event_name: 'purchase_done',
      value: 10,
      currency: 840,
    });
    expect(lean.draftEvent('', {})).toBe(false);
    expect(lean.userFields({ email: 'a@b.co', favourite: 'x', anonymous_id: 'mine' })).toEqual({ email: 'a@b.co', favourite: 'x' });
  });
});
