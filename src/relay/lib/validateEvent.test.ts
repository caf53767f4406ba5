import { readFileSync } from 'node:fs';
import Ajv2020 from 'ajv/dist/2020.js';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { parse as parseYaml } from 'yaml';
import { ACTION_SOURCES, CONTEXT_FIELDS, CURRENCIES, EVENT_NAMES, GENDERS, USER_FIELDS } from '../../shared/conversion';
import { validateEvent } from './validateEvent';

// Whop's own contract, compiled from the vendored OpenAPI document (not from our generated schema).
const spec = parseYaml(readFileSync(new URL('../../../spec/whop-conversions.openapi.yml', import.meta.url), 'utf8')) as object;
const ajv = new Ajv2020({ strict: false });
ajv.addFormat(
  'date-time',
  (s: string) => /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})$/i.test(s) && !Number.isNaN(Date.parse(s)),
);
ajv.addSchema({ ...spec, $id: 'whop' });
const whopAccepts = ajv.compile({ $ref: 'whop#/paths/~1conversions/post/requestBody/content/application~1json/schema' });

// Each field is mostly right and sometimes wrong, so both sides of the boundary get exercised.
// Values JSON can carry only: a body never holds Infinity or NaN (ajv, not strict here, takes
// Infinity as a number; validateEvent refuses it), so such a value would fail the second property
// on a case no client can send.
const anyValue = fc.oneof(
  fc.string({ maxLength: 12 }),
  fc.integer(),
  fc.double({ noNaN: true, noDefaultInfinity: true }),
  fc.boolean(),
  fc.constant(null),
  fc.constant({}),
  fc.constant([]),
);
const mostly = <T>(good: fc.Arbitrary<T>) => fc.oneof({ arbitrary: good, weight: 12 }, { arbitrary: anyValue, weight: 1 });
const text = fc.oneof(fc.string({ minLength: 1, maxLength: 40 }), fc.constant(null));
const badDates = fc.constantFrom('2026-02-30T10:00:00Z', '2026-01-01 10:00:00Z', 'now', '2026-01-01T10:00:00');
const dateTime = fc.oneof(
  {
    arbitrary: fc.date({ noInvalidDate: true, min: new Date('2000-01-01'), max: new Date('2099-12-31') }).map((d) => d.toISOString()),
    weight: 8,
  },
  { arbitrary: badDates, weight: 1 },
);
const record = (fields: readonly string[], value: fc.Arbitrary<unknown>) =>
  fc.dictionary(
    fc.oneof({ arbitrary: fc.constantFrom(...fields), weight: 12 }, { arbitrary: fc.string({ maxLength: 6 }), weight: 1 }),
    value,
    { maxKeys: 5 },
  );

const event = fc.record(
  {
    company_id: mostly(fc.string({ minLength: 1, maxLength: 20 })),
    event_name: mostly(fc.constantFrom(...EVENT_NAMES)),
    event_id: mostly(text),
    event_time: mostly(dateTime),
    action_source: mostly(fc.constantFrom(...ACTION_SOURCES)),
    currency: mostly(fc.constantFrom(...CURRENCIES)),
    custom_name: mostly(text),
    value: mostly(fc.double({ noNaN: true, noDefaultInfinity: true })),
    url: mostly(text),
    context: mostly(record(CONTEXT_FIELDS, mostly(text))),
    user: mostly(
      fc.oneof(
        record(
          USER_FIELDS.filter((f) => f !== 'gender'),
          mostly(text),
        ),
        fc.record({ gender: mostly(fc.constantFrom(...GENDERS)) }),
      ),
    ),
  },
  { requiredKeys: [] },
);

describe('validateEvent against the OpenAPI spec', () => {
  it('never accepts an event Whop would refuse', () => {
    fc.assert(
      fc.property(event, (e) => {
        if (validateEvent(e) === null) expect(whopAccepts(e), JSON.stringify(e)).toBe(true);
      }),
      { numRuns: 3000 },
    );
  });

  // The spec allows unknown properties; the relay refuses them so a typo shows (docs/PROTOCOL.md).
  it('accepts what Whop accepts, except its own stricter rules (unknown fields, custom_name, empty ids)', () => {
    fc.assert(
      fc.property(event, (e) => {
        if (!whopAccepts(e)) return;
        const error = validateEvent(e);
        if (error && error.code !== 'parameter_unknown')
          expect(['custom_name', 'event_id', 'company_id'], JSON.stringify([e, error])).toContain(error.param);
      }),
      { numRuns: 3000 },
    );
  });
});
