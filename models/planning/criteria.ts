/**
 * Stage 8's task-specific success criteria, evaluated on a stretch of a world pose track. Each returns
 * a margin in its unit (≥ 0 passes, < 0 fails by that much), so a failure also says how far it is from
 * success and corrections can aim at it.
 *
 * gait
 * - swing_clearance: the swing foot's lowest point stays ≥ 0.5 cm above the floor. Minimum toe
 *   clearance in healthy walking is 1.3 ± 0.5 cm (Winter 1992, Phys Ther 72(1):45–53); below 0.5 cm the
 *   foot scuffs — the trip mechanism (Begg et al. 2007, Gait & Posture 25(2):191–198).
 * - midstance_knee: knee flexion in mid-stance ≤ 30°. Normal mid-stance flexion is ~5–20° (Perry &
 *   Burnfield 2010); persistent flexion beyond that is crouch gait (Rodda & Graham 2001, Eur J Neurol
 *   8(s5):98–108), 30° our threshold for it.
 * squat
 * - heel_contact: heels stay within 3 cm of the floor (heel rise is a squat compensation in the
 *   overhead-squat assessment; Clark & Lucett 2011, NASM Essentials of Corrective Exercise Training).
 * - trunk_lean: trunk (root → neck) within 45° of vertical (excessive forward lean, same source).
 * - com_over_feet: centre of mass over the base of support (sim-replay.ts, Pai & Patton 1997).
 * sit_to_stand
 * - com_over_feet in the rising and standing phases (after seat-off the body is stable only with the CoM
 *   over the feet; Schenkman et al. 1990, Phys Ther 70(10):638–648).
 * - knee_symmetry: left–right knee flexion difference ≤ 15° while rising (asymmetric loading, as in
 *   hemiparesis; Lomaglio & Eng 2005, Gait & Posture 22(2):126–131), 15° our threshold.
 * balance
 * - xcom_inside_bos: the extrapolated centre of mass x + v/ω₀ (ω₀ = √(g/l), l = CoM height) inside the
 *   base of support — Hof et al. 2005's condition for dynamic stability (J Biomech 38(1):1–8).
 */
import { centreOfMass } from '../../streams/body-model.js';
import { convexHull, FOOT_HALF_WIDTH_M, footLow, outsideDistance } from '../../streams/sim-replay.js';
import { JOINT_COUNT, type Side } from '../../streams/skeleton.js';
import type { Assessment } from '../../streams/types.js';
import { joint } from '../../streams/vec3.js';
import { angleAt, phaseFrames } from './quantities.js';
import type { PlanningSession } from './session.js';

export interface Criterion {
  readonly id: string;
  readonly label: string;
  readonly unit: string;
  readonly threshold: number;
  readonly source: string;
  /** Worst margin over the frames (≥ 0 passes); NaN when no frame applies. */
  margin(s: PlanningSession, joints: Float32Array, frames: readonly number[]): number;
}

const G = 9.81;
const frameOf = (j: Float32Array, i: number): Float32Array => j.subarray(i * JOINT_COUNT * 3, (i + 1) * JOINT_COUNT * 3);
const minOf = (v: readonly number[]): number => {
  const f = v.filter(Number.isFinite);
  return f.length ? Math.min(...f) : NaN;
};

function supportPolygon(s: PlanningSession, j: Float32Array, i: number): [number, number][] {
  const f = frameOf(j, i);
  const pts: [number, number][] = [];
  for (const side of ['left', 'right'] as const) {
    if (!(s.contacts[i]?.[side] ?? footLow(j, i, side) < 0.05)) continue;
    const heel = joint(f, `${side}_heel`) ?? joint(f, `${side}_ankle`);
    const toe = joint(f, `${side}_toe`);
    for (const p of [heel, toe, joint(f, `${side}_ankle`)]) if (p) pts.push([p[0], p[2]]);
    if (heel && toe) {
      const len = Math.hypot(toe[0] - heel[0], toe[2] - heel[2]);
      if (len > 1e-3)
        for (const p of [heel, toe])
          for (const sg of [-1, 1])
            pts.push([p[0] - (sg * FOOT_HALF_WIDTH_M * (toe[2] - heel[2])) / len, p[2] + (sg * FOOT_HALF_WIDTH_M * (toe[0] - heel[0])) / len]);
    }
  }
  return convexHull(pts);
}

/** Margin of the (extrapolated) CoM inside the base of support: −(signed outside distance). */
function comMargin(s: PlanningSession, j: Float32Array, i: number, extrapolate: boolean): number {
  const poly = supportPolygon(s, j, i);
  const com = centreOfMass(frameOf(j, i)).position;
  if (!com || poly.length < 3) return NaN;
  let [x, z] = [com[0], com[2]];
  if (extrapolate && i > 0) {
    const prev = centreOfMass(frameOf(j, i - 1)).position;
    const dt = s.t[i]! - s.t[i - 1]!;
    if (prev && dt > 0 && com[1] > 0) {
      const w0 = Math.sqrt(G / com[1]);
      x += (com[0] - prev[0]) / dt / w0;
      z += (com[2] - prev[2]) / dt / w0;
    }
  }
  return -outsideDistance(poly, x, z);
}

