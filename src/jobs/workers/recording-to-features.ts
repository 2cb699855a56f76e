// The retrain job's view of a session recording: src/recordings' sessionFeatures (the one replay of
// a recording through the live stages, the same call `jepa-motion train` makes), with its failures
// in the job's vocabulary (RetrainError codes decide terminate vs retry).
import type { FeatureOptions } from '../../../streams/features.js';
import type { FeatureSequence } from '../../../models/types.js';
import type { Hello } from '../../protocol/index.js';
import { RecordingError, RecordingErrorCode } from '../../recordings/errors.js';
import { sessionFeatures } from '../../recordings/session-features.js';
import { RetrainError, RetrainErrorCode } from './retrain-errors.js';

export { DEFAULT_MAX_FRAMES } from '../../recordings/session-features.js';

export interface RecordingToFeaturesOptions {
  /** SHA-256 of the whole file as published with the job; a different file is RECORDING_MISMATCH. */
  readonly expectedSha256?: string;
  readonly features?: FeatureOptions;
  /** Use at most the first this many pipeline frames. Default DEFAULT_MAX_FRAMES. */
  readonly maxFrames?: number;
  /** Subject id written into the sequence's source (the patient). */
  readonly subject?: string;
  /** File name written into the sequence's source when `path` is a local copy. */
  readonly sourceFile?: string;
}

export interface RecordingFeatures {
  readonly sequence: FeatureSequence;
  readonly hello: Hello;
  readonly wireFrames: number;
  readonly droppedFrames: number;
  readonly rejectedRecords: number;
  readonly truncatedFrames: number;
  readonly sha256: string;
}

const TO_RETRAIN: Readonly<Record<RecordingErrorCode, RetrainErrorCode>> = {
  [RecordingErrorCode.NOT_FOUND]: RetrainErrorCode.RECORDING_NOT_FOUND,
  [RecordingErrorCode.UNREADABLE]: RetrainErrorCode.RECORDING_UNREADABLE,
  [RecordingErrorCode.DAMAGED]: RetrainErrorCode.RECORDING_DAMAGED,
  [RecordingErrorCode.MISMATCH]: RetrainErrorCode.RECORDING_MISMATCH,
  [RecordingErrorCode.IO]: RetrainErrorCode.IO,
  [RecordingErrorCode.PUBLISH_FAILED]: RetrainErrorCode.IO,
};

/** Reads a finalised recording; every failure is a RetrainError (RECORDING_* permanent, IO retried). */
export async function recordingToFeatures(path: string, opts: RecordingToFeaturesOptions = {}): Promise<RecordingFeatures> {
  try {
    return await sessionFeatures(path, opts);
  } catch (err) {
    throw toRetrainError(err);
  }
}

export function toRetrainError(err: unknown): unknown {
  return err instanceof RecordingError ? new RetrainError(TO_RETRAIN[err.code], err.message, { cause: err }) : err;
}
