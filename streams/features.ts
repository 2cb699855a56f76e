// The model input x_t: a FIXED set of named columns, finite for every frame, whatever the recording
// provides. Fill rule (deterministic): a missing joint sits at the root (relative position 0) with zero
// velocity and availability 0; any other missing value is 0. Positions and velocities are expressed in
// the heading frame: root-relative, rotated about y so the body's facing is +z (left = +x).
// Angles are in radians here (model input); metrics report degrees.
import { type OperatorFunction, map } from 'rxjs';
import type { PhaseFrame } from './phases.js';
import { JOINTS, JOINT_COUNT, JOINT_INDEX } from './skeleton.js';

export interface FeatureOptions {
  /** Include joint velocities (60 columns). Default true. */
  readonly velocities?: boolean;
  /** Include the per-joint availability mask (20 columns). Default true. */
  readonly mask?: boolean;
}

export interface FeatureFrame extends PhaseFrame {
  readonly features: Float32Array;
}

const AXES = ['x', 'y', 'z'] as const;
const SCALARS = [
  'root_height',
  'root_vel_x',
  'root_vel_y',
  'root_vel_z',
  'heading_sin',
  'heading_cos',
  'com_rel_x',
  'com_height',
  'com_rel_z',
  'com_vel_x',
  'com_vel_y',
  'com_vel_z',
  'contact_left',
  'contact_right',
  'foot_height_left',
  'foot_height_right',
  'knee_flex_left',
  'knee_flex_right',
  'hip_flex_left',
  'hip_flex_right',
] as const;

/** Column names of x_t, in order. Same options → same names, for every recording. */
export function featureNames(opts: FeatureOptions = {}): readonly string[] {
  const names: string[] = [];
  for (const j of JOINTS) for (const a of AXES) names.push(`pos_${j}_${a}`);
  if (opts.velocities ?? true) for (const j of JOINTS) for (const a of AXES) names.push(`vel_${j}_${a}`);
  if (opts.mask ?? true) for (const j of JOINTS) names.push(`avail_${j}`);
  names.push(...SCALARS);
  return Object.freeze(names);
}

const fin = (v: number | undefined): number => (v !== undefined && Number.isFinite(v) ? v : 0);
const RAD = Math.PI / 180;

/** Per-joint availability of the frame being encoded (scratch: featureVector runs once per frame, synchronously). */
const availScratch = new Uint8Array(JOINT_COUNT);

/**
 * One frame's feature vector (exported for offline dataset builders and tests). It runs for every live
 * frame, so it reads the flat arrays by index and allocates only the returned vector (no per-joint tuples).
 */
