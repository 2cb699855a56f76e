// jepa-motion client SDK: ingest (iPad) and live (dashboard) over WebSocket + msgpack, in Node and browsers.
export { connectIngest, IngestClient, type FrameInput, type HelloInfo, type IngestOptions, type IngestState, type IngestStats } from './ingest-client.js';
export { connectLive, LiveClient, MAX_SUBSCRIPTIONS, type LiveOptions, type LiveState, type LiveTarget } from './live-client.js';
export { ClientError, ClientErrorCode } from './errors.js';
// What the server sends, typed by the protocol schemas: Feedback.predictions[] holds per horizon `h`, its
// `uncertainty` and the predicted world pose `pose` (Float32Array, 20 joints × xyz, metres); Feedback.joints
// is the frame's own pose. The definition of the predicted pose is on the protocol's Prediction schema.
export type { Feedback, Prediction, Update, Snapshot } from '../../src/protocol/index.js';
export { predictionAt } from './predictions.js';
export { DEFAULT_BACKOFF, backoffDelay, type BackoffOptions } from './backoff.js';
export { DEFAULT_MAX_UNACKED, UnackedBuffer } from './unacked-buffer.js';
export { defaultTimers, endpointUrl, type Timers, type WebSocketConstructor, type WebSocketLike } from './socket.js';
