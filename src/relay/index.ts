// The relay's public API (`whopq/relay`): the runtime-neutral handler and what plugs into it.
// The Node server and CLI live in `./node` (they import node:*).
export { createRelay } from './createRelay';
export type { Relay, RelayOptions } from './createRelay';
export type { HooksOptions } from './lib/hooksRoute';
export { MemoryOutbox } from './lib/memoryOutbox';
export type { MemoryOutboxOptions } from './lib/memoryOutbox';
export { OutboxUnavailableError } from './lib/outbox';
export type { Outbox, OutboxInput, OutboxRecord, OutboxState, OutboxStats, Outcome, PullOutbox } from './lib/outbox';
// Postgres: `pg` is loaded by createPostgresOutbox only, so nothing else here needs it installed.
export { createPostgresOutbox, PostgresOutbox } from './postgres/postgresOutbox';
export type { PostgresOutboxOptions } from './postgres/postgresOutbox';
export { createPostgresHolds } from './postgres/postgresHolds';
export type { SharedHolds, SharedHoldState } from './lib/sharedHolds';
export type { AcceptServerEvents, ServerAcceptResult, ServerEventResult } from './lib/acceptServerEvents';
export { createVisitorMemory, visitorKeys } from './lib/visitorMemory';
export { sha256Hex } from './lib/sha256';
export type { VisitorKeys, VisitorMemory, VisitorMemoryOptions, VisitorRow, VisitorStore } from './lib/visitorMemory';
export type { VisitorRecord } from './lib/visitorRecord';
export { createMemoryVisitorStore } from './lib/memoryVisitorStore';
export { createPostgresVisitorStore } from './postgres/postgresVisitorStore';
export { createMetrics } from './lib/metrics';
export type { GaugeReader, Metrics } from './lib/metrics';
export { createLogger, silentLogger } from './lib/logger';
export type { Logger, LoggerOptions } from './lib/logger';
export type { RateLimitOptions } from './lib/rateLimiter';
export type { BundleSource } from './lib/serveBundle';
export { validateEvent } from './lib/validateEvent';
export { ipFromHeader } from './lib/clientIp';
export type { WhopErrorBody } from './lib/whopError';
export { createInspector } from './inspector/index';
export type { InspectorOptions } from './inspector/index';
// Forwarding to Whop, for runtimes that bring their own outbox (a database table drained by a cron,
// a queue consumer): one attempt classified into an outcome, the Whop client, and the pull loop.
export { forwardOne, UPSTREAMS } from './lib/forwardOne';
export type { ForwardItem, ForwardOneOptions, ForwardReport, PauseSignal, Upstream } from './lib/forwardOne';
export { toEvent } from './lib/toEvent';
export type { EventMapping } from './lib/toEvent';
export { createWhopClient } from './lib/whopClient';
export type { WhopAnswer, WhopClient, WhopClientOptions } from './lib/whopClient';
export { createForwarder } from './lib/forwarder';
export { drainOutbox } from './lib/drainOutbox';
export type { DrainOptions, DrainReport } from './lib/drainOutbox';
export { lazyOutbox } from './lib/lazyOutbox';
export type { Forwarder, ForwarderOptions } from './lib/forwarder';
export { backoffDelay, parseRetryAfter } from './lib/backoff';
export type { BackoffOptions } from './lib/backoff';
