/**
 * The clinical quantities planning can be asked to change, and that every plan reports, computed on a
 * world pose track (observed or counterfactual) by one code path, so a predicted change is always
 * "the same measurement on the other trajectory".
 *
 * - knee_flexion_{l,r}, hip_flexion_{l,r} (deg): streams/physical-state.ts jointAngles (knee: 180° − the
 *   hip–knee–ankle angle; hip: thigh against the trunk axis in the sagittal plane), mean over the phase's
 *   frames.
 * - squat_depth (m): standing pelvis height above the lower foot (95th percentile over the session) minus
 *   the mean pelvis height above the lower foot in the 'bottom' phase; the pelvis-to-foot distance is what
 *   a root-relative pose keeps, and on a flat floor it equals the root drop the metrics report.
 * - step_time_asymmetry (%): 200·|L − R| / (L + R) of the mean step times (metrics.ts), with heel strikes
 *   timed where the foot's lowest point falls through STRIKE_HEIGHT_M (the contact threshold of
 *   streams/contacts.ts) within ±STRIKE_SEARCH frames of each observed contact onset, interpolated
 *   between frames.
 * - sway (m): RMS horizontal distance of the centre of mass (de Leva 1996 segment model) from the midpoint
 *   of the ankles over the phase — the CoM–base-of-support offset that bounds stability (Winter 1995,
 *   Gait & Posture 3(4):193–214), measurable on root-relative poses.
 *
 * Phases: 'mid_stance' is the first half of each single-limb-support run of the quantity's side (Perry &
 * Burnfield 2010, Gait Analysis, 2nd ed.: mid-stance ≈ 10–30 % of the cycle, terminal stance 30–50 %,
 * together single-limb support); 'stance'/'swing' per side from the contacts; any stage-3 phase name
 * ('bottom', 'rising', 'static', …); 'all' for every frame.
 */
import { centreOfMass } from '../../streams/body-model.js';
import { hipFlexion, kneeFlexion } from '../../streams/physical-state.js';
import { footLow } from '../../streams/sim-replay.js';
import { JOINT_COUNT, type Side } from '../../streams/skeleton.js';
import { joint, pelvisFacing } from '../../streams/vec3.js';
import { sessionDerived, type PlanningSession } from './session.js';

export const QUANTITIES = ['knee_flexion_l', 'knee_flexion_r', 'hip_flexion_l', 'hip_flexion_r', 'squat_depth', 'step_time_asymmetry', 'sway'] as const;
export type Quantity = (typeof QUANTITIES)[number];

export const QUANTITY_INFO: Readonly<Record<Quantity, { unit: string; label: string; definition: string }>> = {
  knee_flexion_l: { unit: 'deg', label: 'Left knee flexion', definition: '180° − hip–knee–ankle angle, mean over the phase' },
  knee_flexion_r: { unit: 'deg', label: 'Right knee flexion', definition: '180° − hip–knee–ankle angle, mean over the phase' },
  hip_flexion_l: { unit: 'deg', label: 'Left hip flexion', definition: 'thigh against the trunk axis in the sagittal plane, mean over the phase' },
  hip_flexion_r: { unit: 'deg', label: 'Right hip flexion', definition: 'thigh against the trunk axis in the sagittal plane, mean over the phase' },
  squat_depth: { unit: 'm', label: 'Squat depth', definition: 'standing pelvis-above-foot height minus that at the bottom of the squat' },
  step_time_asymmetry: { unit: '%', label: 'Step-time asymmetry', definition: '200·|L − R|/(L + R) of mean step times (metrics.ts)' },
  sway: { unit: 'm', label: 'Sway (CoM–feet offset)', definition: 'RMS horizontal distance of the CoM from the ankles’ midpoint' },
};

export const STRIKE_HEIGHT_M = 0.04;
export const STRIKE_SEARCH = 10;

export const sideOf = (q: Quantity): Side | null => (q.endsWith('_l') ? 'left' : q.endsWith('_r') ? 'right' : null);

