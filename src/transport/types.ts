// What the transport needs from the rest of the server, as small interfaces; src/server.ts supplies the
// real protocol codec and auth module.
import type { UpgradeToken } from '../auth/index.js';
import type { DecodeResult, IngestClientMessage, LiveClientMessage } from '../protocol/index.js';
import type { OutMessage, Principal, SendResult } from '../sessions/types.js';

/** src/protocol's codec (decodeClientMessage / encodeServerMessage). */
export interface Codec {
  decodeIngest(bytes: Uint8Array): DecodeResult<IngestClientMessage>;
  decodeLive(bytes: Uint8Array): DecodeResult<LiveClientMessage>;
  encode(msg: OutMessage): Uint8Array;
}

export type AuthResult = { readonly ok: true; readonly principal: Principal } | { readonly ok: false; readonly code: string; readonly message: string };

export interface TransportAuth {
  /** Token and subprotocol to echo from `Sec-WebSocket-Protocol` or `?token=` (src/auth tokenFromUpgrade). */
  tokenFromUpgrade(h: { protocol?: string; query?: string }): UpgradeToken;
  /** Verifies a token (from the upgrade or an HTTP `Authorization: Bearer` header). */
  verify(token: string | undefined): AuthResult | Promise<AuthResult>;
  canSubscribe(p: Principal, target: { readonly clinic: string; readonly sessionId?: string }): boolean;
}

/** uWS send() result codes → names (1 sent, 0 buffered under backpressure, 2 dropped over maxBackpressure). */
export function sendResult(code: number): SendResult {
  return code === 1 ? 'sent' : code === 0 ? 'buffered' : 'dropped';
}
