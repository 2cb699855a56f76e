// jepa-motion client SDK: ingest (iPad) and live (dashboard) over WebSocket + msgpack, in Node and browsers.
export { connectIngest, IngestClient, type FrameInput, type HelloInfo, type IngestOptions, type IngestState, type IngestStats } from './ingest-client.js';
export { connectLive, LiveClient, MAX_SUBSCRIPTIONS, type LiveOptions, type LiveState, type LiveTarget } from './live-client.js';
export { ClientError, ClientErrorCode } from './errors.js';
export { DEFAULT_BACKOFF, backoffDelay, type BackoffOptions } from './backoff.js';
export { DEFAULT_MAX_UNACKED, UnackedBuffer } from './unacked-buffer.js';
export { defaultTimers, endpointUrl, type Timers, type WebSocketConstructor, type WebSocketLike } from './socket.js';
