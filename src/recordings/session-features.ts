// A session recording → the FeatureSequence the world model trains on: replaySession (the live stages,
// env as it arrived) collected by models' FeatureSequenceBuilder. `jepa-motion train`/`eval` and the
// retrain job both call this, so a session means the same training data wherever it is read.
import { FeatureSequenceBuilder } from '../../models/feature-sequences.js';
import type { FeatureSequence } from '../../models/types.js';
import type { FeatureOptions } from '../../streams/features.js';
import type { Assessment } from '../../streams/types.js';
import { replaySession, type ReplayResult } from './replay-session.js';

/** 10 minutes at 60 Hz: frames beyond this are not used (bounds memory at ~T·(F+60)·4 B ≈ 53 MB). */
export const DEFAULT_MAX_FRAMES = 36_000;

export interface SessionFeaturesOptions {
  /** SHA-256 the session published; other bytes are RECORDING_MISMATCH. */
  readonly expectedSha256?: string;
  readonly features?: FeatureOptions;
  /** Use at most the first this many pipeline frames. Default DEFAULT_MAX_FRAMES. */
  readonly maxFrames?: number;
  /** Subject written into the sequence's source (default: the hello's patient). */
  readonly subject?: string;
  /** File name written into the sequence's source (default: the path read; a job names the published recording, not its temp copy). */
  readonly sourceFile?: string;
  readonly allowUnfinished?: boolean;
  /** Analyse as this assessment instead of the recording's own. */
  readonly assessment?: Assessment;
}

export interface SessionFeatures extends ReplayResult {
  readonly sequence: FeatureSequence;
  /** Pipeline frames beyond `maxFrames`, not used. */
  readonly truncatedFrames: number;
}

export async function sessionFeatures(path: string, opts: SessionFeaturesOptions = {}): Promise<SessionFeatures> {
  const builder = new FeatureSequenceBuilder(opts.features, opts.maxFrames ?? DEFAULT_MAX_FRAMES);
  const replay = await replaySession(path, {
    onState: (fr) => builder.push(fr),
    ...(opts.expectedSha256 !== undefined ? { expectedSha256: opts.expectedSha256 } : {}),
    ...(opts.features ? { features: opts.features } : {}),
    ...(opts.allowUnfinished !== undefined ? { allowUnfinished: opts.allowUnfinished } : {}),
    ...(opts.assessment !== undefined ? { assessment: opts.assessment } : {}),
  });
  const sequence = builder.build({ file: opts.sourceFile ?? path, sha256: replay.sha256, subject: opts.subject ?? replay.hello.patientId });
  return { ...replay, sequence, truncatedFrames: builder.truncated };
}
