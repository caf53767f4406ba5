// fast-check arbitraries for ingest bodies: mostly-valid events and every kind of bad input the
// issue names (malformed JSON, wrong types, enormous strings, deep nesting, __proto__/constructor
// keys, invalid UTF-8, 10,000-event batches, wrong content types). Field names and enums come from
// src/shared/conversion.ts (generated from the spec), never from hand-made lists.
import fc from 'fast-check';
import { ACTION_SOURCES, CONTEXT_FIELDS, CURRENCIES, EVENT_NAMES, USER_FIELDS } from '../../src/shared/conversion';
import { COMPANY } from './events';

/** One request the fuzzer sends. */
export interface FuzzBody {
  kind: string;
  contentType: string;
  bytes: Uint8Array<ArrayBuffer>;
}

const enc = new TextEncoder();
const text = (kind: string, body: string, contentType = 'text/plain;charset=UTF-8'): FuzzBody => ({
  kind,
  contentType,
  bytes: enc.encode(body),
});

let serial = 0;
/** A valid event (a fresh event_id each time it is drawn, so valid bodies are stored, not deduplicated). */
export const validEvent = fc
  .record(
    {
      event_name: fc.constantFrom(...EVENT_NAMES.filter((n) => n !== 'custom')),
      action_source: fc.constantFrom(...ACTION_SOURCES),
      url: fc.webUrl(),
      value: fc.double({ min: 0, max: 1e6, noNaN: true }),
      currency: fc.constantFrom(...CURRENCIES),
      context: fc.dictionary(fc.constantFrom(...CONTEXT_FIELDS), fc.string({ maxLength: 40 }), { maxKeys: 4 }),
      user: fc.dictionary(
        fc.constantFrom(...USER_FIELDS.filter((f) => f !== 'gender' && f !== 'birthdate')),
        fc.string({ maxLength: 40 }),
        { maxKeys: 3 },
      ),
    },
    { requiredKeys: ['event_name'] },
  )
  .map((e) => ({ company_id: COMPANY, event_id: `evt_fuzz_${process.pid}_${serial++}`, event_time: new Date().toISOString(), ...e }));

/** Deep nesting built as text (JSON.stringify of a deep object would itself recurse). */
const deep = fc.tuple(fc.integer({ min: 100, max: 30_000 }), fc.constantFrom('[', '{"a":'), fc.boolean()).map(([depth, open, inEvent]) => {
  const close = open === '[' ? ']' : '}';
  const nest = open.repeat(depth) + '1' + close.repeat(depth);
  return text('deep nesting', inEvent ? `{"company_id":"${COMPANY}","event_name":"lead","context":${nest}}` : nest);
});

/** A valid event with one field swapped for any JSON value (wrong types, nulls, objects, arrays). */
const wrongType = fc
  .tuple(
    validEvent,
    fc.constantFrom('company_id', 'event_name', 'event_id', 'event_time', 'value', 'context', 'user', 'url', 'currency', 'events'),
    fc.jsonValue({ maxDepth: 3 }),
  )
  .map(([e, key, v]) => text('wrong types', JSON.stringify(key === 'events' ? { events: v } : { ...e, [key]: v })));

const poison = fc
  .tuple(validEvent, fc.constantFrom('__proto__', 'constructor', 'prototype'), fc.constantFrom('top', 'context', 'user', 'batch'))
  .map(([e, key, where]) => {
    const inject = `"${key}":{"polluted":true,"toString":1}`;
    // Spliced as text: an object literal would not keep a __proto__ own key through JSON.stringify.
    const event = JSON.stringify({ ...e, context: { utm_source: 'meta', ...e.context }, user: { anonymous_id: 'a', ...e.user } });
    const body =
      where === 'top'
        ? `{${inject},${event.slice(1)}`
        : where === 'batch'
          ? `{${inject},"events":[${event}]}`
          : event.replace(`"${where}":{`, `"${where}":{${inject},`);
    return text('__proto__/constructor keys', body);
  });