/** Frames of a phase for a side (null side: either side's mid-stance/stance/swing). */
export function phaseFrames(s: PlanningSession, phase: string, side: Side | null): number[] {
  const T = s.t.length;
  const sides: Side[] = side ? [side] : ['left', 'right'];
  if (phase === 'all') return Array.from({ length: T }, (_, i) => i);
  if (phase === 'stance' || phase === 'swing') return range(T).filter((i) => sides.some((sd) => s.gait[i]![sd] === phase));
  if (phase === 'mid_stance') {
    const out = new Set<number>();
    for (const sd of sides) {
      const other: Side = sd === 'left' ? 'right' : 'left';
      let start = -1;
      for (let i = 0; i <= T; i++) {
        const single = i < T && s.gait[i]![sd] === 'stance' && s.gait[i]![other] === 'swing';
        if (single && start < 0) start = i;
        if (!single && start >= 0) {
          const end = start + Math.max(1, Math.ceil((i - start) / 2));
          for (let k = start; k < end; k++) out.add(k);
          start = -1;
        }
      }
    }
    return [...out].sort((a, b) => a - b);
  }
  return range(T).filter((i) => s.phase[i] === phase);
}

const range = (n: number): number[] => Array.from({ length: n }, (_, i) => i);

/** The phase a quantity is read in when the goal names none. */
export function defaultPhase(q: Quantity, s: PlanningSession): string {
  if (q === 'squat_depth') return 'bottom';
  if (q === 'step_time_asymmetry' || q === 'sway') return 'all';
  return s.assessment === 'gait' ? 'mid_stance' : s.assessment === 'squat' ? 'bottom' : s.assessment === 'sit_to_stand' ? 'rising' : 'all';
}

const frameOf = (joints: Float32Array, i: number): Float32Array => joints.subarray(i * JOINT_COUNT * 3, (i + 1) * JOINT_COUNT * 3);

/** One of jointAngles' angles (the same functions; only the one asked for is computed). */
export function angleAt(joints: Float32Array, i: number, q: 'knee_flexion_l' | 'knee_flexion_r' | 'hip_flexion_l' | 'hip_flexion_r'): number {
  const f = frameOf(joints, i);
  const side: Side = q.endsWith('_l') ? 'left' : 'right';
  return q.startsWith('knee') ? kneeFlexion(f, side) : hipFlexion(f, side, pelvisFacing(f) ?? [0, 0, 1]);
}

/** Pelvis height above the lower foot's lowest point (m). */
export function pelvisAboveFoot(joints: Float32Array, i: number): number {
  const root = joint(frameOf(joints, i), 'root');
  const low = Math.min(footLow(joints, i, 'left'), footLow(joints, i, 'right'));
  return root && Number.isFinite(low) ? root[1] - low : NaN;
}

export function swayAt(joints: Float32Array, i: number): number {
  const f = frameOf(joints, i);
  const com = centreOfMass(f).position;
  const l = joint(f, 'left_ankle');
  const r = joint(f, 'right_ankle');
  return com && l && r ? Math.hypot(com[0] - (l[0] + r[0]) / 2, com[2] - (l[2] + r[2]) / 2) : NaN;
}

const meanOf = (v: readonly number[]): number => {
  const f = v.filter(Number.isFinite);
  return f.length ? f.reduce((a, b) => a + b, 0) / f.length : NaN;
};

/** Observed contact onsets per side (the strikes whose timing the asymmetry re-measures); computed once per session. */
export function contactOnsets(s: PlanningSession): Readonly<Record<Side, readonly number[]>> {
  return sessionDerived(s, 'contactOnsets', () => {
    const out: Record<Side, number[]> = { left: [], right: [] };
    for (let i = 1; i < s.t.length; i++) for (const sd of ['left', 'right'] as const) if (s.contacts[i]![sd] && !s.contacts[i - 1]![sd]) out[sd].push(i);
    return out;
  });
}

