// Type-level test, checked by `npm run typecheck` (tsc), never run: what `toEvent` sends must fit the
// installed SDK's EventCreateParams field by field, so an SDK upgrade that retypes a field the relay
// maps (a click id, `resumed`, `currency`…) fails the build. src/shared/whopEvent.typecheck.ts checks
// the vendored contract equals the SDK's.
import type { EventCreateParams } from '@whop/sdk/resources/events';
import type { RelayContext, RelayEvent, RelayUser } from './relayEvent';
import type { toEvent } from './toEvent';

type Sent = Omit<RelayEvent, 'company_id' | 'context' | 'user'>;
type Body = Omit<EventCreateParams, 'Idempotency-Key'>;
/** Each field both sides have: the relay's value type must be one the SDK accepts. */
type Fits<Ours, Theirs> = {
  [K in keyof Ours & keyof Theirs]-?: Exclude<Ours[K], undefined> extends Exclude<Theirs[K], undefined> ? true : K;
};
type AllTrue<T> = T[keyof T] extends true ? true : false;

const checks = {
  top: true as AllTrue<Fits<Sent, Body>>,
  context: true as AllTrue<Fits<RelayContext, EventCreateParams.Context>>,
  user: true as AllTrue<Fits<RelayUser, EventCreateParams.User>>,
  company: true as RelayEvent['company_id'] extends EventCreateParams['account_id'] ? true : false,
  // Every field of the relay's event context and user is one /events has (nothing silently left out).
  contextKeys: true as Exclude<keyof RelayContext, keyof EventCreateParams.Context> extends never ? true : false,
  userKeys: true as Exclude<keyof RelayUser, keyof EventCreateParams.User> extends never ? true : false,
  topKeys: true as Exclude<keyof Sent, keyof Body> extends never ? true : false,
  params: true as ReturnType<typeof toEvent>['params'] extends EventCreateParams ? true : false,
} satisfies Record<string, true>;

export type { checks as _ToEventChecks };
