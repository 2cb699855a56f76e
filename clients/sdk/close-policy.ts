// What a client does when the server closes: reconnect (transient) or stop with a coded error.
import { CloseCode } from '../../src/protocol/index.js';
import { ClientError, ClientErrorCode } from './errors.js';

/** null = transient (reconnect with backoff and resume); otherwise the error to fail with. */
export function fatalClose(code: number, reason: string): ClientError | null {
  const detail = `server closed the connection (${code}${reason ? ` ${reason}` : ''})`;
  switch (code) {
    case CloseCode.UNAUTHORIZED:
    case CloseCode.TOKEN_EXPIRED:
      return new ClientError(ClientErrorCode.UNAUTHORIZED, detail, { closeCode: code });
    case CloseCode.RESUME_FAILED:
      return new ClientError(ClientErrorCode.RESUME_FAILED, detail, { closeCode: code });
    case CloseCode.INVALID_PAYLOAD:
    case CloseCode.UNSUPPORTED_PROTOCOL:
    case CloseCode.SESSION_TAKEN_OVER:
    case CloseCode.MESSAGE_TOO_LARGE:
    case 1009: // uWS: message over maxPayloadLength; resending it would fail the same way
      return new ClientError(ClientErrorCode.CLOSED_BY_SERVER, detail, { closeCode: code });
    default:
      // 1000/1001/1006, SHUTDOWN (another node takes over), RATE_LIMIT, IDLE/HELLO_TIMEOUT, SLOW_CONSUMER,
      // INTERNAL_ERROR: the session survives server-side for the resume window, so reconnecting is right.
      return null;
  }
}
