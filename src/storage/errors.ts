/** Codes for everything that can go wrong persisting or reading data. */
export const StorageErrorCode = {
  /** The append queue is full: the caller should shed load (drop or close the session). */
  LOG_BACKPRESSURE: 'STORAGE_LOG_BACKPRESSURE',
  /** A write or fsync failed; the log refuses further appends (data after it is not trustworthy). */
  LOG_IO: 'STORAGE_LOG_IO',
  /** Append/finalize on a log that is finalized, closed or failed. */
  LOG_CLOSED: 'STORAGE_LOG_CLOSED',
  /** Create on a path that already exists. */
  LOG_EXISTS: 'STORAGE_LOG_EXISTS',
  /** The file does not start with the recording-log magic/version. */
  LOG_BAD_HEADER: 'STORAGE_LOG_BAD_HEADER',
  /** A single record larger than the format allows. */
  LOG_RECORD_TOO_LARGE: 'STORAGE_LOG_RECORD_TOO_LARGE',
  /** The value cannot be encoded as msgpack. */
  LOG_ENCODE: 'STORAGE_LOG_ENCODE',
  /** Resume/repair on a recording that is already finalised. */
  LOG_FINALIZED: 'STORAGE_LOG_FINALIZED',
  ARTIFACT_BAD_KEY: 'STORAGE_ARTIFACT_BAD_KEY',
  ARTIFACT_NOT_FOUND: 'STORAGE_ARTIFACT_NOT_FOUND',
  ARTIFACT_TOO_LARGE: 'STORAGE_ARTIFACT_TOO_LARGE',
  ARTIFACT_IO: 'STORAGE_ARTIFACT_IO',
  REGISTRY_BAD_KEY: 'STORAGE_REGISTRY_BAD_KEY',
  REGISTRY_MALFORMED: 'STORAGE_REGISTRY_MALFORMED',
  /** A registration whose version is not newer than the stored one (a slower worker lost the race). */
  REGISTRY_STALE: 'STORAGE_REGISTRY_STALE',
  REGISTRY_IO: 'STORAGE_REGISTRY_IO',
} as const;
export type StorageErrorCode = (typeof StorageErrorCode)[keyof typeof StorageErrorCode];

export class StorageError extends Error {
  override readonly name = 'StorageError';
  constructor(
    readonly code: StorageErrorCode,
    message: string,
    options?: { cause?: unknown; path?: string },
  ) {
    super(options?.path === undefined ? message : `${options.path}: ${message}`, options);
    this.path = options?.path;
  }
  readonly path: string | undefined;
}
