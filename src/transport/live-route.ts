// /v1/live: therapist dashboards. Subscriptions are authorised per target (same clinic; therapist or
// admin; devices never). Delivery policy lives in sessions/live-hub.ts (throttle, snapshot, skip slow
// subscribers). maxBackpressure + closeOnBackpressureLimit is the last line: uWS closes a subscriber
// whose buffer passes it (only a large burst can get there, since the hub stops sending at the slow
// threshold, which is below maxBackpressure).
import type { TemplatedApp, WebSocket } from 'uWebSockets.js';
import type { LiveHub, SubscribeTarget } from '../sessions/live-hub.js';
import { wireError, type SendResult } from '../sessions/types.js';
import { CloseCode, ErrorCode } from '../protocol/index.js';
import { refuseInvalid, socketOptions, type WsLimits } from './ingest-route.js';
import type { Codec, TransportAuth } from './types.js';
import { WsPeer, type SocketData } from './ws-peer.js';
import type { UwsModule } from './uws.js';

export interface LiveRouteDeps {
  readonly uws: UwsModule;
  readonly auth: TransportAuth;
  readonly codec: Codec;
  readonly hub: LiveHub;
  readonly nowMs: () => number;
  readonly onError: (code: string) => void;
  readonly onSend: (r: SendResult) => void;
  readonly onPeer: (peer: WsPeer, open: boolean) => void;
  readonly accepting: () => boolean;
}

export function liveRoute(app: TemplatedApp, limits: WsLimits, deps: LiveRouteDeps): void {
  const fail = (peer: WsPeer, code: ErrorCode, message: string) => {
    deps.onError(code);
    deps.onSend(peer.send(wireError(code, message)));
  };
  app.ws<SocketData>('/v1/live', {
    ...socketOptions(limits, deps, (peer) => deps.onPeer(peer, true)),
    message: (ws: WebSocket<SocketData>, message: ArrayBuffer, isBinary: boolean) => {
      const { peer, bucket, invalid } = ws.getUserData();
      if (!peer || !bucket || !invalid || peer.closed) return;
      if (!isBinary) return void refuseInvalid(peer, invalid, limits, 'text', deps);
      const verdict = bucket.take();
      if (verdict === 'close') return peer.close(CloseCode.RATE_LIMIT, 'message rate limit exceeded');
      if (verdict === 'limited') return fail(peer, ErrorCode.RATE_LIMITED, `more than ${limits.maxMsgsPerS} messages/s`);
      if (verdict !== 'ok') return;
      const decoded = deps.codec.decodeLive(new Uint8Array(message.slice(0)));
      if (!decoded.ok) return void refuseInvalid(peer, invalid, limits, decoded.error, deps);
      const msg = decoded.message;
      let target: SubscribeTarget;
      let clinic: string;
      if ('sessionId' in msg) {
        const info = deps.hub.get(msg.sessionId);
        if (!info) {
          if (msg.type === 'unsubscribe') return deps.hub.unsubscribe(peer, { sessionId: msg.sessionId });
          return fail(peer, ErrorCode.SESSION_NOT_FOUND, `no live session ${msg.sessionId}`);
        }
        target = { sessionId: msg.sessionId };
        clinic = info.clinic;
      } else {
        target = { clinic: msg.clinic };
        clinic = msg.clinic;
      }
      if (msg.type === 'unsubscribe') return deps.hub.unsubscribe(peer, target);
      const allowed = deps.auth.canSubscribe(peer.principal, 'sessionId' in target ? { sessionId: target.sessionId, clinic } : { clinic });
      if (!allowed)
        return fail(
          peer,
          ErrorCode.FORBIDDEN,
          `${peer.principal.role} of clinic ${peer.principal.clinic} may not subscribe to ${'sessionId' in target ? `session ${target.sessionId}` : `clinic ${clinic}`}`,
        );
      peer.cork(() => {
        const r = deps.hub.subscribe(peer, target);
        if (r === 'not_found') fail(peer, ErrorCode.SESSION_NOT_FOUND, `no live session ${'sessionId' in target ? target.sessionId : ''}`);
        if (r === 'limit') fail(peer, ErrorCode.SUBSCRIPTION_LIMIT, 'this connection holds the maximum number of subscriptions; unsubscribe first');
      });
    },
    drain: (ws: WebSocket<SocketData>) => {
      const { peer } = ws.getUserData();
      if (peer && !peer.closed) deps.hub.drain(peer);
    },
    close: (ws: WebSocket<SocketData>) => {
      const { peer } = ws.getUserData();
      if (!peer) return;
      peer.closed = true;
      deps.hub.remove(peer);
      deps.onPeer(peer, false);
    },
  });
}
