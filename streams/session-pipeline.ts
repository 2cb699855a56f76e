// The composed live/offline chain: align → physical-state → contacts → phases → features → metrics.
// Offline: from(recording.frames).pipe(sessionPipeline(opts)); live: the session's frame subject piped
// through the same operator. No wall clock anywhere: every stage reads the frames' own timestamps.
import type { Observable, OperatorFunction } from 'rxjs';
import { align, alignStep } from './align.js';
import { contacts, contactsStep, type ContactOptions } from './contacts.js';
import { features, featuresStep, type FeatureOptions } from './features.js';
import { type MetricsFrame, metrics, metricsStep } from './metrics.js';
import { type PhaseOptions, phases, phasesStep } from './phases.js';
import { physicalState, physicalStateStep } from './physical-state.js';
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

function checkOptions(opts: SessionPipelineOptions): void {
  if (!ASSESSMENTS.includes(opts.assessment)) {
    throw new StageError(StageErrorCode.BAD_OPTIONS, 'session-pipeline', `unknown assessment ${String(opts.assessment)}`);
  }
  if (opts.fps !== undefined && !(opts.fps > 0)) {
    throw new StageError(StageErrorCode.BAD_OPTIONS, 'session-pipeline', `fps must be > 0, got ${opts.fps}`);
  }
}

/**
 * The same chain as one synchronous step per frame: (pose frame, the latest plane anchors) → metrics
 * frame, or null when alignment dropped the frame. Every stage's step is the function its operator
 * maps, so the outputs are those of `sessionPipeline` (test/streams/session-step.test.ts); the live
 * session calls this once per frame, so RxJS adds nothing per frame. `opts.env` is not read: the caller
 * passes the latest planes (initially `opts.planes`).
 */
export type SessionStep = (frame: PoseFrame, planes: readonly PlaneAnchor[]) => MetricsFrame | null;

export function sessionStep(opts: SessionPipelineOptions): SessionStep {
  checkOptions(opts);
  const alignNext = alignStep({ ...(opts.travelM !== undefined ? { travelM: opts.travelM } : {}) });
  const physicalNext = physicalStateStep();
  const contactsNext = contactsStep(opts.contacts);
  const phasesNext = phasesStep({ ...opts.phases, assessment: opts.assessment });
  const featuresNext = featuresStep(opts.features);
  const metricsNext = metricsStep({ assessment: opts.assessment });
  return (frame, planes) => {
    const aligned = alignNext(frame, planes);
    return aligned && metricsNext(featuresNext(phasesNext(contactsNext(physicalNext(aligned)))));
  };
}

export function sessionPipeline(opts: SessionPipelineOptions): OperatorFunction<PoseFrame, MetricsFrame> {
  checkOptions(opts);
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
