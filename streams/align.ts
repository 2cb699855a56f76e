// Stage 1: alignment. Puts every frame in the world frame all later stages use:
//   floor at y = 0, up = +y, gravity [0, −9.81, 0], forward = +z, the subject's left = +x (right-handed:
//   left = up × forward). The horizontal origin is the root's floor projection in the first frame.
// Floor: the best-scoring ARKit plane (options.planes or the latest `env` update), else the feet.
// Forward: the pelvis facing of the first frame with both hips; replaced once (and then fixed) by the
// root's travel direction when the root has moved `travelM` on the floor plane. Heading changes after
// that (turns) are motion in a fixed frame, not errors.
import { type Observable, type OperatorFunction, defer, filter, map, of, startWith, withLatestFrom } from 'rxjs';
import { JOINT_COUNT, JOINT_INDEX } from './skeleton.js';
import type { PlaneAnchor, PoseFrame } from './types.js';
import { type Vec3, horizontalUnit, joint, pelvisFacing } from './vec3.js';
import { HeightHistogram } from './height-histogram.js';
import { type QualityCheck, QualityTracker } from './quality.js';
import { scorePlanes } from './floor-planes.js';
import { StageError, StageErrorCode } from './stage-error.js';

export type { QualityCheck } from './quality.js';

export interface AlignOptions {
  /** Plane anchors known before the first frame. */
  readonly planes?: readonly PlaneAnchor[];
  /** Plane updates (`env` messages); the latest one wins over `planes`. */
  readonly env?: Observable<readonly PlaneAnchor[]>;
  /** Root travel on the floor plane that fixes the forward axis (m). Default 0.5. */
  readonly travelM?: number;
  /** First window over which the feet-based floor is provisional (s). Default 1. */
  readonly floorWindowS?: number;
  /** Quantile of the lowest foot point taken as the floor. Default 0.05. */
  readonly floorQuantile?: number;
}

export const ALIGN_DEFAULTS = { travelM: 0.5, floorWindowS: 1, floorQuantile: 0.05 } as const;

export interface FloorEstimate {
  readonly source: 'plane' | 'feet' | 'assumed';
  /** Floor height in the source frame (m). */
  readonly y: number;
  /** True while the feet estimate is still inside its first window. */
  readonly provisional: boolean;
}

/** Source → world: w = Ry · (p − [originX, floorY, originZ]), Ry taking `forward` to +z. */
export interface WorldTransform {
  readonly floorY: number;
  readonly originX: number;
  readonly originZ: number;
  readonly cos: number;
  readonly sin: number;
}

export interface AlignedFrame extends PoseFrame {
  /** Frame index since the subscription started (dropped frames not counted). */
  readonly index: number;
  /** The frame's joints as they came in (source frame). `joints` is in the world frame. */
  readonly sourceJoints: Float32Array;
  readonly transform: WorldTransform;
  readonly floor: FloorEstimate;
  /** The forward axis in the source frame (horizontal unit vector); +z in the world frame. */
  readonly forward: Vec3;
  readonly forwardSource: 'default' | 'pelvis' | 'travel';
  /** Index of the frame at which the travel direction fixed `forward`, else null. */
  readonly forwardFixedAt: number | null;
  readonly quality: readonly QualityCheck[];
  /** Frames dropped so far because their timestamp did not increase. */
  readonly dropped: number;
}

export function toWorld(tr: WorldTransform, src: Float32Array, out = new Float32Array(src.length)): Float32Array {
  for (let i = 0; i < src.length; i += 3) {
    const x = (src[i] ?? NaN) - tr.originX;
    const z = (src[i + 2] ?? NaN) - tr.originZ;
    out[i] = tr.cos * x + tr.sin * z;
    out[i + 1] = (src[i + 1] ?? NaN) - tr.floorY;
    out[i + 2] = -tr.sin * x + tr.cos * z;
  }
  return out;
}

const FOOT_POINTS = (['left_heel', 'right_heel', 'left_toe', 'right_toe', 'left_ankle', 'right_ankle'] as const).map((n) => 3 * JOINT_INDEX[n]);

/** Lowest available foot point (heel, toe, ankle of either side) in the source frame, or NaN. */
export function lowestFootY(joints: Float32Array): number {
  let y = Infinity;
  for (const i of FOOT_POINTS) {
    // joint()'s presence test, without a tuple per joint (this runs every frame)
    if (Number.isFinite(joints[i]) && Number.isFinite(joints[i + 1]) && Number.isFinite(joints[i + 2]) && joints[i + 1]! < y) y = joints[i + 1]!;
  }
  return Number.isFinite(y) ? y : NaN;
}

interface State {
  index: number;
  lastT: number;
  dropped: number;
  origin: [number, number] | null;
  forward: Vec3;
  forwardSource: AlignedFrame['forwardSource'];
  forwardFixedAt: number | null;
  readonly feet: HeightHistogram;
  readonly quality: QualityTracker;
  out: AlignedFrame | null;
}

