// How a token travels in the WebSocket upgrade. Browsers cannot set an Authorization header on a
// WebSocket, but they can offer subprotocols; so the client offers two: the protocol name, which the
// server echoes back, and `bearer.<JWT>` (JWT characters are all valid subprotocol token characters),
// which the server reads and never echoes. `?token=<JWT>` is the fallback for clients that cannot
// set subprotocols; it ends up in access logs, so prefer the subprotocol.

/** The subprotocol the server selects (echoes in `Sec-WebSocket-Protocol`). */
export const SUBPROTOCOL = 'jepa-motion.v1';
/** Prefix of the subprotocol entry that carries the token. */
export const BEARER_PREFIX = 'bearer.';

/** Subprotocols a client offers: `new WebSocket(url, bearerProtocols(token))`. */
export function bearerProtocols(token: string): string[] {
  return [SUBPROTOCOL, `${BEARER_PREFIX}${token}`];
}
