// The Node side of the relay: the node:http adapter, the SQLite outbox and the CLI's start function.
export { serve } from './serve';
export type { FetchHandler, ServeOptions } from './serve';
export { SqliteOutbox } from './sqliteOutbox';
export type { SqliteOutboxOptions } from './sqliteOutbox';
export { createSqliteVisitorStore } from './sqliteVisitorStore';
export { startRelay, runRelay, closeOnSignals } from './cli';
export type { RunningRelay, StartRelayExtras } from './cli';
export { relayConfigFromEnv, configProblems } from './relayConfig';
export type { RelayConfig } from './relayConfig';
