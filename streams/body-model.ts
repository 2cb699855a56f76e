// Segment-mass model for the centre of mass.
// Source: de Leva P. "Adjustments to Zatsiorsky-Seluyanov's segment inertia parameters",
// J. Biomech. 1996, 29(9):1223–1230, Table 4 (male): mass as a fraction of body mass and CoM position as
// a fraction of the segment length from the proximal end. Mapped onto our 20 canonical joints:
//   trunk = neck (≈ cervicale) → root (≈ mid-hip); head+neck mass at the head joint;
//   hand mass at the wrist (no hand joint; 0.61 % of body mass, the error is a few mm of CoM);
//   foot = heel → toe.
// When the trunk is missing (lower-body-only recordings) we use de Leva's *lower trunk* (pelvis,
// 11.17 %) placed at the root plus the leg segments, renormalised: a lower-body CoM, labelled as such.
import { JOINT_INDEX, type JointName } from './skeleton.js';
import type { Vec3 } from './vec3.js';

export interface Segment {
  readonly name: string;
  readonly proximal: JointName;
  readonly distal: JointName;
  /** Fraction of body mass. */
  readonly mass: number;
  /** CoM position from the proximal joint, as a fraction of the proximal→distal length. */
  readonly com: number;
}

const leg = (side: 'left' | 'right'): Segment[] => [
  { name: `${side}_thigh`, proximal: `${side}_hip`, distal: `${side}_knee`, mass: 0.1416, com: 0.4095 },
  { name: `${side}_shank`, proximal: `${side}_knee`, distal: `${side}_ankle`, mass: 0.0433, com: 0.4459 },
  { name: `${side}_foot`, proximal: `${side}_heel`, distal: `${side}_toe`, mass: 0.0137, com: 0.4415 },
];
const arm = (side: 'left' | 'right'): Segment[] => [
  { name: `${side}_upper_arm`, proximal: `${side}_shoulder`, distal: `${side}_elbow`, mass: 0.0271, com: 0.5772 },
  { name: `${side}_forearm`, proximal: `${side}_elbow`, distal: `${side}_wrist`, mass: 0.0162, com: 0.4574 },
  { name: `${side}_hand`, proximal: `${side}_wrist`, distal: `${side}_wrist`, mass: 0.0061, com: 0 },
];

/** Whole-body model (de Leva 1996, male); masses sum to 1. */
export const DE_LEVA_MALE: readonly Segment[] = [
  { name: 'head', proximal: 'head', distal: 'head', mass: 0.0694, com: 0 },
  { name: 'trunk', proximal: 'neck', distal: 'root', mass: 0.4346, com: 0.4486 },
  ...arm('left'),
  ...arm('right'),
  ...leg('left'),
  ...leg('right'),
];

/** Lower-body fallback: pelvis (de Leva lower trunk) at the root + legs. */
export const LOWER_BODY: readonly Segment[] = [{ name: 'pelvis', proximal: 'root', distal: 'root', mass: 0.1117, com: 0 }, ...leg('left'), ...leg('right')];

const LOWER_BODY_MASS = LOWER_BODY.reduce((a, s) => a + s.mass, 0);

export type ComModel = 'full' | 'partial' | 'lower-body' | 'none';

export interface CentreOfMass {
  readonly position: Vec3 | null;
  readonly model: ComModel;
  /** Fraction of the model's mass that was available in this frame (0..1). */
  readonly massCovered: number;
}

/**
 * Mass-weighted mean of the present segments' CoMs. Runs every frame: reads joints by index instead of
 * building a tuple per joint and per lerp (same arithmetic as lerp(a, b, f) = a + (b − a)·f).
 */
function weighted(joints: Float32Array, segments: readonly Segment[]): { p: Vec3 | null; covered: number } {
  let m = 0;
  let x = 0;
  let y = 0;
  let z = 0;
  for (const s of segments) {
    const a = 3 * JOINT_INDEX[s.proximal];
    const b = 3 * JOINT_INDEX[s.distal];
    if (!present(joints, a) || !present(joints, b)) continue;
    const ax = joints[a]!;
    const ay = joints[a + 1]!;
    const az = joints[a + 2]!;
    x += (ax + (joints[b]! - ax) * s.com) * s.mass;
    y += (ay + (joints[b + 1]! - ay) * s.com) * s.mass;
    z += (az + (joints[b + 2]! - az) * s.com) * s.mass;
    m += s.mass;
  }
  return m > 0 ? { p: [x / m, y / m, z / m], covered: m } : { p: null, covered: 0 };
}

/** vec3's joint() test: all three coordinates finite. */
const present = (j: Float32Array, i: number): boolean => Number.isFinite(j[i]) && Number.isFinite(j[i + 1]) && Number.isFinite(j[i + 2]);

/**
 * Centre of mass of one frame. Missing segments are dropped and the rest renormalised; the label says
 * which model was used ('partial' when some whole-body segments were missing, e.g. arms).
 */
export function centreOfMass(joints: Float32Array): CentreOfMass {
  if (present(joints, 3 * JOINT_INDEX.neck) && present(joints, 3 * JOINT_INDEX.root)) {
    const { p, covered } = weighted(joints, DE_LEVA_MALE);
    return { position: p, model: covered > 0.999 ? 'full' : 'partial', massCovered: covered };
  }
  const lower = weighted(joints, LOWER_BODY);
  return lower.p ? { position: lower.p, model: 'lower-body', massCovered: lower.covered / LOWER_BODY_MASS } : { position: null, model: 'none', massCovered: 0 };
}
