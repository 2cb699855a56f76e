// Steps outside gait: a foot that left the floor and came down somewhere else.
//
// In gait analysis a step is a foot's initial contact after a swing, the foot landing ahead of where it
// left (Perry & Burnfield, Gait Analysis, 2nd ed. 2010, ch. 1: step = initial contact of one foot to
// initial contact of the other). Outside walking, a foot that lifts and lands again at the same place
// is not a step: a leg raise, a heel rise in a squat, or a depth sensor briefly losing a planted foot.
// What balance assessments count is a change-in-support reaction: a foot placed at a new position
// (Maki & McIlroy 1997, Phys Ther 77(5):488–507, "stepping" vs fixed-support reactions).
// Rule: a touch-down counts as a foot repositioning when the foot's centre on the floor plane (stance.ts
// footCentre), averaged over the first SETTLE_S of the new contact, is more than REPOSITION_M from its
// centre averaged over the last contact (up to ANCHOR_S before lift-off). 0.15 m: above the largest
// apparent move of a planted foot in the shared Kinect recordings (13.6 cm on UI-PRMD m05 s01 _inc,
// where the sensor loses the feet under the thighs), about half a foot length; stepping responses place
// the foot over a range of about 20 cm (Hof et al. 2010, J Exp Biol 213:2655–2664), so the smallest
// ones are missed: with this sensor noise they cannot be told from a lost foot. A touch-down with no earlier
// contact (the recording started with the foot up) is not counted: there is nothing to compare with.
// The decision is made SETTLE_S after the touch-down (or at the next lift-off if sooner), dated to the
// touch-down.
import type { GaitEvent } from './contacts.js';
import type { Side } from './skeleton.js';
import { footCentre } from './stance.js';

export const REPOSITION_M = 0.15;
export const SETTLE_S = 0.25;
export const ANCHOR_S = 0.5;

export interface FootRepositioning {
  readonly side: Side;
  /** Touch-down time (s). */
  readonly t: number;
  /** Distance between the lift-off and touch-down positions on the floor plane (m). */
  readonly displacement_m: number;
}

interface SideState {
  /** Running sum of the foot centre over the current contact (last ANCHOR_S only for the anchor). */
  points: { t: number; x: number; z: number }[];
  /** Where the foot was before its last lift-off. */
  anchor: [number, number] | null;
  /** Touch-down time awaiting its decision. */
  touchDown: number;
  wasContact: boolean | null;
}

const meanOf = (pts: readonly { x: number; z: number }[]): [number, number] | null => {
  if (!pts.length) return null;
  let x = 0;
  let z = 0;
  for (const p of pts) {
    x += p.x;
    z += p.z;
  }
  return [x / pts.length, z / pts.length];
};

/** One call per frame; returns the repositionings decided at this frame. */
export function footRepositionings(): (f: {
  readonly t: number;
  readonly joints: Float32Array;
  readonly contacts: Readonly<Record<Side, boolean>>;
  readonly events: readonly GaitEvent[];
}) => FootRepositioning[] {
  const side0 = (): SideState => ({ points: [], anchor: null, touchDown: NaN, wasContact: null });
  const st: Record<Side, SideState> = { left: side0(), right: side0() };
  return (f) => {
    const out: FootRepositioning[] = [];
    for (const side of ['left', 'right'] as const) {
      const s = st[side];
      const c = f.contacts[side];
      const strike = f.events.find((e) => e.side === side && e.type === 'heel_strike');
      if (c && s.wasContact === false) {
        s.points = [];
        s.touchDown = strike ? strike.t : f.t;
      }
      const p = footCentre(f.joints, side);
      if (c && p) {
        s.points.push({ t: f.t, x: p[0], z: p[1] });
        // Keep only what the anchor (last ANCHOR_S) or the pending decision (first SETTLE_S) needs.
        const keepFrom = Number.isFinite(s.touchDown) ? -Infinity : f.t - ANCHOR_S;
        while (s.points.length && (s.points[0]?.t ?? Infinity) < keepFrom) s.points.shift();
      }
      const decide = Number.isFinite(s.touchDown) && (!c || f.t - s.touchDown >= SETTLE_S - 1e-9);
      if (decide) {
        const landed = meanOf(s.points);
        if (landed && s.anchor) {
          const d = Math.hypot(landed[0] - s.anchor[0], landed[1] - s.anchor[1]);
          if (d > REPOSITION_M) out.push({ side, t: s.touchDown, displacement_m: d });
        }
        s.touchDown = NaN;
      }
      if (!c && s.wasContact) {
        s.anchor = meanOf(s.points) ?? s.anchor;
        s.points = [];
      }
      s.wasContact = c;
    }
    return out;
  };
}