const swingClearance: Criterion = {
  id: 'swing_clearance',
  label: 'Swing-foot clearance ≥ 0.5 cm',
  unit: 'm',
  threshold: 0.005,
  source: 'Winter 1992 (Phys Ther 72:45–53); Begg et al. 2007 (Gait Posture 25:191–198)',
  margin: (s, j, frames) =>
    minOf(frames.flatMap((i) => (['left', 'right'] as Side[]).filter((sd) => s.gait[i]![sd] === 'swing').map((sd) => footLow(j, i, sd) - 0.005))),
};

const midstanceKnee: Criterion = {
  id: 'midstance_knee',
  label: 'Mid-stance knee flexion ≤ 30°',
  unit: 'deg',
  threshold: 30,
  source: 'Perry & Burnfield 2010 (Gait Analysis, 2nd ed.); Rodda & Graham 2001 (Eur J Neurol 8 s5:98–108)',
  margin: (s, j, frames) => {
    const inFrames = new Set(frames);
    const v: number[] = [];
    for (const sd of ['left', 'right'] as const)
      for (const i of phaseFrames(s, 'mid_stance', sd)) if (inFrames.has(i)) v.push(30 - angleAt(j, i, sd === 'left' ? 'knee_flexion_l' : 'knee_flexion_r'));
    return minOf(v);
  },
};

const heelContact: Criterion = {
  id: 'heel_contact',
  label: 'Heels within 3 cm of the floor',
  unit: 'm',
  threshold: 0.03,
  source: 'Clark & Lucett 2011 (NASM Essentials of Corrective Exercise Training), overhead squat assessment',
  margin: (_s, j, frames) =>
    minOf(
      frames.flatMap((i) =>
        (['left_heel', 'right_heel'] as const).map((n) => {
          const p = joint(frameOf(j, i), n);
          return p ? 0.03 - p[1] : NaN;
        }),
      ),
    ),
};

const trunkLean: Criterion = {
  id: 'trunk_lean',
  label: 'Trunk within 45° of vertical',
  unit: 'deg',
  threshold: 45,
  source: 'Clark & Lucett 2011 (NASM), overhead squat assessment: excessive forward lean',
  margin: (_s, j, frames) =>
    minOf(
      frames.map((i) => {
        const r = joint(frameOf(j, i), 'root');
        const n = joint(frameOf(j, i), 'neck') ?? joint(frameOf(j, i), 'chest');
        if (!r || !n) return NaN;
        const lean = (Math.atan2(Math.hypot(n[0] - r[0], n[2] - r[2]), n[1] - r[1]) * 180) / Math.PI;
        return 45 - lean;
      }),
    ),
};

const comOverFeet = (phases: readonly string[] | null): Criterion => ({
  id: 'com_over_feet',
  label: 'Centre of mass over the base of support',
  unit: 'm',
  threshold: 0,
  source: 'Pai & Patton 1997 (J Biomech 30:347–354); Schenkman et al. 1990 (Phys Ther 70:638–648)',
  margin: (s, j, frames) => minOf(frames.filter((i) => phases === null || phases.includes(s.phase[i]!)).map((i) => comMargin(s, j, i, false))),
});

const kneeSymmetry: Criterion = {
  id: 'knee_symmetry',
  label: 'Left–right knee flexion within 15° while rising',
  unit: 'deg',
  threshold: 15,
  source: 'Lomaglio & Eng 2005 (Gait Posture 22:126–131)',
  margin: (s, j, frames) =>
    minOf(frames.filter((i) => s.phase[i] === 'rising').map((i) => 15 - Math.abs(angleAt(j, i, 'knee_flexion_l') - angleAt(j, i, 'knee_flexion_r')))),
};

const xcomInside: Criterion = {
  id: 'xcom_inside_bos',
  label: 'Extrapolated CoM inside the base of support',
  unit: 'm',
  threshold: 0,
  source: 'Hof, Gazendam & Sinke 2005 (J Biomech 38:1–8)',
  margin: (s, j, frames) => minOf(frames.map((i) => comMargin(s, j, i, true))),
};

export const CRITERIA: Readonly<Record<Assessment, readonly Criterion[]>> = {
  gait: [swingClearance, midstanceKnee],
  squat: [heelContact, trunkLean, comOverFeet(null)],
  sit_to_stand: [comOverFeet(['rising', 'standing']), kneeSymmetry],
  balance: [xcomInside],
};

export interface CriterionResult {
  readonly id: string;
  readonly margin: number | null;
  readonly passed: boolean;
}

/** Every criterion of the assessment on frames of a track; a criterion with no applicable frame passes (nothing to judge). */
export function judge(s: PlanningSession, joints: Float32Array, frames: readonly number[]): CriterionResult[] {
  return CRITERIA[s.assessment].map((c) => {
    const m = c.margin(s, joints, frames);
    return { id: c.id, margin: Number.isFinite(m) ? m : null, passed: !(m < 0) };
  });
}
