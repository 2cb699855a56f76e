// For callers that prefer throwing over result objects (the SDK, tests, tools).
import type { ErrorCode } from './codes.js';
import type { WireError } from './codec.js';
import type { ErrorMessage } from './ingest-messages.js';

/** A protocol violation (or a server `error` reply), classified by `code`. */
export class ProtocolError extends Error {
  override readonly name = 'ProtocolError';
  /** `seq` of the frame at fault, when there is one. */
  readonly seq: number | undefined;

  constructor(
    readonly code: ErrorCode,
    message: string,
    options?: { seq?: number; cause?: unknown },
  ) {
    super(message, options?.cause === undefined ? undefined : { cause: options.cause });
    this.seq = options?.seq;
  }

  /** From a decode/validation failure or a received `error` message. */
  static from(error: WireError | ErrorMessage, cause?: unknown): ProtocolError {
    const opts: { seq?: number; cause?: unknown } = {};
    if (error.seq !== undefined) opts.seq = error.seq;
    if (cause !== undefined) opts.cause = cause;
    return new ProtocolError(error.code, error.message, opts);
  }

  /** The `error` message to send for this error. */
  toMessage(): ErrorMessage {
    return this.seq === undefined
      ? { type: 'error', code: this.code, message: this.message }
      : { type: 'error', code: this.code, message: this.message, seq: this.seq };
  }
}

/** Returns the decoded message or throws the ProtocolError describing why it was rejected. */
export function unwrap<T>(result: { readonly ok: true; readonly message: T } | { readonly ok: false; readonly error: WireError }): T {
  if (result.ok) return result.message;
  throw ProtocolError.from(result.error);
}
