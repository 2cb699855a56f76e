// Reads the token from a WebSocket upgrade request (convention in src/protocol/subprotocol.ts).
import { BEARER_PREFIX, SUBPROTOCOL } from '../protocol/subprotocol.js';

export interface UpgradeHeaders {
  /** Raw `Sec-WebSocket-Protocol` request header, e.g. `jepa-motion.v1, bearer.<JWT>`. */
  readonly protocol?: string;
  /** Raw query string, with or without the leading `?`, e.g. `token=<JWT>`. */
  readonly query?: string;
}

export interface UpgradeToken {
  /** The token, if one was offered (the subprotocol wins over `?token=`). */
  readonly token: string | undefined;
  readonly source: 'protocol' | 'query' | undefined;
  /**
   * Subprotocol to echo in the response (`jepa-motion.v1` when offered). Browsers fail the connection
   * if they offered subprotocols and the server selects none; the bearer entry is never echoed.
   */
  readonly subprotocol: string | undefined;
}

export function tokenFromUpgrade(headers: UpgradeHeaders): UpgradeToken {
  const offered = (headers.protocol ?? '')
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s !== '');
  const subprotocol = offered.includes(SUBPROTOCOL) ? SUBPROTOCOL : undefined;
  const bearer = offered.find((s) => s.startsWith(BEARER_PREFIX) && s.length > BEARER_PREFIX.length);
  if (bearer !== undefined) return { token: bearer.slice(BEARER_PREFIX.length), source: 'protocol', subprotocol };
  const query = headers.query ?? '';
  const fromQuery = new URLSearchParams(query.startsWith('?') ? query.slice(1) : query).get('token');
  if (fromQuery !== null && fromQuery !== '') return { token: fromQuery, source: 'query', subprotocol };
  return { token: undefined, source: undefined, subprotocol };
}
