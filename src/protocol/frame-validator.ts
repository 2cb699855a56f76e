// Stateful per-session checks the schema cannot make: ordering against the previous accepted frame,
// NaN/Inf anywhere, and physically absurd values. A rejected frame leaves the state untouched, so
// one bad frame costs one `error` reply and the session goes on.
import { ErrorCode } from './codes.js';
import type { WireError } from './codec.js';
import { ARKIT_JOINT_COUNT } from './fields.js';
import type { Frame } from './ingest-messages.js';

/** A model-space joint farther than this from the body anchor origin (the hips) is absurd (metres). */
export const MAX_JOINT_DISTANCE_M = 10;
/** An anchor translated farther than this from the ARKit world origin is absurd for a clinic room (metres). */
export const MAX_ANCHOR_TRANSLATION_M = 100;
/** Tolerance on the anchor being rigid: unit-length rotation columns and bottom row [0 0 0 1]. */
export const ANCHOR_RIGIDITY_TOLERANCE = 0.05;

export interface FrameValidatorOptions {
  /** Names of the 91 ARKit joints, in wire order, for error messages (e.g. ARKIT_JOINTS from streams/adapters/arkit). */
  readonly jointNames?: readonly string[];
  /** Override MAX_JOINT_DISTANCE_M. */
  readonly maxJointDistanceM?: number;
  /** Override MAX_ANCHOR_TRANSLATION_M. */
  readonly maxAnchorTranslationM?: number;
  /** On resume: the last frame already accepted in this session; later frames must follow it. */
  readonly after?: { readonly seq: number; readonly t: number };
}

export type FrameCheck = { readonly ok: true } | { readonly ok: false; readonly error: WireError };

const AXES = ['x', 'y', 'z'] as const;
const OK: FrameCheck = Object.freeze({ ok: true });
/**
 * Euclidean length of finite float32 components. Not Math.hypot: V8 boxes its arguments (≈ 100 bytes of
 * garbage per call, 94 calls per frame), and float32 inputs cannot lose precision squared in a double.
 */
const length3 = (x: number, y: number, z: number): number => Math.sqrt(x * x + y * y + z * z);
const describeNumber = (v: number): string => (Number.isNaN(v) ? 'NaN' : v > 0 ? 'Infinity' : '-Infinity');

/** Validates each decoded frame of one session against the frames accepted before it. */
export class FrameValidator {
  private lastSeq: number | undefined;
  private lastT: number | undefined;
  private readonly maxJoint: number;
  private readonly maxAnchor: number;

  constructor(private readonly opts: FrameValidatorOptions = {}) {
    this.lastSeq = opts.after?.seq;
    this.lastT = opts.after?.t;
    this.maxJoint = opts.maxJointDistanceM ?? MAX_JOINT_DISTANCE_M;
    this.maxAnchor = opts.maxAnchorTranslationM ?? MAX_ANCHOR_TRANSLATION_M;
  }

  /** The last accepted frame (`undefined` before the first). */
  get last(): { readonly seq: number; readonly t: number } | undefined {
    return this.lastSeq === undefined || this.lastT === undefined ? undefined : { seq: this.lastSeq, t: this.lastT };
  }

  /** Checks one frame; on success it becomes the reference for the next one. */
  check(frame: Frame): FrameCheck {
    const problem = this.findProblem(frame);
    if (problem !== undefined) return { ok: false, error: { code: problem[0], message: `frame ${frame.seq}: ${problem[1]}`, seq: frame.seq } };
    this.lastSeq = frame.seq;
    this.lastT = frame.t;
    return OK;
  }

  private jointLabel(i: number): string {
    const name = this.opts.jointNames?.[i];
    return name === undefined ? `joint ${i}` : `joint ${i} (${name})`;
  }