/** Strike time near an observed onset on a track: the downward crossing of STRIKE_HEIGHT_M, interpolated. */
function strikeTime(s: PlanningSession, joints: Float32Array, onset: number, side: Side): number {
  const T = s.t.length;
  let best = NaN;
  for (let i = Math.max(1, onset - STRIKE_SEARCH); i <= Math.min(T - 1, onset + STRIKE_SEARCH); i++) {
    const a = footLow(joints, i - 1, side);
    const b = footLow(joints, i, side);
    if (a >= STRIKE_HEIGHT_M && b < STRIKE_HEIGHT_M) {
      const u = (a - STRIKE_HEIGHT_M) / (a - b);
      const ti = s.t[i - 1]! + u * (s.t[i]! - s.t[i - 1]!);
      if (!Number.isFinite(best) || Math.abs(i - onset) < Math.abs(best - onset)) best = ti;
    }
  }
  return Number.isFinite(best) ? best : s.t[onset]!;
}

/** Frames the step-time asymmetry depends on (around each observed onset). */
export function strikeFrames(s: PlanningSession): number[] {
  const on = contactOnsets(s);
  const set = new Set<number>();
  for (const sd of ['left', 'right'] as const)
    for (const o of on[sd]) for (let i = Math.max(0, o - STRIKE_SEARCH - 1); i <= Math.min(s.t.length - 1, o + STRIKE_SEARCH); i++) set.add(i);
  return [...set].sort((a, b) => a - b);
}

export function stepTimeAsymmetry(s: PlanningSession, joints: Float32Array): number {
  const on = contactOnsets(s);
  const strikes = (['left', 'right'] as const).flatMap((sd) => on[sd].map((o) => ({ side: sd, t: strikeTime(s, joints, o, sd) }))).sort((a, b) => a.t - b.t);
  const steps: Record<Side, number[]> = { left: [], right: [] };
  for (let k = 1; k < strikes.length; k++) {
    const cur = strikes[k]!;
    const prev = strikes[k - 1]!;
    if (cur.side !== prev.side) steps[cur.side].push(cur.t - prev.t);
  }
  const l = meanOf(steps.left);
  const r = meanOf(steps.right);
  return Number.isFinite(l) && Number.isFinite(r) && l + r > 0 ? (200 * Math.abs(l - r)) / (l + r) : NaN;
}

/** Standing pelvis-above-foot height of the observed session (95th percentile); computed once per session. */
export function standingPelvisHeight(s: PlanningSession): number {
  return sessionDerived(s, 'standingPelvisHeight', () => {
    const v = range(s.t.length)
      .map((i) => pelvisAboveFoot(s.joints, i))
      .filter(Number.isFinite)
      .sort((a, b) => a - b);
    return v.length ? v[Math.min(v.length - 1, Math.floor(0.95 * v.length))]! : NaN;
  });
}

/** A quantity on a track over the given frames (the track holds all T frames; only `frames` are read, except for the asymmetry). */
export function quantityOn(s: PlanningSession, joints: Float32Array, q: Quantity, frames: readonly number[], standing = standingPelvisHeight(s)): number {
  switch (q) {
    case 'knee_flexion_l':
    case 'knee_flexion_r':
    case 'hip_flexion_l':
    case 'hip_flexion_r':
      return meanOf(frames.map((i) => angleAt(joints, i, q)));
    case 'squat_depth':
      return standing - meanOf(frames.map((i) => pelvisAboveFoot(joints, i)));
    case 'sway':
      return Math.sqrt(meanOf(frames.map((i) => swayAt(joints, i) ** 2)));
    case 'step_time_asymmetry':
      return stepTimeAsymmetry(s, joints);
  }
}

/** Quantities that mean something for an assessment (what a plan reports). */
export function quantitiesFor(s: PlanningSession): Quantity[] {
  const angles: Quantity[] = ['knee_flexion_l', 'knee_flexion_r', 'hip_flexion_l', 'hip_flexion_r'];
  if (s.assessment === 'gait') return [...angles, 'step_time_asymmetry'];
  if (s.assessment === 'squat') return [...angles, 'squat_depth'];
  if (s.assessment === 'balance') return [...angles, 'sway'];
  return angles;
}
