// Running plausibility checks of the aligned frames (stage 1): feet clearance, gravity direction, scale.
import type { HeightHistogram } from './height-histogram.js';
import { JOINT_INDEX, type JointName } from './skeleton.js';

export interface QualityCheck {
  readonly name: string;
  readonly passed: boolean;
  readonly value: number;
}

export const QUALITY_LIMITS = {
  /** Robust lowest foot point (1st percentile) may be at most this far below the floor (m). */
  minClearanceM: -0.03,
  clearanceQuantile: 0.01,
  /** Plausible adult thigh (hip→knee) and shank (knee→ankle) lengths in metres. */
  segmentM: [0.25, 0.65] as const,
  /** Root at least this far above the feet on average (m), else gravity is inverted or scale is off. */
  minRootAboveFeetM: 0.3,
} as const;

class Mean {
  sum = 0;
  n = 0;
  add(v: number): void {
    if (Number.isFinite(v)) {
      this.sum += v;
      this.n += 1;
    }
  }
  get value(): number {
    return this.n > 0 ? this.sum / this.n : NaN;
  }
}

// add() runs every frame: joints are read by index (no tuple per joint), same arithmetic as joint()/dist().
const finite3 = (j: Float32Array, i: number): boolean => Number.isFinite(j[i]) && Number.isFinite(j[i + 1]) && Number.isFinite(j[i + 2]);
const at = (names: readonly JointName[]): readonly number[] => names.map((n) => 3 * JOINT_INDEX[n]);

/** Height (y) of the first present joint of `at`, else NaN. */
const heightOf = (j: Float32Array, idx: readonly number[]): number => {
  for (const i of idx) if (finite3(j, i)) return j[i + 1]!;
  return NaN;
};

const segment = (j: Float32Array, a: number, b: number): number =>
  finite3(j, a) && finite3(j, b) ? Math.hypot(j[a]! - j[b]!, j[a + 1]! - j[b + 1]!, j[a + 2]! - j[b + 2]!) : NaN;

const UPPER = at(['head', 'neck', 'chest']);
const ROOT = at(['root']);
const FEET = at(['left_ankle', 'right_ankle', 'left_heel', 'right_heel']);
const [L_HIP, L_KNEE, L_ANKLE, R_HIP, R_KNEE, R_ANKLE] = at(['left_hip', 'left_knee', 'left_ankle', 'right_hip', 'right_knee', 'right_ankle']) as [
  number,
  number,
  number,
  number,
  number,
  number,
];

/** Accumulates world-frame frames; `checks()` reports the current state of every measurable check. */
export class QualityTracker {
  private readonly upper = new Mean();
  private readonly root = new Mean();
  private readonly feet = new Mean();
  private readonly thigh = new Mean();
  private readonly shank = new Mean();

  add(world: Float32Array): void {
    this.upper.add(heightOf(world, UPPER));
    this.root.add(heightOf(world, ROOT));
    this.feet.add(heightOf(world, FEET));
    this.thigh.add(segment(world, L_HIP, L_KNEE));
    this.thigh.add(segment(world, R_HIP, R_KNEE));
    this.shank.add(segment(world, L_KNEE, L_ANKLE));
    this.shank.add(segment(world, R_KNEE, R_ANKLE));
  }

  /** `feet` holds the lowest foot point per frame in the source frame; `floorY` the floor there. */
  checks(feet: HeightHistogram, floorY: number): QualityCheck[] {
    const out: QualityCheck[] = [];
    if (feet.count > 0) {
      const clearance = feet.quantile(QUALITY_LIMITS.clearanceQuantile) - floorY;
      out.push({ name: 'feet_clearance_p1_m', passed: clearance >= QUALITY_LIMITS.minClearanceM, value: clearance });
    }
    const rootAbove = this.root.value - this.feet.value;
    if (Number.isFinite(rootAbove)) {
      const upperOk = !(this.upper.n > 0) || this.upper.value > this.root.value;
      out.push({ name: 'gravity_root_above_feet_m', passed: upperOk && rootAbove >= QUALITY_LIMITS.minRootAboveFeetM, value: rootAbove });
    }
    const [lo, hi] = QUALITY_LIMITS.segmentM;
    for (const [name, m] of [
      ['thigh_length_m', this.thigh],
      ['shank_length_m', this.shank],
    ] as const) {
      if (m.n > 0) out.push({ name, passed: m.value >= lo && m.value <= hi, value: m.value });
    }
    return out;
  }
}