  private findProblem(f: Frame): [ErrorCode, string] | undefined {
    const positions = f.joints ?? f.jointTransforms;
    const stride = f.joints !== undefined ? 3 : 16;
    if (positions === undefined || (f.joints !== undefined && f.jointTransforms !== undefined)) {
      return [ErrorCode.JOINT_COUNT, 'exactly one of joints or jointTransforms is required'];
    }
    if (positions.length !== ARKIT_JOINT_COUNT * stride) {
      return [
        ErrorCode.JOINT_COUNT,
        `${f.joints !== undefined ? 'joints' : 'jointTransforms'} has ${positions.length} floats, expected ${ARKIT_JOINT_COUNT * stride} (${ARKIT_JOINT_COUNT} joints)`,
      ];
    }
    if (f.anchor.length !== 16) return [ErrorCode.JOINT_COUNT, `anchor has ${f.anchor.length} floats, expected 16`];
    if (f.tracked !== undefined && f.tracked.length !== ARKIT_JOINT_COUNT) {
      return [ErrorCode.JOINT_COUNT, `tracked has ${f.tracked.length} bytes, expected ${ARKIT_JOINT_COUNT}`];
    }
    if (this.lastSeq !== undefined) {
      if (f.seq === this.lastSeq) return [ErrorCode.DUPLICATE_SEQ, `seq ${f.seq} repeats the last accepted frame`];
      if (f.seq < this.lastSeq) return [ErrorCode.SEQ_NOT_MONOTONIC, `seq ${f.seq} is below the last accepted seq ${this.lastSeq}`];
    }
    if (!Number.isFinite(f.t)) return [ErrorCode.NON_FINITE, `t is ${describeNumber(f.t)}`];
    if (this.lastT !== undefined && f.t <= this.lastT) {
      return [ErrorCode.TIME_NOT_MONOTONIC, `t ${f.t} s does not increase over the last accepted t ${this.lastT} s`];
    }
    return this.anchorProblem(f.anchor) ?? this.jointProblem(positions, stride);
  }

  private anchorProblem(a: Float32Array): [ErrorCode, string] | undefined {
    for (let i = 0; i < 16; i++) {
      const v = a[i] ?? NaN;
      if (!Number.isFinite(v)) return [ErrorCode.NON_FINITE, `anchor[${i}] (column ${i >> 2}, row ${i & 3}) is ${describeNumber(v)}`];
    }
    const tol = ANCHOR_RIGIDITY_TOLERANCE;
    if (Math.abs(a[3]!) > tol || Math.abs(a[7]!) > tol || Math.abs(a[11]!) > tol || Math.abs(a[15]! - 1) > tol) {
      return [ErrorCode.ABSURD_VALUE, `anchor bottom row is [${[a[3], a[7], a[11], a[15]].join(', ')}], expected [0, 0, 0, 1] (column-major 4×4)`];
    }
    for (let c = 0; c < 3; c++) {
      const len = length3(a[c * 4]!, a[c * 4 + 1]!, a[c * 4 + 2]!);
      if (Math.abs(len - 1) > tol) return [ErrorCode.ABSURD_VALUE, `anchor rotation column ${c} has length ${len.toFixed(3)}, expected 1 (rigid transform)`];
    }
    const dist = length3(a[12]!, a[13]!, a[14]!);
    if (dist > this.maxAnchor) return [ErrorCode.ABSURD_VALUE, `anchor is ${dist.toFixed(1)} m from the world origin (limit ${this.maxAnchor} m)`];
    return undefined;
  }

  private jointProblem(p: Float32Array, stride: number): [ErrorCode, string] | undefined {
    // For 4×4 transforms every element must be finite; the position is the translation column (12..14).
    const offset = stride === 16 ? 12 : 0;
    for (let j = 0; j < ARKIT_JOINT_COUNT; j++) {
      const base = j * stride;
      for (let k = 0; k < stride; k++) {
        const v = p[base + k]!;
        if (!Number.isFinite(v)) {
          const what = stride === 3 ? AXES[k] : k >= 12 && k < 15 ? AXES[k - 12] : `transform[${k}]`;
          return [ErrorCode.NON_FINITE, `${this.jointLabel(j)} ${what} is ${describeNumber(v)}`];
        }
      }
      const d = length3(p[base + offset]!, p[base + offset + 1]!, p[base + offset + 2]!);
      if (d > this.maxJoint) return [ErrorCode.ABSURD_VALUE, `${this.jointLabel(j)} is ${d.toFixed(2)} m from the body origin (limit ${this.maxJoint} m)`];
    }
    return undefined;
  }
}
