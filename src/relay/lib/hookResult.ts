import type { RelayEvent } from './relayEvent';
import type { WhopErrorBody } from './whopError';

/**
 * What a vendor's webhook body comes to: one event to accept, a delivery to acknowledge and drop
 * (`ignored`: another event type the subscription sent), or a body no event can be made from.
 */
export type HookResult = { event: RelayEvent } | { ignored: string } | { error: WhopErrorBody };

/** The anonymous id as a tracking field or hidden field may carry it: the pixel's 32 hex digits, or any id of that alphabet. */
export const ANONYMOUS_ID = /^[A-Za-z0-9_-]{1,128}$/;

export const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);
/** A non-empty trimmed string, or undefined. */
export const text = (v: unknown): string | undefined => (typeof v === 'string' && v.trim() ? v.trim() : undefined);
