// Errors the SDK raises. One class with a `code` (as const), a cause, and the server's close code or
// wire error when there was one; callers classify by `instanceof ClientError` and `code`, never by text.
import type { ErrorMessage } from '../../src/protocol/index.js';

export const ClientErrorCode = {
  /** No WebSocket constructor: pass `WebSocket` (Node 20: the `ws` package) in the options. */
  NO_WEBSOCKET: 'NO_WEBSOCKET',
  /** The first connection (or a reconnect, after all attempts) could not be opened. */
  CONNECT_FAILED: 'CONNECT_FAILED',
  /** The server refused the token (HTTP 401 at upgrade, or close 4001/4011). */
  UNAUTHORIZED: 'UNAUTHORIZED',
  /** A wait (ready, ended) took longer than its timeout. */
  TIMEOUT: 'TIMEOUT',
  /** The unacked-frame buffer is full: the frame was refused (policy: refuse new, keep old). */
  BUFFER_FULL: 'BUFFER_FULL',
  /** `hello.resume` was refused: the session is gone (ended, unknown, past the resume window). */
  RESUME_FAILED: 'RESUME_FAILED',
  /** The server closed with a code that means "do not reconnect" (protocol, taken over, ...). */
  CLOSED_BY_SERVER: 'CLOSED_BY_SERVER',
  /** The server sent bytes that are not a valid protocol message. */
  BAD_SERVER_MESSAGE: 'BAD_SERVER_MESSAGE',
  /** The server answered a message with a wire `error` that ends a wait (e.g. hello refused). */
  SERVER_ERROR: 'SERVER_ERROR',
  /** The client was used after `close()`/`end()`. */
  CLOSED: 'CLOSED',
  /** A frame was invalid before it was sent (seq not increasing). */
  BAD_FRAME: 'BAD_FRAME',
} as const;
export type ClientErrorCode = (typeof ClientErrorCode)[keyof typeof ClientErrorCode];

export class ClientError extends Error {
  override readonly name = 'ClientError';
  readonly code: ClientErrorCode;
  /** WebSocket close code, when the error came from a close. */
  readonly closeCode: number | undefined;
  /** The server's wire error, when the error came from one. */
  readonly wire: ErrorMessage | undefined;

  constructor(code: ClientErrorCode, message: string, opts: { cause?: unknown; closeCode?: number; wire?: ErrorMessage } = {}) {
    super(message, opts.cause === undefined ? undefined : { cause: opts.cause });
    this.code = code;
    this.closeCode = opts.closeCode;
    this.wire = opts.wire;
  }
}
