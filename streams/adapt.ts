// Stage 0, live: ARKit frames from the iPad → canonical PoseFrames (ARKit world, metres, y up).
import { defer, filter, map, type OperatorFunction } from 'rxjs';
import { AdapterError, AdapterErrorCode } from './errors.js';
import { ARKIT_JOINT_COUNT, arkitToCanonical, transformsToPositions } from './adapters/arkit.js';
import type { PoseFrame } from './types.js';

/** One body-tracking frame as the iPad sends it. */
export interface ArkitFrame {
  readonly seq: number;
  /** Seconds on the device clock. */
  readonly t: number;
  /** Column-major 4×4 body-anchor transform (ARKit world). */
  readonly anchor: Float32Array;
  /** 91 × 3 model-space joint positions … */
  readonly joints?: Float32Array;
  /** … or 91 column-major 4×4 model-space joint transforms. */
  readonly jointTransforms?: Float32Array;
  /** 91 flags, 0 = not tracked (that joint becomes NaN). */
  readonly tracked?: Uint8Array;
}

export interface AdaptOptions {
  /**
   * Called for a frame that cannot be adapted (wrong array sizes, non-finite anchor, time not
   * after the previous frame). The frame is dropped; the stream goes on.
   */
  readonly onInvalid?: (error: AdapterError, frame: ArkitFrame) => void;
}

const SOURCE = 'arkit-frame';

function invalid(frame: ArkitFrame, message: string): AdapterError {
  return new AdapterError(AdapterErrorCode.MALFORMED, SOURCE, `frame ${frame.seq}: ${message}`);
}

/** Model-space positions of a frame, with untracked joints set to NaN; or an error. */
function modelJoints(frame: ArkitFrame): Float32Array | AdapterError {
  if (frame.anchor.length !== 16 || !frame.anchor.every(Number.isFinite)) return invalid(frame, 'anchor must be 16 finite numbers');
  let joints: Float32Array;
  if (frame.joints) {
    if (frame.joints.length !== ARKIT_JOINT_COUNT * 3) return invalid(frame, `joints has ${frame.joints.length} values, expected ${ARKIT_JOINT_COUNT * 3}`);
    joints = frame.joints;
  } else if (frame.jointTransforms) {
    if (frame.jointTransforms.length !== ARKIT_JOINT_COUNT * 16)
      return invalid(frame, `jointTransforms has ${frame.jointTransforms.length} values, expected ${ARKIT_JOINT_COUNT * 16}`);
    joints = transformsToPositions(frame.jointTransforms);
  } else {
    return invalid(frame, 'has neither joints nor jointTransforms');
  }
  if (frame.tracked) {
    if (frame.tracked.length !== ARKIT_JOINT_COUNT) return invalid(frame, `tracked has ${frame.tracked.length} flags, expected ${ARKIT_JOINT_COUNT}`);
    // Copy only when something must be masked: the caller's array is never modified.
    if (frame.tracked.includes(0)) {
      joints = Float32Array.from(joints);
      for (let j = 0; j < ARKIT_JOINT_COUNT; j++) if (frame.tracked[j] === 0) joints.fill(NaN, j * 3, j * 3 + 3);
    }
  }
  return joints;
}

/**
 * One adapter's per-frame step: ARKit frame → canonical PoseFrame, or undefined for a dropped frame
 * (reported through opts.onInvalid). Stateful (time origin, last time): one per stream. The `adapt`
 * operator wraps it; the live session calls it directly (no RxJS per frame).
 */
export type AdaptStep = (frame: ArkitFrame) => PoseFrame | undefined;

export function adaptStep(opts: AdaptOptions = {}): AdaptStep {
  let t0 = NaN;
  let lastT = -Infinity;
  return (frame) => {
    const joints = modelJoints(frame);
    const error =
      joints instanceof AdapterError
        ? joints
        : !Number.isFinite(frame.t)
          ? invalid(frame, 't is not finite')
          : frame.t <= lastT
            ? invalid(frame, `t ${frame.t} is not after the previous frame's ${lastT}`)
            : undefined;
    if (error || joints instanceof AdapterError) {
      opts.onInvalid?.(error ?? (joints as AdapterError), frame);
      return undefined;
    }
    if (Number.isNaN(t0)) t0 = frame.t;
    lastT = frame.t;
    return { t: frame.t - t0, joints: arkitToCanonical(frame.anchor, joints) };
  };
}

/**
 * ARKit frames → canonical PoseFrames: world = anchor × model position, t relative to the first
 * accepted frame, untracked joints NaN (the estimated heels follow their ankle and toe).
 * A pure per-frame map apart from the first-frame time origin.
 */
export function adapt(opts: AdaptOptions = {}): OperatorFunction<ArkitFrame, PoseFrame> {
  // defer: the step is stateful, so every subscription gets its own.
  return (source) =>
    defer(() => {
      const step = adaptStep(opts);
      return source.pipe(
        map(step),
        filter((f): f is PoseFrame => f !== undefined),
      );
    });
}
