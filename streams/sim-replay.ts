// Stage 4: sim replay. The session's physical states are replayed against the environment (the floor,
// y = 0) and the body (rigid segments, physiological speeds), frame by frame; the result is a validation
// log — a flag word per frame plus a summary — that later stages (the physics filter of stage 7) and the
// report read. The checks work on plain world-pose tracks, so planned variants are judged by exactly the
// same code as the recording.
//
// Bounds and their sources:
// - Ground penetration: the foot's lowest point (heel, toe, ankle) below the floor by more than
//   PENETRATION_TOL_M. 1 cm: below the 3 cm alignment tolerance (stage 1) and above marker/joint noise.
// - Bone lengths: a rigid segment's length should not change; a frame is flagged when a segment differs
//   from the recording's median length by more than max(10 %, 2 cm). Markerless skeletons (Kinect v2)
//   vary by several centimetres (Otte et al. 2016, PLoS ONE 11(11):e0166532), hence a tolerance, not 0.
// - Joint speed: ≤ 10 m/s. The fastest body part in walking, the swing foot, peaks near 4–5 m/s
//   (Winter 1992, "Foot trajectory in human gait", Phys Ther 72(1):45–53); clinical movements stay far
//   below 10 m/s, so faster joints are tracking glitches.
// - Joint acceleration: ≤ 100 m/s² (≈ 10 g), by second differences over ACCEL_SPAN_S (50 ms) so that
//   60 Hz position noise does not dominate. Filtered marker accelerations in gait stay within a few g;
//   skin-mounted accelerometers see 5–10 g only in the heel-strike transient of running (Lafortune 1991,
//   J Biomech 24(10):877–886).
// - Joint angular speed (knee, hip flexion): ≤ 1000 °/s. Knee flexion velocity peaks near 350–450 °/s in
//   walking (Winter 2009, Biomechanics and Motor Control of Human Movement, 4th ed., appendix A).
// - Balance: the centre of mass projected on the floor outside the base of support (the convex hull of
//   the feet in contact) — the static stability condition (Pai & Patton 1997, J Biomech 30(4):347–354;
//   Hof et al. 2005, J Biomech 38(1):1–8). Checked where the assessment is balance.
import { type OperatorFunction, map, toArray } from 'rxjs';
import { centreOfMass } from './body-model.js';
import type { MetricsFrame } from './metrics.js';
import { JOINT_COUNT, JOINT_INDEX, JOINTS, PARENT, type JointName, type Side } from './skeleton.js';
import type { Assessment } from './types.js';
import { type Vec3, angleDeg, joint, sub } from './vec3.js';

export const SIM_BOUNDS = {
  penetrationTolM: 0.01,
  boneTolRel: 0.1,
  boneTolM: 0.02,
  jointSpeedMps: 10,
  jointAccelMps2: 100,
  accelSpanS: 0.05,
  angularSpeedDegS: 1000,
} as const;
export type SimBounds = { readonly [K in keyof typeof SIM_BOUNDS]: number };

/** One bit per check in a frame's flag word. */
export const SimFlag = {
  PENETRATION_LEFT: 1,
  PENETRATION_RIGHT: 2,
  BONE_LENGTH: 4,
  JOINT_SPEED: 8,
  JOINT_ACCEL: 16,
  ANGULAR_SPEED: 32,
  COM_OUTSIDE_BOS: 64,
} as const;
export type SimFlag = keyof typeof SimFlag;

/** A pose track in the world frame: T timestamps (s) and T × 60 joints (m, floor y = 0, NaN = missing). */
export interface PoseTrack {
  readonly t: ArrayLike<number>;
  readonly joints: Float32Array;
  /** Foot contacts per frame (stage 2); without them a foot < 5 cm above the floor counts as in contact. */
  readonly contacts?: readonly { readonly left: boolean; readonly right: boolean }[];
}

/** What was measured at one frame (NaN where it could not be). */
export interface FrameMeasures {
  readonly footLow: Record<Side, number>;
  /** Worst relative deviation of any segment from its reference length, and that segment. */
  readonly boneDev: number;
  readonly boneSegment: string | null;
  readonly maxSpeed: number;
  readonly maxAccel: number;
  readonly maxAngularSpeed: number;
  /** Signed distance of the CoM's floor projection to the base of support edge (m, > 0 = outside). */
  readonly comOutsideM: number;
}

export const SEGMENTS: readonly (readonly [JointName, JointName])[] = JOINTS.flatMap((j) => {
  const p = PARENT[j];
  return p ? [[p, j] as const] : [];
});

