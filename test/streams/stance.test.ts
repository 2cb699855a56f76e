import { describe, expect, it } from 'vitest';
import type { FootState } from '../../streams/contacts.js';
import { type StanceType, classifyStance, stanceTracker } from '../../streams/stance.js';
import type { Vec3 } from '../../streams/vec3.js';
import { RIGHT_FOOT, type V3, moved, pose } from './synthetic.js';

const foot = (height: number): FootState => ({
  contact: height < 0.04,
  height,
  toeHeight: height,
  heelHeight: height,
  speed: 0,
  heelRel: 0,
  toeRel: 0,
  rootSpeed: 0,
});
const FWD: Vec3 = [0, 0, 1];

/** A frame for the classifier: feet at the given heights, the right foot shifted by `rightAt` (x, z). */
function input(hl: number, hr: number, rightAt: [number, number] = [0, 0]) {
  const joints = pose({ joints: moved(RIGHT_FOOT, [rightAt[0], 0, rightAt[1]] as V3) });
  return { feet: { left: foot(hl), right: foot(hr) }, joints, heading: FWD };
}

describe('stance', () => {
  it('classifies side-by-side, tandem, semi-tandem, single-leg and no support from the feet', () => {
    expect(classifyStance(input(0, 0))).toBe('double');
    // Tandem: right heel at the left toe, in line (SPPB). Left foot centre x = 0.09, right x = −0.09.
    expect(classifyStance(input(0, 0, [0.18, 0.2]))).toBe('tandem');
    expect(classifyStance(input(0, 0, [0.09, 0.2]))).toBe('tandem');
    // Semi-tandem (heel beside the big toe, 12 cm ahead) is reported as double stance.
    expect(classifyStance(input(0, 0, [0.09, 0.12]))).toBe('double');
    // The same offset across the facing is side-by-side, whatever the heading.
    expect(classifyStance({ ...input(0, 0, [0.18, 0.2]), heading: [1, 0, 0] })).toBe('double');
    expect(classifyStance(input(0, 0.2))).toBe('single_left');
    expect(classifyStance(input(0.2, 0))).toBe('single_right');
    // A depth sensor's planted foot 6 cm up while the other is 30 cm up: still single-leg stance.
    expect(classifyStance(input(0.06, 0.3))).toBe('single_left');
    // Both feet 4 cm apart in height: both on the floor.
    expect(classifyStance(input(0.0, 0.04))).toBe('double');
    expect(classifyStance(input(0.3, 0.3))).toBe('none');
    expect(classifyStance(input(NaN, NaN))).toBe('none');
  });

  it('commits a change only after it held 0.1 s, dated to its first frame; shorter flickers are ignored', () => {
    const track = stanceTracker();
    const heights = (t: number): [number, number] => (t >= 1 && t < 1.05 ? [0, 0.2] : t >= 2 && t < 3 ? [0, 0.2] : [0, 0]);
    const out: { t: number; stance: StanceType; change: ReturnType<typeof track>['change'] }[] = [];
    for (let k = 0; k <= 4 * 60; k++) {
      const t = k / 60;
      const [hl, hr] = heights(t);
      out.push({ t, ...track({ ...input(hl, hr), t }) });
    }
    const changes = out.filter((o) => o.change).map((o) => o.change!);
    expect(changes.map((c) => [c.from, c.to])).toEqual([
      ['double', 'single_left'],
      ['single_left', 'double'],
    ]);
    expect(changes[0]!.t).toBeCloseTo(2, 9);
    expect(changes[1]!.t).toBeCloseTo(3, 9);
    expect(out.find((o) => o.change)!.t).toBeCloseTo(2.1, 9);
    expect(out.filter((o) => o.t > 1 && o.t < 1.2).every((o) => o.stance === 'double')).toBe(true);
  });
});
