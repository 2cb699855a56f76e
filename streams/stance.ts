// Stance type from the feet: which feet carry the body and how they are placed. Used live (phases.ts
// commits the stance per frame; metrics.ts adds up the time in each stance and the single-leg bouts).
//
// Stance types are those of the clinical standing-balance tests: side-by-side ('double'), tandem and
// single-leg. SPPB (Guralnik et al. 1994, J Gerontol 49(2):M85–M94): side-by-side, semi-tandem (heel of
// one foot beside the big toe of the other) and tandem (heel of one foot directly in front of the toes
// of the other). Semi-tandem is not told apart from side-by-side here: its 10–12 cm offset is within what
// the foot centres of a noisy sensor wander.
// Single-leg stance follows the unipedal stance test (Springer et al. 2007, J Geriatr Phys Ther
// 30(1):8–15): it starts when one foot leaves the floor and ends when that foot touches down, or when
// the stance foot moves (here: it no longer supports either).
//
// A foot supports the body when it is below SUPPORT_MAX_M and not LIFT_M higher than the other foot
// (lowest of heel, toe, ankle above the floor, as contacts.ts measures it). Heights, not the contact
// flags: a depth sensor such as the Kinect puts a planted foot 5–6 cm up (and jittering at 0.4 m/s) while
// the other leg is raised, so the contact rule (< 5 cm and slow) loses the stance foot (UI-PRMD m06).
// A foot is lifted once it is LIFT_M above the other: the 5 cm the UI-PRMD README uses to time
// single-leg stance on its Vicon files. Both feet above SUPPORT_MAX_M: no support (a jump, lost feet).
// Tandem: both feet support, their centres (mean of heel, toe, ankle on the floor plane) are
// ≥ TANDEM_AP_M apart along the body's facing and ≤ TANDEM_ML_M apart across it.
// A change of stance must hold for STANCE_MIN_S before it is committed, and is then dated to its first
// frame (the same rule as contacts), so the type lags by STANCE_MIN_S but the times do not.
import type { ContactFrame } from './contacts.js';
import type { Side } from './skeleton.js';
import { joint } from './vec3.js';

export const STANCE_TYPES = ['double', 'tandem', 'single_left', 'single_right', 'none'] as const;
export type StanceType = (typeof STANCE_TYPES)[number];

export const LIFT_M = 0.05;
export const SUPPORT_MAX_M = 0.15;
export const TANDEM_AP_M = 0.15;
export const TANDEM_ML_M = 0.1;
export const STANCE_MIN_S = 0.1;

/** Centre of a foot on the floor plane (x, z): mean of its available heel, toe and ankle; null if none. */
export function footCentre(joints: Float32Array, side: Side): [number, number] | null {
  let x = 0;
  let z = 0;
  let n = 0;
  for (const name of [`${side}_heel`, `${side}_toe`, `${side}_ankle`] as const) {
    const p = joint(joints, name);
    if (!p) continue;
    x += p[0];
    z += p[2];
    n += 1;
  }
  return n ? [x / n, z / n] : null;
}

type StanceInput = Pick<ContactFrame, 'feet' | 'joints' | 'heading'>;

const supports = (f: StanceInput, side: Side): boolean => {
  const h = f.feet[side].height;
  const other = f.feet[side === 'left' ? 'right' : 'left'].height;
  return h < SUPPORT_MAX_M && !(h - other >= LIFT_M);
};

/** Stance of one frame, without debouncing. */
export function classifyStance(f: StanceInput): StanceType {
  const left = supports(f, 'left');
  const right = supports(f, 'right');
  if (left && !right) return 'single_left';
  if (right && !left) return 'single_right';
  if (!left && !right) return 'none';
  const l = footCentre(f.joints, 'left');
  const r = footCentre(f.joints, 'right');
  if (!l || !r) return 'double';
  const dx = r[0] - l[0];
  const dz = r[1] - l[1];
  const ap = Math.abs(dx * f.heading[0] + dz * f.heading[2]);
  const ml = Math.abs(dx * f.heading[2] - dz * f.heading[0]);
  return ap >= TANDEM_AP_M && ml <= TANDEM_ML_M ? 'tandem' : 'double';
}

export interface StanceChange {
  readonly from: StanceType;
  readonly to: StanceType;
  /** Time of the first frame of the new stance (s). */
  readonly t: number;
}

/** Debounced stance, one call per frame: returns the committed stance and the change committed now. */
export function stanceTracker(): (f: StanceInput & { readonly t: number }) => { stance: StanceType; change: StanceChange | null } {
  let current: StanceType | null = null;
  let pending: StanceType | null = null;
  let pendingSince = NaN;
  return (f) => {
    const seen = classifyStance(f);
    if (current === null) {
      current = seen; // the stance at the first frame began before we looked: no change
      return { stance: current, change: null };
    }
    if (seen === current) {
      pending = null;
      return { stance: current, change: null };
    }
    if (seen !== pending) {
      pending = seen;
      pendingSince = f.t;
    }
    if (f.t - pendingSince < STANCE_MIN_S - 1e-9) return { stance: current, change: null };
    const change: StanceChange = { from: current, to: seen, t: pendingSince };
    current = seen;
    pending = null;
    return { stance: current, change };
  };
}