const FEET: Record<Side, readonly JointName[]> = {
  left: ['left_heel', 'left_toe', 'left_ankle'],
  right: ['right_heel', 'right_toe', 'right_ankle'],
};
const CONTACT_FALLBACK_M = 0.05;
/**
 * Half the foot's breadth. Skeletons give heel, toe and ankle on one line, but the sole is ~9–10 cm wide
 * (ANSUR foot breadth, Gordon et al. 1989: 9.8 cm men, 8.9 cm women); without it a one-legged stance
 * would have a base of support of zero width.
 */
export const FOOT_HALF_WIDTH_M = 0.045;

/** The sole's outline on the floor (x, z): heel and toe widened sideways by FOOT_HALF_WIDTH_M. */
function footPrint(frame: Float32Array, side: Side): [number, number][] {
  const pts = FEET[side].map((n) => joint(frame, n)).filter((p): p is Vec3 => p !== null);
  const heel = joint(frame, `${side}_heel`) ?? joint(frame, `${side}_ankle`);
  const toe = joint(frame, `${side}_toe`);
  const out: [number, number][] = pts.map((p) => [p[0], p[2]]);
  if (!heel || !toe) return out;
  const len = Math.hypot(toe[0] - heel[0], toe[2] - heel[2]);
  if (!(len > 1e-3)) return out;
  const nx = -(toe[2] - heel[2]) / len;
  const nz = (toe[0] - heel[0]) / len;
  for (const p of [heel, toe]) for (const s of [-1, 1]) out.push([p[0] + s * FOOT_HALF_WIDTH_M * nx, p[2] + s * FOOT_HALF_WIDTH_M * nz]);
  return out;
}

const at = (joints: Float32Array, i: number, name: JointName): Vec3 | null => joint(joints.subarray(i * JOINT_COUNT * 3, (i + 1) * JOINT_COUNT * 3), name);

const FEET_OFFSET: Record<Side, readonly number[]> = { left: FEET.left.map((n) => 3 * JOINT_INDEX[n]), right: FEET.right.map((n) => 3 * JOINT_INDEX[n]) };

/** Lowest point of a foot (m above the floor), NaN when the foot is not tracked. */
export function footLow(joints: Float32Array, i: number, side: Side): number {
  // Read in place (no Vec3 per joint): planning calls this hundreds of thousands of times per question.
  // A joint counts only with all three coordinates finite, as vec3.joint has it.
  let low = Infinity;
  const o = i * JOINT_COUNT * 3;
  if (!(i >= 0 && o < joints.length)) return NaN;
  for (const k of FEET_OFFSET[side]) {
    const x = joints[o + k]!;
    const y = joints[o + k + 1]!;
    const z = joints[o + k + 2]!;
    if (Number.isFinite(x) && Number.isFinite(y) && Number.isFinite(z)) low = Math.min(low, y);
  }
  return Number.isFinite(low) ? low : NaN;
}

/** Segment lengths per frame (T × SEGMENTS), NaN where an end is missing. */
export function segmentLengths(joints: Float32Array): Float32Array {
  const T = joints.length / (JOINT_COUNT * 3);
  const out = new Float32Array(T * SEGMENTS.length);
  for (let i = 0; i < T; i++) {
    SEGMENTS.forEach(([a, b], s) => {
      const pa = at(joints, i, a);
      const pb = at(joints, i, b);
      out[i * SEGMENTS.length + s] = pa && pb ? Math.hypot(...sub(pa, pb)) : NaN;
    });
  }
  return out;
}

export function medianOf(values: readonly number[]): number {
  const v = values.filter(Number.isFinite).sort((a, b) => a - b);
  if (v.length === 0) return NaN;
  const m = v.length >> 1;
  return v.length % 2 ? v[m]! : (v[m - 1]! + v[m]!) / 2;
}

/** Per-segment median length over a track (the reference a rigid body keeps). */
export function referenceLengths(joints: Float32Array): Float64Array {
  const lens = segmentLengths(joints);
  const S = SEGMENTS.length;
  const T = lens.length / S;
  return Float64Array.from(SEGMENTS, (_, s) => medianOf(Array.from({ length: T }, (_, i) => lens[i * S + s]!)));
}

