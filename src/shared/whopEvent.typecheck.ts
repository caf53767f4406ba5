// Type-level test, checked by `npm run typecheck` (tsc), never run: the vendored /events contract
// (spec/whop-events.openapi.yml → whopEvent.ts) must equal the installed SDK's EventCreateParams, so an
// SDK upgrade that adds, drops or retypes a field fails the build until the spec is vendored again.
import type { EventCreateParams } from '@whop/sdk/resources/events';
import type { WhopEvent } from './whopEvent';

/** True only when A and B are the same type (each field, its optionality and its value type). */
type Equals<A, B> = (<T>() => T extends A ? 1 : 2) extends <T>() => T extends B ? 1 : 2 ? true : false;
type Body = Omit<EventCreateParams, 'Idempotency-Key'>;
type Field<T, K extends keyof T> = NonNullable<T[K]>;

const checks = {
  top: true as Equals<keyof WhopEvent, keyof Body>,
  body: true as Equals<WhopEvent, Body>,
  context: true as Equals<Field<WhopEvent, 'context'>, EventCreateParams.Context>,
  user: true as Equals<Field<WhopEvent, 'user'>, EventCreateParams.User>,
  idempotencyKey: true as Equals<EventCreateParams['Idempotency-Key'], string | undefined>,
} satisfies Record<string, true>;

export type { checks as _EventContractChecks };
