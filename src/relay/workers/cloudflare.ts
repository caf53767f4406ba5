// The few Cloudflare Workers runtime shapes this adapter touches, declared structurally so the relay
// typechecks with the Node-only tsconfig (no @cloudflare/workers-types dependency). Names and
// members follow https://developers.cloudflare.com/queues/configuration/javascript-apis/ and
// https://developers.cloudflare.com/durable-objects/api/.

/** A Queue producer binding. */
export interface CfQueue<Body> {
  send(body: Body, options?: { contentType?: 'json' | 'text' | 'bytes' | 'v8'; delaySeconds?: number }): Promise<void>;
  sendBatch(messages: Iterable<{ body: Body; contentType?: 'json' | 'text' | 'bytes' | 'v8'; delaySeconds?: number }>): Promise<void>;
}

/** One message handed to a queue consumer. `attempts` counts deliveries, from 1. */
export interface CfMessage<Body> {
  readonly id: string;
  readonly timestamp: Date;
  readonly body: Body;
  readonly attempts: number;
  ack(): void;
  retry(options?: { delaySeconds?: number }): void;
}

export interface CfMessageBatch<Body> {
  readonly queue: string;
  readonly messages: readonly CfMessage<Body>[];
}

/** A Durable Object namespace binding. */
export interface CfDurableObjectNamespace {
  idFromName(name: string): unknown;
  get(id: unknown): { fetch(input: string, init?: RequestInit): Promise<Response> };
}

/** The storage API of a Durable Object (the key-value part). */
export interface CfDurableObjectStorage {
  get<T>(key: string): Promise<T | undefined>;
  get<T>(keys: string[]): Promise<Map<string, T>>;
  put<T>(entries: Record<string, T>): Promise<void>;
  delete(keys: string[]): Promise<number>;
  list<T>(options?: { prefix?: string; start?: string; end?: string; limit?: number }): Promise<Map<string, T>>;
  getAlarm(): Promise<number | null>;
  setAlarm(at: number): Promise<void>;
}

export interface CfDurableObjectState {
  readonly storage: CfDurableObjectStorage;
}

/** `ctx` of fetch/queue handlers: keeps the isolate alive for background work after the response. */
export interface CfExecutionContext {
  waitUntil(promise: Promise<unknown>): void;
}