/** Convex hull of 2-D points (Andrew's monotone chain), counter-clockwise. */
export function convexHull(points: readonly (readonly [number, number])[]): [number, number][] {
  const p = [...points].sort((a, b) => a[0] - b[0] || a[1] - b[1]);
  if (p.length < 3) return p.map((q) => [q[0], q[1]]);
  const cross = (o: readonly number[], a: readonly number[], b: readonly number[]): number =>
    (a[0]! - o[0]!) * (b[1]! - o[1]!) - (a[1]! - o[1]!) * (b[0]! - o[0]!);
  const lower: [number, number][] = [];
  for (const q of p) {
    while (lower.length >= 2 && cross(lower[lower.length - 2]!, lower[lower.length - 1]!, q) <= 0) lower.pop();
    lower.push([q[0], q[1]]);
  }
  const upper: [number, number][] = [];
  for (const q of [...p].reverse()) {
    while (upper.length >= 2 && cross(upper[upper.length - 2]!, upper[upper.length - 1]!, q) <= 0) upper.pop();
    upper.push([q[0], q[1]]);
  }
  return [...lower.slice(0, -1), ...upper.slice(0, -1)];
}

/** Signed distance from a point to a convex polygon's boundary: > 0 outside, ≤ 0 inside. */
export function outsideDistance(poly: readonly (readonly [number, number])[], x: number, z: number): number {
  if (poly.length === 0) return NaN;
  const segDist = (a: readonly number[], b: readonly number[]): number => {
    const dx = b[0]! - a[0]!;
    const dz = b[1]! - a[1]!;
    const len2 = dx * dx + dz * dz;
    const u = len2 > 0 ? Math.max(0, Math.min(1, ((x - a[0]!) * dx + (z - a[1]!) * dz) / len2)) : 0;
    return Math.hypot(x - a[0]! - u * dx, z - a[1]! - u * dz);
  };
  let d = Infinity;
  let inside = poly.length >= 3;
  for (let k = 0; k < poly.length; k++) {
    const a = poly[k]!;
    const b = poly[(k + 1) % poly.length]!;
    d = Math.min(d, segDist(a, b));
    if (poly.length >= 3 && (b[0] - a[0]) * (z - a[1]) - (b[1] - a[1]) * (x - a[0]) < 0) inside = false;
  }
  return inside ? -d : d;
}

function kneeAngle(joints: Float32Array, i: number, side: Side): number {
  const h = at(joints, i, `${side}_hip`);
  const k = at(joints, i, `${side}_knee`);
  const a = at(joints, i, `${side}_ankle`);
  return h && k && a ? 180 - angleDeg(sub(h, k), sub(a, k)) : NaN;
}

function hipAngle(joints: Float32Array, i: number, side: Side): number {
  const h = at(joints, i, `${side}_hip`);
  const k = at(joints, i, `${side}_knee`);
  const r = at(joints, i, 'root');
  const c = at(joints, i, 'chest') ?? at(joints, i, 'neck');
  const up: Vec3 = r && c ? sub(c, r) : [0, 1, 0];
  return h && k ? 180 - angleDeg(sub(k, h), up) : NaN;
}