const enormous = fc
  .tuple(
    validEvent,
    fc.constantFrom('url', 'event_id', 'custom_name', 'context.fbclid', 'user.email'),
    fc.integer({ min: 1_025, max: 200_000 }),
  )
  .map(([e, field, n]) => {
    const big = 'x'.repeat(n);
    const copy = JSON.parse(JSON.stringify(e)) as Record<string, Record<string, unknown> | unknown>;
    const [a, b] = field.split('.');
    if (b) copy[a!] = { ...(copy[a!] as object), [b]: big };
    else copy[a!] = big;
    return text('enormous strings', JSON.stringify(copy));
  });

const invalidUtf8 = fc
  .tuple(
    validEvent,
    fc.uint8Array({ minLength: 1, maxLength: 8 }).map((b) => b.map((x) => 0x80 | (x & 0x7f))),
    fc.double({ min: 0, max: 1, noNaN: true }),
  )
  .map(([e, bad, where]) => {
    const bytes = enc.encode(JSON.stringify({ events: [e] }));
    const at = Math.floor(where * bytes.length);
    const out = new Uint8Array(bytes.length + bad.length);
    out.set(bytes.subarray(0, at), 0);
    out.set(bad, at);
    out.set(bytes.subarray(at), at + bad.length);
    return { kind: 'invalid UTF-8', contentType: 'text/plain;charset=UTF-8', bytes: out } as FuzzBody;
  });

const hugeBatch = fc.constantFrom('tiny', 'events').map((shape) =>
  text(
    '10,000-event batch',
    shape === 'tiny'
      ? `{"events":[${Array(10_000).fill('{}').join(',')}]}`
      : JSON.stringify({
          events: Array.from({ length: 10_000 }, (_, i) => ({ company_id: COMPANY, event_name: 'lead', event_id: `evt_huge_${i}` })),
        }),
  ),
);

const malformed = fc.oneof(
  fc.string({ maxLength: 200 }).map((s) => text('malformed JSON', s)),
  fc.tuple(validEvent, fc.double({ min: 0.05, max: 0.95, noNaN: true })).map(([e, f]) => {
    const s = JSON.stringify({ events: [e] });
    return text('malformed JSON', s.slice(0, Math.floor(s.length * f)));
  }),
  fc
    .constantFrom('', 'null', '[]', '"events"', '{"events":[]}', '{"events":null}', '[{"company_id":"biz_chaos"}]', '1e999', 'true')
    .map((s) => text('malformed JSON', s)),
);

const wrongContentType = fc
  .tuple(
    validEvent,
    fc.constantFrom(
      '',
      'application/x-www-form-urlencoded',
      'multipart/form-data; boundary=x',
      'text/html',
      'application/xml',
      'image/png',
      'application/json-patch+json',
      'text/plain2',
    ),
  )
  .map(([e, ct]) => ({
    ...text('wrong content types', JSON.stringify({ events: [e] })),
    contentType: ct,
  }));

const validBatch = fc
  .array(validEvent, { minLength: 1, maxLength: 5 })
  .map((events) =>
    text('valid batch', JSON.stringify(events.length === 1 && events[0]!.value === undefined ? events[0] : { events }), 'application/json'),
  );

/** Every kind, weighted so each appears hundreds of times in 10,000 draws. */
export const fuzzBody: fc.Arbitrary<FuzzBody> = fc.oneof(
  { arbitrary: malformed, weight: 3 },
  { arbitrary: wrongType, weight: 3 },
  { arbitrary: enormous, weight: 2 },
  { arbitrary: deep, weight: 1 },
  { arbitrary: poison, weight: 2 },
  { arbitrary: invalidUtf8, weight: 2 },
  { arbitrary: hugeBatch, weight: 1 },
  { arbitrary: wrongContentType, weight: 1 },
  { arbitrary: validBatch, weight: 2 },
);
