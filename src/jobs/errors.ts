/** Codes of {@link JobError}. */
export const JobErrorCode = {
  /** The in-process queue is full; the caller sheds or retries later. */
  BUS_FULL: 'JOB_BUS_FULL',
  /** NATS is unreachable and the local outbox is full too. */
  OUTBOX_FULL: 'JOB_OUTBOX_FULL',
  /** The outbox could not be written (disk error): the event is NOT accepted. */
  OUTBOX_IO: 'JOB_OUTBOX_IO',
  /** Subject not one of {@link JobSubject}, or an id that is empty/too long/has bad characters. */
  BAD_REQUEST: 'JOB_BAD_REQUEST',
  /** A payload does not match its subject's contract (src/jobs/contracts.ts): refused on publish,
   *  terminated (never retried) on consume. */
  BAD_EVENT: 'JOB_BAD_EVENT',
  /** The event cannot be encoded (msgpack). */
  ENCODE: 'JOB_ENCODE',
  /** A delivered payload cannot be decoded: terminated, never retried. */
  DECODE: 'JOB_DECODE',
  /** The handler did not settle within `ackWaitMs`. */
  TIMEOUT: 'JOB_TIMEOUT',
  /** Publish/consume on a closed bus. */
  CLOSED: 'JOB_CLOSED',
  /** A handler failure; `permanent` decides retry (nak) vs. terminate. */
  HANDLER: 'JOB_HANDLER',
  /** NATS/JetStream refused a management call (stream/consumer setup). */
  NATS: 'JOB_NATS',
} as const;
export type JobErrorCode = (typeof JobErrorCode)[keyof typeof JobErrorCode];

/**
 * Throw from a handler with `permanent: true` when retrying cannot help (bad input, missing
 * recording): the job is terminated at once instead of burning `maxDeliver` attempts.
 */
export class JobError extends Error {
  override readonly name = 'JobError';
  readonly permanent: boolean;
  constructor(
    readonly code: JobErrorCode,
    message: string,
    options?: { cause?: unknown; permanent?: boolean },
  ) {
    super(message, options);
    this.permanent = options?.permanent ?? false;
  }
}