/** Measures every frame of a track against the body and the floor. */
export function measureTrack(track: PoseTrack, opts: { assessment?: Assessment; bounds?: SimBounds; reference?: Float64Array } = {}): FrameMeasures[] {
  const b = opts.bounds ?? SIM_BOUNDS;
  const J = JOINT_COUNT * 3;
  const T = track.joints.length / J;
  const ref = opts.reference ?? referenceLengths(track.joints);
  const lens = segmentLengths(track.joints);
  const S = SEGMENTS.length;
  const t = track.t;
  const angles = (i: number): number[] => (['left', 'right'] as const).flatMap((s) => [kneeAngle(track.joints, i, s), hipAngle(track.joints, i, s)]);
  const ang = Array.from({ length: T }, (_, i) => angles(i));
  const out: FrameMeasures[] = [];
  for (let i = 0; i < T; i++) {
    let boneDev = 0;
    let boneSegment: string | null = null;
    for (let s = 0; s < S; s++) {
      const r = ref[s]!;
      const l = lens[i * S + s]!;
      if (!(Number.isFinite(l) && r > 0)) continue;
      // Deviation beyond the absolute floor, relative to the reference length.
      const dev = Math.max(0, Math.abs(l - r) - Math.max(0, b.boneTolM - b.boneTolRel * r)) / r;
      if (dev > boneDev) {
        boneDev = dev;
        boneSegment = `${SEGMENTS[s]![0]}-${SEGMENTS[s]![1]}`;
      }
    }
    let maxSpeed = NaN;
    let maxAccel = NaN;
    let maxAng = NaN;
    const dt = i > 0 ? t[i]! - t[i - 1]! : NaN;
    if (dt > 0) {
      for (let k = 0; k < J; k += 3) {
        const v =
          Math.hypot(
            track.joints[i * J + k]! - track.joints[(i - 1) * J + k]!,
            track.joints[i * J + k + 1]! - track.joints[(i - 1) * J + k + 1]!,
            track.joints[i * J + k + 2]! - track.joints[(i - 1) * J + k + 2]!,
          ) / dt;
        if (Number.isFinite(v)) maxSpeed = Number.isFinite(maxSpeed) ? Math.max(maxSpeed, v) : v;
      }
      ang[i]!.forEach((a, q) => {
        const w = Math.abs(a - ang[i - 1]![q]!) / dt;
        if (Number.isFinite(w)) maxAng = Number.isFinite(maxAng) ? Math.max(maxAng, w) : w;
      });
    }
    // Second difference over ± span frames (≈ ACCEL_SPAN_S), centred on i.
    const span = Math.max(1, Math.round(b.accelSpanS / (Number.isFinite(dt) && dt > 0 ? dt : 1 / 60)));
    if (i - span >= 0 && i + span < T) {
      const h1 = t[i]! - t[i - span]!;
      const h2 = t[i + span]! - t[i]!;
      if (h1 > 0 && h2 > 0) {
        for (let k = 0; k < J; k += 3) {
          let a2 = 0;
          for (let c = 0; c < 3; c++) {
            const x0 = track.joints[(i - span) * J + k + c]!;
            const x1 = track.joints[i * J + k + c]!;
            const x2 = track.joints[(i + span) * J + k + c]!;
            a2 += ((2 * ((x2 - x1) / h2 - (x1 - x0) / h1)) / (h1 + h2)) ** 2;
          }
          const a = Math.sqrt(a2);
          if (Number.isFinite(a)) maxAccel = Number.isFinite(maxAccel) ? Math.max(maxAccel, a) : a;
        }
      }
    }
    let comOutsideM = NaN;
    if (opts.assessment === 'balance') {
      const frame = track.joints.subarray(i * J, (i + 1) * J);
      const com = centreOfMass(frame).position;
      const pts: [number, number][] = [];
      for (const side of ['left', 'right'] as const) {
        const inContact = track.contacts?.[i]?.[side] ?? footLow(track.joints, i, side) < CONTACT_FALLBACK_M;
        if (!inContact) continue;
        pts.push(...footPrint(frame, side));
      }
      if (com && pts.length > 0) comOutsideM = outsideDistance(convexHull(pts), com[0], com[2]);
    }
    out.push({
      footLow: { left: footLow(track.joints, i, 'left'), right: footLow(track.joints, i, 'right') },
      boneDev,
      boneSegment,
      maxSpeed,
      maxAccel,
      maxAngularSpeed: maxAng,
      comOutsideM,
    });
  }
  return out;
}

/** The flag word of one measured frame. */
export function flagsOf(m: FrameMeasures, b: SimBounds = SIM_BOUNDS): number {
  let f = 0;
  if (m.footLow.left < -b.penetrationTolM) f |= SimFlag.PENETRATION_LEFT;
  if (m.footLow.right < -b.penetrationTolM) f |= SimFlag.PENETRATION_RIGHT;
  if (m.boneDev > b.boneTolRel) f |= SimFlag.BONE_LENGTH;
  if (m.maxSpeed > b.jointSpeedMps) f |= SimFlag.JOINT_SPEED;
  if (m.maxAccel > b.jointAccelMps2) f |= SimFlag.JOINT_ACCEL;
  if (m.maxAngularSpeed > b.angularSpeedDegS) f |= SimFlag.ANGULAR_SPEED;
  if (m.comOutsideM > 0) f |= SimFlag.COM_OUTSIDE_BOS;
  return f;
}

export const flagNames = (word: number): SimFlag[] => (Object.keys(SimFlag) as SimFlag[]).filter((k) => (word & SimFlag[k]) !== 0);

export interface PenetrationEpisode {
  readonly foot: Side;
  readonly start_s: number;
  readonly end_s: number;
  readonly duration_s: number;
  readonly max_depth_m: number;
}

