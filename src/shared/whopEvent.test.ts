import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
// @ts-expect-error -- plain ESM script without types
import { EVENT_OUT_PATH, EVENT_SPEC_PATH, renderEvent } from '../../scripts/generate-schema.mjs';
import { EVENT_CONTEXT_FIELDS, EVENT_SCHEMA, EVENT_USER_FIELDS, MAX_CUSTOM_NAME_LENGTH, STANDARD_EVENT_NAMES } from './whopEvent';

describe('src/shared/whopEvent.ts', () => {
  it('matches what the vendored /events spec generates (run `npm run generate` after changing the spec)', () => {
    expect(readFileSync(EVENT_OUT_PATH, 'utf8')).toBe(renderEvent(readFileSync(EVENT_SPEC_PATH, 'utf8')));
  });

  it('carries the contract facts the relay relies on', () => {
    expect(EVENT_SCHEMA.account_id).toEqual({ t: 'string', r: true });
    expect(EVENT_SCHEMA.event_name).toEqual({ t: 'string', r: true });
    expect(EVENT_SCHEMA.resumed).toEqual({ t: 'boolean', n: true });
    expect(EVENT_SCHEMA.custom_name?.max).toBe(35);
    expect(MAX_CUSTOM_NAME_LENGTH).toBe(35);
    expect(STANDARD_EVENT_NAMES).toEqual(expect.arrayContaining(['lead', 'view_content', 'add_to_cart', 'initiate_checkout', 'purchase']));
    for (const id of [
      'fbc',
      'gbraid',
      'wbraid',
      'msclkid',
      'li_fat_id',
      'rdt_cid',
      'sccid',
      'twclid',
      'language',
      'timezone',
      'screen_resolution',
    ])
      expect(EVENT_CONTEXT_FIELDS).toContain(id);
    expect(EVENT_USER_FIELDS).toEqual(expect.arrayContaining(['linked_anonymous_id', 'linked_wuid']));
  });
});
