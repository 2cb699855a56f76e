// The model input x_t: a FIXED set of named columns, finite for every frame, whatever the recording
// provides. Fill rule (deterministic): a missing joint sits at the root (relative position 0) with zero
// velocity and availability 0; any other missing value is 0. Positions and velocities are expressed in
// the heading frame: root-relative, rotated about y so the body's facing is +z (left = +x).
// Angles are in radians here (model input); metrics report degrees.
import { type OperatorFunction, map } from 'rxjs';
import type { PhaseFrame } from './phases.js';
import { JOINTS, JOINT_COUNT } from './skeleton.js';
import { joint } from './vec3.js';

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

/** One frame's feature vector (exported for offline dataset builders and tests). */
export function featureVector(f: PhaseFrame, opts: FeatureOptions = {}): Float32Array {
  const withVel = opts.velocities ?? true;
  const withMask = opts.mask ?? true;
  const out = new Float32Array(JOINT_COUNT * (3 + (withVel ? 3 : 0) + (withMask ? 1 : 0)) + SCALARS.length);
  // Heading frame: x' = c·x − s·z ... chosen so heading h = (hx, 0, hz) maps to +z.
  const c = f.heading[2];
  const s = -f.heading[0];
  const rot = (x: number, z: number): [number, number] => [c * x + s * z, -s * x + c * z];
  const root = joint(f.joints, 'root') ?? [0, 0, 0];
  const rv = [f.velocities[0], f.velocities[1], f.velocities[2]];
  let k = 0;
  const avail: boolean[] = [];
  for (let j = 0; j < JOINT_COUNT; j++) {
    const p = joint(f.joints, JOINTS[j] ?? 'root');
    avail.push(p !== null);
    const [x, z] = p ? rot(p[0] - root[0], p[2] - root[2]) : [0, 0];
    out[k++] = fin(x);
    out[k++] = p ? fin(p[1] - root[1]) : 0;
    out[k++] = fin(z);
  }
  if (withVel) {
    for (let j = 0; j < JOINT_COUNT; j++) {
      const vx = f.velocities[3 * j];
      const vz = f.velocities[3 * j + 2];
      const ok = avail[j] && Number.isFinite(vx) && Number.isFinite(vz);
      const [x, z] = ok ? rot(vx ?? 0, vz ?? 0) : [0, 0];
      out[k++] = fin(x);
      out[k++] = ok ? fin(f.velocities[3 * j + 1]) : 0;
      out[k++] = fin(z);
    }
  }
  if (withMask) for (let j = 0; j < JOINT_COUNT; j++) out[k++] = avail[j] ? 1 : 0;
  const [rvx, rvz] = rot(fin(rv[0]), fin(rv[2]));
  const com = f.com;
  const [cx, cz] = com ? rot(com[0] - root[0], com[2] - root[2]) : [0, 0];
  const cv = f.comVelocity ?? [0, 0, 0];
  const [cvx, cvz] = rot(fin(cv[0]), fin(cv[2]));
  const scalars = [
    root[1],
    rvx,
    fin(rv[1]),
    rvz,
    f.heading[0],
    f.heading[2],
    cx,
    com ? com[1] : 0,
    cz,
    cvx,
    cv[1],
    cvz,
    f.contacts.left ? 1 : 0,
    f.contacts.right ? 1 : 0,
    f.feet.left.height,
    f.feet.right.height,
    f.angles.kneeFlexion.left * RAD,
    f.angles.kneeFlexion.right * RAD,
    f.angles.hipFlexion.left * RAD,
    f.angles.hipFlexion.right * RAD,
  ];
  for (const v of scalars) out[k++] = fin(v);
  return out;
}

export function features(opts: FeatureOptions = {}): OperatorFunction<PhaseFrame, FeatureFrame> {
  return map((f) => ({ ...f, features: featureVector(f, opts) }));
}
