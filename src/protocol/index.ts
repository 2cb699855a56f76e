// Wire protocol v1: the one module servers and clients (browser too) import. No node-only APIs here.
export * from './codes.js';
export * from './fields.js';
export * from './ingest-messages.js';
export {
  Subscribe,
  Unsubscribe,
  SessionStarted,
  Update,
  Snapshot,
  SessionEnded,
  TaskpackReady,
  MAX_SNAPSHOT_UPDATES,
  type LiveClientMessage,
  type LiveServerMessage,
} from './live-messages.js';
export * from './codec.js';
export * from './frame-validator.js';
export * from './protocol-error.js';
export * from './subprotocol.js';
export * from './replay-messages.js';