export interface SimReplayLog {
  readonly frames: number;
  readonly assessment: Assessment | null;
  readonly bounds: SimBounds;
  /** One flag word per frame (bits: SimFlag). */
  readonly flags: readonly number[];
  readonly summary: {
    readonly passed: boolean;
    readonly flagged_frames: number;
    readonly by_flag: Readonly<Record<SimFlag, number>>;
    readonly penetration: readonly PenetrationEpisode[];
    readonly bones: readonly { segment: string; median_m: number; cv: number; max_dev_rel: number }[];
    readonly max_joint_speed_mps: number | null;
    readonly max_joint_accel_mps2: number | null;
    readonly max_angular_speed_degps: number | null;
    /** Balance only: fraction of frames with the CoM outside the base of support. */
    readonly com_outside_bos_fraction: number | null;
  };
}

/**
 * Fraction of flagged frames above which the replay fails. A few glitch frames are tracking noise that
 * the report shows; a recording flagged throughout is not a body the later stages should plan on.
 */
export const MAX_FLAGGED_FRACTION = 0.1;

const maxFinite = (v: readonly number[]): number | null => {
  const f = v.filter(Number.isFinite);
  return f.length ? Math.max(...f) : null;
};

export function simReplayLog(track: PoseTrack, opts: { assessment?: Assessment; bounds?: SimBounds } = {}): SimReplayLog {
  const b = opts.bounds ?? SIM_BOUNDS;
  const m = measureTrack(track, opts);
  const flags = m.map((x) => flagsOf(x, b));
  const by = Object.fromEntries((Object.keys(SimFlag) as SimFlag[]).map((k) => [k, flags.filter((f) => (f & SimFlag[k]) !== 0).length])) as Record<
    SimFlag,
    number
  >;
  const episodes: PenetrationEpisode[] = [];
  for (const foot of ['left', 'right'] as const) {
    let start = -1;
    let depth = 0;
    const close = (end: number): void => {
      const s = Number(track.t[start]);
      const e = Number(track.t[end]);
      episodes.push({ foot, start_s: s, end_s: e, duration_s: e - s, max_depth_m: depth });
      start = -1;
      depth = 0;
    };
    m.forEach((x, i) => {
      const low = x.footLow[foot];
      if (low < -b.penetrationTolM) {
        if (start < 0) start = i;
        depth = Math.max(depth, -low);
      } else if (start >= 0) close(i - 1);
    });
    if (start >= 0) close(m.length - 1);
  }
  const lens = segmentLengths(track.joints);
  const S = SEGMENTS.length;
  const T = m.length;
  const bones = SEGMENTS.map(([a, c], s) => {
    const v = Array.from({ length: T }, (_, i) => lens[i * S + s]!).filter(Number.isFinite);
    const med = medianOf(v);
    const mean = v.reduce((p, q) => p + q, 0) / (v.length || 1);
    const sd = Math.sqrt(v.reduce((p, q) => p + (q - mean) ** 2, 0) / (v.length || 1));
    return {
      segment: `${a}-${c}`,
      median_m: med,
      cv: med > 0 ? sd / mean : NaN,
      max_dev_rel: med > 0 ? Math.max(0, ...v.map((q) => Math.abs(q - med) / med)) : NaN,
    };
  }).filter((x) => Number.isFinite(x.median_m) && x.median_m > 0);
  const flagged = flags.filter((f) => f !== 0).length;
  const balance = opts.assessment === 'balance';
  return {
    frames: T,
    assessment: opts.assessment ?? null,
    bounds: b,
    flags,
    summary: {
      passed: flagged <= MAX_FLAGGED_FRACTION * T,
      flagged_frames: flagged,
      by_flag: by,
      penetration: episodes,
      bones,
      max_joint_speed_mps: maxFinite(m.map((x) => x.maxSpeed)),
      max_joint_accel_mps2: maxFinite(m.map((x) => x.maxAccel)),
      max_angular_speed_degps: maxFinite(m.map((x) => x.maxAngularSpeed)),
      com_outside_bos_fraction: balance
        ? m.filter((x) => x.comOutsideM > 0).length / Math.max(1, m.filter((x) => Number.isFinite(x.comOutsideM)).length)
        : null,
    },
  };
}

/** Stage 4 as a stream stage: collects the session's states and emits its validation log on completion. */
export function simReplay(opts: { assessment: Assessment; bounds?: SimBounds }): OperatorFunction<MetricsFrame, SimReplayLog> {
  return (source) =>
    source.pipe(
      toArray(),
      map((states) => {
        const joints = new Float32Array(states.length * JOINT_COUNT * 3);
        states.forEach((s, i) => joints.set(s.joints, i * JOINT_COUNT * 3));
        return simReplayLog({ t: states.map((s) => s.t), joints, contacts: states.map((s) => s.contacts) }, opts);
      }),
    );
}