export function featureVector(f: PhaseFrame, opts: FeatureOptions = {}): Float32Array {
  const withVel = opts.velocities ?? true;
  const withMask = opts.mask ?? true;
  const out = new Float32Array(JOINT_COUNT * (3 + (withVel ? 3 : 0) + (withMask ? 1 : 0)) + SCALARS.length);
  // Heading frame: x' = c·x + s·z, z' = −s·x + c·z, chosen so heading h = (hx, 0, hz) maps to +z.
  const c = f.heading[2];
  const s = -f.heading[0];
  const J = f.joints;
  const ri = 3 * JOINT_INDEX.root;
  const hasRoot = finite3(J, ri);
  const r0 = hasRoot ? J[ri]! : 0;
  const r1 = hasRoot ? J[ri + 1]! : 0;
  const r2 = hasRoot ? J[ri + 2]! : 0;
  const avail = availScratch;
  let k = 0;
  for (let j = 0; j < JOINT_COUNT; j++) {
    const ok = finite3(J, 3 * j);
    avail[j] = ok ? 1 : 0;
    if (ok) {
      const dx = J[3 * j]! - r0;
      const dz = J[3 * j + 2]! - r2;
      out[k++] = fin(c * dx + s * dz);
      out[k++] = fin(J[3 * j + 1]! - r1);
      out[k++] = fin(-s * dx + c * dz);
    } else k += 3; // zeros
  }
  const V = f.velocities;
  if (withVel) {
    for (let j = 0; j < JOINT_COUNT; j++) {
      const vx = V[3 * j];
      const vz = V[3 * j + 2];
      if (avail[j] === 1 && Number.isFinite(vx) && Number.isFinite(vz)) {
        out[k++] = fin(c * vx! + s * vz!);
        out[k++] = fin(V[3 * j + 1]);
        out[k++] = fin(-s * vx! + c * vz!);
      } else k += 3;
    }
  }
  if (withMask) for (let j = 0; j < JOINT_COUNT; j++) out[k++] = avail[j]!;
  const rvx = fin(V[0]);
  const rvz = fin(V[2]);
  const com = f.com;
  const cdx = com ? com[0] - r0 : 0;
  const cdz = com ? com[2] - r2 : 0;
  const cv = f.comVelocity;
  const cvx = cv ? fin(cv[0]) : 0;
  const cvz = cv ? fin(cv[2]) : 0;
  // Same order as SCALARS.
  out[k++] = fin(r1);
  out[k++] = fin(c * rvx + s * rvz);
  out[k++] = fin(fin(V[1]));
  out[k++] = fin(-s * rvx + c * rvz);
  out[k++] = fin(f.heading[0]);
  out[k++] = fin(f.heading[2]);
  out[k++] = com ? fin(c * cdx + s * cdz) : 0;
  out[k++] = com ? fin(com[1]) : 0;
  out[k++] = com ? fin(-s * cdx + c * cdz) : 0;
  out[k++] = fin(c * cvx + s * cvz);
  out[k++] = cv ? fin(cv[1]) : 0;
  out[k++] = fin(-s * cvx + c * cvz);
  out[k++] = f.contacts.left ? 1 : 0;
  out[k++] = f.contacts.right ? 1 : 0;
  out[k++] = fin(f.feet.left.height);
  out[k++] = fin(f.feet.right.height);
  out[k++] = fin(f.angles.kneeFlexion.left * RAD);
  out[k++] = fin(f.angles.kneeFlexion.right * RAD);
  out[k++] = fin(f.angles.hipFlexion.left * RAD);
  out[k++] = fin(f.angles.hipFlexion.right * RAD);
  return out;
}

/** Same test as vec3's joint(): a joint is present when all three coordinates are finite. */
function finite3(a: Float32Array, i: number): boolean {
  return Number.isFinite(a[i]) && Number.isFinite(a[i + 1]) && Number.isFinite(a[i + 2]);
}

/** The feature step (stateless): the frame with its model input row. The `features` operator maps it. */
export function featuresStep(opts: FeatureOptions = {}): (f: PhaseFrame) => FeatureFrame {
  // Fields written out, not spread (see contacts.ts).
  return (f) => ({
    t: f.t,
    joints: f.joints,
    index: f.index,
    sourceJoints: f.sourceJoints,
    transform: f.transform,
    floor: f.floor,
    forward: f.forward,
    forwardSource: f.forwardSource,
    forwardFixedAt: f.forwardFixedAt,
    quality: f.quality,
    dropped: f.dropped,
    dt: f.dt,
    velocities: f.velocities,
    velocityValid: f.velocityValid,
    com: f.com,
    comVelocity: f.comVelocity,
    comModel: f.comModel,
    heading: f.heading,
    angles: f.angles,
    contacts: f.contacts,
    feet: f.feet,
    events: f.events,
    assessment: f.assessment,
    phase: f.phase,
    phaseStart: f.phaseStart,
    gait: f.gait,
    rootDrop: f.rootDrop,
    standingHeight: f.standingHeight,
    reps: f.reps,
    repCompleted: f.repCompleted,
    stance: f.stance,
    stanceChange: f.stanceChange,
    features: featureVector(f, opts),
  });
}

export function features(opts: FeatureOptions = {}): OperatorFunction<PhaseFrame, FeatureFrame> {
  return map(featuresStep(opts));
}
