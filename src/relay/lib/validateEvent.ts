import { CONVERSION_SCHEMA, type Conversion, type FieldSpec } from '../../shared/conversion';
import { whopError, type WhopErrorBody } from './whopError';

/** Longest string a field may hold; URLs get more room. Whop's spec states no limit, a relay needs one. */
export const MAX_STRING = 1024;
const _LONG: Record<string, number> = { url: 8192, referrer_url: 8192, 'context.user_agent': 2048 };

// Property names that would touch Object.prototype if a later step ever merged objects naively.
const _POISON = new Set(['__proto__', 'constructor', 'prototype']);

// RFC 3339 date-time (https://datatracker.ietf.org/doc/html/rfc3339#section-5.6), what JSON Schema's
// `format: date-time` means, then checked as a real calendar instant.
const _DATE_TIME = /^\d{4}-\d{2}-\d{2}[Tt]\d{2}:\d{2}:\d{2}(\.\d{1,9})?([Zz]|[+-]\d{2}:\d{2})$/;

const _isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

function _checkFields(value: Record<string, unknown>, fields: Record<string, FieldSpec>, prefix: string): WhopErrorBody | null {
  for (const key of Object.keys(value)) {
    const param = prefix + key;
    if (_POISON.has(key)) return whopError(`Forbidden parameter name: ${param}.`, 'parameter_invalid', param);
    if (!Object.prototype.hasOwnProperty.call(fields, key)) return whopError(`Unknown parameter: ${param}.`, 'parameter_unknown', param);
  }
  for (const key of Object.keys(fields)) {
    const spec = fields[key]!;
    const param = prefix + key;
    const v = value[key];
    if (v === undefined) {
      if (spec.r) return whopError(`Missing required parameter: ${param}.`, 'parameter_missing', param);
      continue;
    }
    if (v === null) {
      if (spec.n) continue;
      return whopError(`Invalid ${param}: must not be null.`, 'parameter_invalid', param);
    }
    const error = _checkValue(v, spec, param);
    if (error) return error;
  }
  return null;
}

function _checkValue(v: unknown, spec: FieldSpec, param: string): WhopErrorBody | null {
  switch (spec.t) {
    case 'object':
      if (!_isObject(v)) return whopError(`Invalid ${param}: must be an object.`, 'parameter_invalid', param);
      return _checkFields(v, spec.f ?? {}, param + '.');
    case 'boolean':
      if (typeof v !== 'boolean') return whopError(`Invalid ${param}: must be true or false.`, 'parameter_invalid', param);
      return null;
    case 'number':
      if (typeof v !== 'number' || !Number.isFinite(v)) return whopError(`Invalid ${param}: must be a number.`, 'parameter_invalid', param);
      return null;
    case 'enum':
      if (typeof v !== 'string' || !spec.e!.includes(v)) {
        return whopError(
          `Invalid ${param}: must be one of ${spec.e!.slice(0, 12).join(', ')}${spec.e!.length > 12 ? ', …' : ''}.`,
          'parameter_invalid',
          param,
        );
      }
      return null;
    case 'string': {
      if (typeof v !== 'string') return whopError(`Invalid ${param}: must be a string.`, 'parameter_invalid', param);
      const max = _LONG[param] ?? MAX_STRING;
      if (v.length > max) return whopError(`Invalid ${param}: longer than ${max} characters.`, 'parameter_invalid', param);
      if (spec.fmt === 'date-time' && (!_DATE_TIME.test(v) || Number.isNaN(Date.parse(v)))) {
        return whopError(`Invalid ${param}: must be an RFC 3339 date-time.`, 'parameter_invalid', param);
      }
      return null;
    }
  }
}

/**
 * Checks one event against CreateConversion (`CONVERSION_SCHEMA`, generated from the vendored spec):
 * types, enums, required fields, date-time format, string caps, no unknown or prototype-touching
 * keys. Returns null when it is valid, else the first error in Whop's shape with the field as `param`.
 */
export function validateEvent(event: unknown): WhopErrorBody | null {
  if (!_isObject(event)) return whopError('Each event must be a JSON object.', 'parameter_invalid', null);
  const error = _checkFields(event, CONVERSION_SCHEMA, '');
  if (error) return error;
  const e = event as unknown as Conversion;
  // An omitted event_id is generated at ingest (as Whop does); an empty one is a bug in the caller.
  if (e.event_id === '') return whopError('Invalid event_id: must not be empty.', 'parameter_invalid', 'event_id');
  if (e.company_id.length === 0) return whopError('Missing required parameter: company_id.', 'parameter_missing', 'company_id');
  if (e.event_name === 'custom' && !e.custom_name)
    return whopError('custom_name is required when event_name is custom.', 'parameter_missing', 'custom_name');
  return null;
}
