import { plainError, plainJson, toResponse } from './plainExchange';

/** Whop's error body: `{"error":{"type","message","code","param"}}` (spec: CreateConversion 400). */
export interface WhopErrorBody {
  type: string;
  message: string;
  code: string | null;
  param: string | null;
}

/** Builds Whop's error object; `type` defaults to `invalid_request_error`. */
export function whopError(
  message: string,
  code: string | null = null,
  param: string | null = null,
  type = 'invalid_request_error',
): WhopErrorBody {
  return { type, message, code, param };
}

/** The error of a request refused because the event store is down (the caller retries). */
export const storeUnavailable = (): WhopErrorBody =>
  whopError('The event store is unavailable; retry later.', 'store_unavailable', null, 'service_unavailable');

/** A JSON response that is never cached and never sniffed. */
export function jsonResponse(status: number, body: unknown, headers: Record<string, string> = {}): Response {
  return toResponse(plainJson(status, body, headers));
}

/** An error response in Whop's shape, optionally with more top-level fields (e.g. `rejected`). */
export function errorResponse(
  status: number,
  error: WhopErrorBody,
  extra: Record<string, unknown> = {},
  headers: Record<string, string> = {},
): Response {
  return toResponse(plainError(status, error, extra, headers));
}
