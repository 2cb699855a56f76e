// The composed live/offline chain: align → physical-state → contacts → phases → features → metrics.
// Offline: from(recording.frames).pipe(sessionPipeline(opts)); live: the session's frame subject piped
// through the same operator. No wall clock anywhere: every stage reads the frames' own timestamps.
import type { Observable, OperatorFunction } from 'rxjs';
import { align } from './align.js';
import { contacts, type ContactOptions } from './contacts.js';
import { features, type FeatureOptions } from './features.js';
import { type MetricsFrame, metrics } from './metrics.js';
import { type PhaseOptions, phases } from './phases.js';
import { physicalState } from './physical-state.js';
import { StageError, StageErrorCode } from './stage-error.js';
import type { Assessment, PlaneAnchor, PoseFrame } from './types.js';

export interface SessionPipelineOptions {
  readonly assessment: Assessment;
  /** Nominal frame rate (informational; velocities use the frames' timestamps). */
  readonly fps?: number;
  readonly planes?: readonly PlaneAnchor[];
  readonly env?: Observable<readonly PlaneAnchor[]>;
  /** Root travel that fixes the forward axis (m). */
  readonly travelM?: number;
  readonly contacts?: ContactOptions;
  readonly phases?: Omit<PhaseOptions, 'assessment'>;
  readonly features?: FeatureOptions;
}

const ASSESSMENTS: readonly Assessment[] = ['gait', 'balance', 'sit_to_stand', 'squat'];

export function sessionPipeline(opts: SessionPipelineOptions): OperatorFunction<PoseFrame, MetricsFrame> {
  if (!ASSESSMENTS.includes(opts.assessment)) {
    throw new StageError(StageErrorCode.BAD_OPTIONS, 'session-pipeline', `unknown assessment ${String(opts.assessment)}`);
  }
  if (opts.fps !== undefined && !(opts.fps > 0)) {
    throw new StageError(StageErrorCode.BAD_OPTIONS, 'session-pipeline', `fps must be > 0, got ${opts.fps}`);
  }
  const alignOpts = {
    ...(opts.planes ? { planes: opts.planes } : {}),
    ...(opts.env ? { env: opts.env } : {}),
    ...(opts.travelM !== undefined ? { travelM: opts.travelM } : {}),
  };
  return (source) =>
    source.pipe(
      align(alignOpts),
      physicalState(),
      contacts(opts.contacts),
      phases({ ...opts.phases, assessment: opts.assessment }),
      features(opts.features),
      metrics({ assessment: opts.assessment }),
    );
}
