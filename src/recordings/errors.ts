// Why a session recording could not be replayed, published or found. Callers translate the code into
// their own vocabulary (RetrainError for jobs, AdapterError for the pipeline CLI) without reading text.

export const RecordingErrorCode = {
  /** Neither the artifact store nor the local disk has the recording. */
  NOT_FOUND: 'RECORDING_NOT_FOUND',
  /** Not a recording log (bad header), a directory, or no `hello` to replay it with. */
  UNREADABLE: 'RECORDING_UNREADABLE',
  /** A recording log that is not finalised intact (torn tail, bad checksum, no trailer). */
  DAMAGED: 'RECORDING_DAMAGED',
  /** The bytes' SHA-256 differs from the one the session published. */
  MISMATCH: 'RECORDING_MISMATCH',
  /** Reading failed for a reason that may pass (retry). */
  IO: 'RECORDING_IO',
  /** The finalised recording could not be stored in the artifact store (after retries). */
  PUBLISH_FAILED: 'RECORDING_PUBLISH_FAILED',
} as const;
export type RecordingErrorCode = (typeof RecordingErrorCode)[keyof typeof RecordingErrorCode];

export class RecordingError extends Error {
  override readonly name = 'RecordingError';
  constructor(
    readonly code: RecordingErrorCode,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}
