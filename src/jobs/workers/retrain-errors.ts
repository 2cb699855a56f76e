// Why a retrain job failed, as a code a dashboard/operator can act on. The bus only distinguishes
// "retry" from "terminate" (JobError.permanent); the specific reason travels as the JobError's cause.
import { ModelError, ModelErrorCode } from '../../../models/errors.js';
import { StorageError } from '../../storage/errors.js';
import { JobError, JobErrorCode } from '../errors.js';

export const RetrainErrorCode = {
  /** The event is not an `assessment.completed` payload this worker understands. */
  BAD_EVENT: 'RETRAIN_BAD_EVENT',
  /** The recording is neither at its path nor in the artifact store. */
  RECORDING_NOT_FOUND: 'RETRAIN_RECORDING_NOT_FOUND',
  /** Not a recording log at all (bad magic/header), or a wire message that cannot be used. */
  RECORDING_UNREADABLE: 'RETRAIN_RECORDING_UNREADABLE',
  /** A recording log that is not finalised intact (torn tail, bad checksum, no trailer). */
  RECORDING_DAMAGED: 'RETRAIN_RECORDING_DAMAGED',
  /** The file's SHA-256 differs from the one the session published: not the recording of this job. */
  RECORDING_MISMATCH: 'RETRAIN_RECORDING_MISMATCH',
  /** Fewer usable frames than `minFrames`: nothing to fine-tune or evaluate on. */
  RECORDING_TOO_SHORT: 'RETRAIN_RECORDING_TOO_SHORT',
  /** The recording's features do not fit the base model (feature names/normalisation). */
  FEATURE_MISMATCH: 'RETRAIN_FEATURE_MISMATCH',
  /** startRetrainWorker options out of range (a deployment error, raised at start). */
  BAD_OPTIONS: 'RETRAIN_BAD_OPTIONS',
  /** Reading/writing artifacts, checkpoints or the registry failed: retried. */
  IO: 'RETRAIN_IO',
} as const;
export type RetrainErrorCode = (typeof RetrainErrorCode)[keyof typeof RetrainErrorCode];

/** Codes after which a retry cannot succeed: the job is terminated at once. */
const PERMANENT: ReadonlySet<RetrainErrorCode> = new Set([
  RetrainErrorCode.BAD_EVENT,
  RetrainErrorCode.BAD_OPTIONS,
  RetrainErrorCode.RECORDING_NOT_FOUND,
  RetrainErrorCode.RECORDING_UNREADABLE,
  RetrainErrorCode.RECORDING_DAMAGED,
  RetrainErrorCode.RECORDING_MISMATCH,
  RetrainErrorCode.RECORDING_TOO_SHORT,
  RetrainErrorCode.FEATURE_MISMATCH,
]);

const DETERMINISTIC_MODEL_ERRORS: ReadonlySet<string> = new Set([
  ModelErrorCode.FEATURE_MISMATCH,
  ModelErrorCode.SHAPE_MISMATCH,
  ModelErrorCode.INVALID_ARGS,
  ModelErrorCode.TRAINING_DIVERGED,
  ModelErrorCode.EMPTY_EPOCH,
]);

export class RetrainError extends Error {
  override readonly name = 'RetrainError';
  constructor(
    readonly code: RetrainErrorCode,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }

  get permanent(): boolean {
    return PERMANENT.has(this.code);
  }
}

/**
 * The error a handler throws to the bus: a JobError (HANDLER) whose `permanent` follows the
 * RetrainError code. Anything unclassified (a tfjs failure, an unexpected bug) is retried: the bus
 * bounds that with maxDeliver.
 */
export function toJobError(err: unknown): unknown {
  if (err instanceof JobError) return err;
  if (err instanceof RetrainError) return new JobError(JobErrorCode.HANDLER, `${err.code}: ${err.message}`, { cause: err, permanent: err.permanent });
  if (err instanceof StorageError) {
    const r = new RetrainError(RetrainErrorCode.IO, err.message, { cause: err });
    return new JobError(JobErrorCode.HANDLER, `${r.code}: ${err.code}: ${err.message}`, { cause: r, permanent: false });
  }
  if (err instanceof ModelError) {
    // Training is deterministic: bad shapes, bad arguments or a diverging loss fail the same way again.
    return new JobError(JobErrorCode.HANDLER, `${err.code}: ${err.message}`, { cause: err, permanent: DETERMINISTIC_MODEL_ERRORS.has(err.code) });
  }
  return err;
}