/**
 * One alignment step per frame: (pose frame, the latest plane anchors) → aligned frame, or null for a
 * frame dropped for its timestamp. Stateful (origin, forward axis, floor histogram): one per stream.
 * The `align` operator wraps it; the live session calls it directly with its latest `env` planes.
 */
export type AlignStep = (frame: PoseFrame, planes: readonly PlaneAnchor[]) => AlignedFrame | null;

export function alignStep(opts: Omit<AlignOptions, 'env'> = {}): AlignStep {
  const { travelM, windowS, q } = alignParams(opts);
  const s: State = {
    index: 0,
    lastT: -Infinity,
    dropped: 0,
    origin: null,
    forward: [0, 0, 1],
    forwardSource: 'default',
    forwardFixedAt: null,
    feet: new HeightHistogram(),
    quality: new QualityTracker(),
    out: null,
  };
  return (frame, planes) => step(s, frame, planes, travelM, windowS, q).out;
}

function alignParams(opts: Omit<AlignOptions, 'env'>): { travelM: number; windowS: number; q: number } {
  const travelM = opts.travelM ?? ALIGN_DEFAULTS.travelM;
  const windowS = opts.floorWindowS ?? ALIGN_DEFAULTS.floorWindowS;
  const q = opts.floorQuantile ?? ALIGN_DEFAULTS.floorQuantile;
  if (!(travelM > 0) || !(windowS >= 0) || !(q >= 0 && q < 0.5)) {
    throw new StageError(StageErrorCode.BAD_OPTIONS, 'align', `travelM > 0, floorWindowS ≥ 0, 0 ≤ floorQuantile < 0.5 required`);
  }
  return { travelM, windowS, q };
}

export function align(opts: AlignOptions = {}): OperatorFunction<PoseFrame, AlignedFrame> {
  alignParams(opts); // bad options fail when the operator is built, not on subscription
  const env$ = (opts.env ?? of<readonly PlaneAnchor[]>()).pipe(startWith(opts.planes ?? []));
  // defer: the step's state is mutable, so every subscription gets its own.
  return (source) =>
    defer(() => {
      const next = alignStep(opts);
      return source.pipe(
        withLatestFrom(env$),
        map(([frame, planes]) => next(frame, planes)),
        filter((f): f is AlignedFrame => f !== null),
      );
    });
}

function step(s: State, frame: PoseFrame, planes: readonly PlaneAnchor[], travelM: number, windowS: number, q: number): State {
  if (!(frame.joints instanceof Float32Array) || frame.joints.length !== JOINT_COUNT * 3 || !Number.isFinite(frame.t)) {
    throw new StageError(StageErrorCode.BAD_FRAME, 'align', `frame ${s.index}: need finite t and ${JOINT_COUNT * 3} joint values`);
  }
  if (frame.t <= s.lastT) {
    // Policy: a repeated or out-of-order timestamp cannot give a velocity; drop the frame and count it.
    s.dropped += 1;
    s.out = null;
    return s;
  }
  s.lastT = frame.t;
  const src = frame.joints;
  const footY = lowestFootY(src);
  s.feet.add(footY);

  const root = joint(src, 'root');
  if (root && !s.origin) s.origin = [root[0], root[2]];
  const facing = pelvisFacing(src);
  if (s.forwardSource === 'default' && facing) {
    s.forward = facing;
    s.forwardSource = 'pelvis';
  }
  if (s.forwardSource !== 'travel' && root && s.origin) {
    const travel: Vec3 = [root[0] - s.origin[0], 0, root[2] - s.origin[1]];
    const dir = Math.hypot(travel[0], travel[2]) >= travelM ? horizontalUnit(travel) : null;
    if (dir) {
      s.forward = dir;
      s.forwardSource = 'travel';
      s.forwardFixedAt = s.index;
    }
  }

  const plane = scorePlanes(planes, Number.isFinite(footY) ? footY : s.feet.quantile(q));
  const floor: FloorEstimate = plane
    ? { source: 'plane', y: plane.y, provisional: false }
    : s.feet.count > 0
      ? { source: 'feet', y: s.feet.quantile(q), provisional: frame.t < windowS }
      : { source: 'assumed', y: 0, provisional: true };
  const transform: WorldTransform = {
    floorY: floor.y,
    originX: s.origin?.[0] ?? 0,
    originZ: s.origin?.[1] ?? 0,
    cos: s.forward[2],
    sin: -s.forward[0],
  };
  const world = toWorld(transform, src);
  s.quality.add(world);
  s.out = {
    t: frame.t,
    joints: world,
    index: s.index,
    sourceJoints: src,
    transform,
    floor,
    forward: s.forward,
    forwardSource: s.forwardSource,
    forwardFixedAt: s.forwardFixedAt,
    quality: s.quality.checks(s.feet, floor.y),
    dropped: s.dropped,
  };
  s.index += 1;
  return s;
}
