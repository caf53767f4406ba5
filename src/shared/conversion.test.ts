import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
// @ts-expect-error -- plain ESM script without types
import { OUT_PATH, SPEC_PATH, render } from '../../scripts/generate-schema.mjs';
import { CONVERSION_SCHEMA, CURRENCIES, EVENT_NAMES } from './conversion';

describe('src/shared/conversion.ts', () => {
  it('matches what the vendored spec generates (run `npm run generate` after changing the spec)', () => {
    expect(readFileSync(OUT_PATH, 'utf8')).toBe(render(readFileSync(SPEC_PATH, 'utf8')));
  });

  it('carries the spec facts the pixel and relay rely on', () => {
    expect(EVENT_NAMES).toEqual(['lead', 'submit_application', 'contact', 'complete_registration', 'schedule', 'custom']);
    expect(CURRENCIES).toContain('usd');
    expect(CURRENCIES).toHaveLength(87);
    expect(CONVERSION_SCHEMA.company_id).toEqual({ t: 'string', r: true });
    expect(CONVERSION_SCHEMA.event_time).toEqual({ t: 'string', fmt: 'date-time', n: true });
    expect(CONVERSION_SCHEMA.user.f?.gender.e).toEqual(['male', 'female']);
  });
});
