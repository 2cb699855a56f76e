// /v1/ingest: the iPad's socket. Limits are explicit (STYLE §10): maxPayloadLength (a bigger message
// makes uWS close the connection itself — the message handler never sees it), maxBackpressure with
// closeOnBackpressureLimit (an iPad that stops reading feedback is disconnected rather than buffered
// for), idleTimeout, and no compression (frames are float32 bins: they do not compress, and deflate
// costs CPU per message at 60 Hz × sessions).
import type { TemplatedApp, WebSocket } from 'uWebSockets.js';
import type { SessionManager } from '../sessions/session-manager.js';
import { wireError, type SendResult } from '../sessions/types.js';
import { CloseCode, ErrorCode } from '../protocol/index.js';
import { InvalidMessageWindow } from './invalid-messages.js';
import { TokenBucket } from './rate-limit.js';
import type { Codec, TransportAuth } from './types.js';
import { authUpgrade } from './upgrade.js';
import { WsPeer, type SocketData } from './ws-peer.js';
import type { UwsModule } from './uws.js';

export interface WsLimits {
  readonly maxPayloadBytes: number;
  readonly maxBackpressureBytes: number;
  readonly idleTimeoutS: number;
  readonly maxMsgsPerS: number;
  /** Seconds of continuous over-rate flooding before the connection is closed. */
  readonly floodCloseS: number;
  /** More than this many invalid messages within invalidMsgsWindowS close with 4002 (invalid-messages.ts). */
  readonly maxInvalidMsgs: number;
  readonly invalidMsgsWindowS: number;
}

export interface IngestRouteDeps {
  readonly uws: UwsModule;
  readonly auth: TransportAuth;
  readonly codec: Codec;
  readonly sessions: SessionManager;
  readonly nowMs: () => number;
  readonly onError: (code: string) => void;
  readonly onSend: (r: SendResult) => void;
  readonly accepting: () => boolean;
}

export function bucketFor(limits: WsLimits, nowMs: () => number): TokenBucket {
  return new TokenBucket(
    {
      ratePerS: limits.maxMsgsPerS,
      // A second's worth of burst absorbs Wi-Fi jitter (frames arriving in clumps) without a false alarm.
      burst: limits.maxMsgsPerS,
      // ≈ floodCloseS seconds of traffic at the limit beyond the limit: a flood, not a hiccup.
      closeAfterRejected: Math.max(1, Math.ceil(limits.floodCloseS * limits.maxMsgsPerS)),
    },
    nowMs,
  );
}

/**
 * Policy for messages that are not protocol v1 (invalid-messages.ts), shared by both routes: a text
 * frame closes with 4002 at once; a message the codec rejected gets its coded error, and one too many
 * within the window closes with 4002. Returns true when the connection was closed.
 */
export function refuseInvalid(
  peer: WsPeer,
  invalid: InvalidMessageWindow,
  limits: WsLimits,
  problem: { readonly code: ErrorCode; readonly message: string; readonly seq?: number } | 'text',
  deps: Pick<IngestRouteDeps, 'onError' | 'onSend'>,
): boolean {
  if (problem === 'text') {
    deps.onError(ErrorCode.INVALID_MESSAGE);
    deps.onSend(peer.send(wireError(ErrorCode.INVALID_MESSAGE, 'text frame: protocol v1 messages are binary msgpack')));
    peer.close(CloseCode.INVALID_PAYLOAD, 'text frame');
    return true;
  }
  deps.onError(problem.code);
  deps.onSend(peer.send(wireError(problem.code, problem.message, problem.seq)));
  if (!invalid.record()) return false;
  peer.close(CloseCode.INVALID_PAYLOAD, `more than ${limits.maxInvalidMsgs} invalid messages in ${limits.invalidMsgsWindowS} s`);
  return true;
}

/** What both WebSocket routes need to set a connection up. */
export type SocketDeps = Pick<IngestRouteDeps, 'uws' | 'auth' | 'codec' | 'nowMs' | 'onError' | 'accepting'>;

/**
 * The uWS settings both WebSocket routes share, every one explicit (uWS examples Backpressure.js,
 * SlowReceiver.js): payload and send-buffer bounds, close past the buffer limit, idle timeout with
 * pings, no compression, authentication in the upgrade; and the open handler, which refuses
 * connections during shutdown and gives every other one its peer and rate bucket.
 */
export function socketOptions(limits: WsLimits, deps: SocketDeps, onOpen: (peer: WsPeer) => void) {
  return {
    maxPayloadLength: limits.maxPayloadBytes,
    maxBackpressure: limits.maxBackpressureBytes,
    closeOnBackpressureLimit: 1,
    idleTimeout: limits.idleTimeoutS,
    compression: deps.uws.DISABLED,
    sendPingsAutomatically: true,
    upgrade: authUpgrade(deps.auth, deps.onError),
    open: (ws: WebSocket<SocketData>) => {
      const data = ws.getUserData();
      if (!deps.accepting()) {
        ws.end(CloseCode.SHUTDOWN, 'server shutting down');
        return;
      }
      data.peer = new WsPeer(ws, data.principal, (m) => deps.codec.encode(m));
      data.bucket = bucketFor(limits, deps.nowMs);
      data.invalid = new InvalidMessageWindow({ max: limits.maxInvalidMsgs, windowMs: limits.invalidMsgsWindowS * 1000 }, deps.nowMs);
      onOpen(data.peer);
    },
  };
}

export function ingestRoute(app: TemplatedApp, limits: WsLimits, deps: IngestRouteDeps): void {
  app.ws<SocketData>('/v1/ingest', {
    ...socketOptions(limits, deps, (peer) => deps.sessions.connected(peer)),
    message: (ws: WebSocket<SocketData>, message: ArrayBuffer, isBinary: boolean) => {
      const { peer, bucket, invalid } = ws.getUserData();
      if (!peer || !bucket || !invalid || peer.closed) return;
      if (!isBinary) return void refuseInvalid(peer, invalid, limits, 'text', deps);
      const verdict = bucket.take();
      if (verdict !== 'ok') {
        if (verdict === 'close') {
          deps.onError(ErrorCode.RATE_LIMITED);
          peer.close(CloseCode.RATE_LIMIT, 'message rate limit exceeded');
        } else if (verdict === 'limited') {
          deps.onError(ErrorCode.RATE_LIMITED);
          deps.onSend(peer.send(wireError(ErrorCode.RATE_LIMITED, `more than ${limits.maxMsgsPerS} messages/s: messages are being dropped`)));
        }
        return;
      }
      // uWS reuses `message`'s memory after this handler returns: copy before anything async.
      const raw = new Uint8Array(message.byteLength);
      raw.set(new Uint8Array(message));
      const decoded = deps.codec.decodeIngest(raw);
      if (!decoded.ok) return void refuseInvalid(peer, invalid, limits, decoded.error, deps);
      peer.cork(() => deps.sessions.message(peer, raw, decoded.message));
    },
    close: (ws: WebSocket<SocketData>) => {
      const { peer } = ws.getUserData();
      if (!peer) return;
      peer.closed = true;
      deps.sessions.disconnected(peer);
    },
  });
}
