// The dashboard's drawing helpers (plain JS, no build step) checked from Node.
import { describe, expect, it } from 'vitest';
import { JOINT_INDEX, JOINTS, PARENT, type JointName } from '../../streams/skeleton.js';

interface Draw {
  JOINTS: string[];
  PARENT: Record<string, string | null>;
  viewDirection(joints: Float32Array, roots: [number, number][], previous?: [number, number]): [number, number];
}
const load = async (): Promise<Draw> => {
  const path = '../../clients/dashboard/draw.js';
  return (await import(path)) as Draw;
};

/** A standing pose facing +x: left hip at z = −0.1, right at +0.1, toes ahead of the ankles. */
function pose(facing: 1 | -1): Float32Array {
  const j = new Float32Array(60);
  const set = (n: JointName, x: number, y: number, z: number) => j.set([x, y, z], JOINT_INDEX[n] * 3);
  set('left_hip', 0, 0.9, -0.1 * facing);
  set('right_hip', 0, 0.9, 0.1 * facing);
  set('left_ankle', 0, 0.08, -0.1 * facing);
  set('right_ankle', 0, 0.08, 0.1 * facing);
  set('left_toe', 0.15 * facing, 0.02, -0.1 * facing);
  set('right_toe', 0.15 * facing, 0.02, 0.1 * facing);
  return j;
}

describe('dashboard draw.js', () => {
  it('keeps the same skeleton as streams/skeleton.ts (the page cannot import TypeScript)', async () => {
    const draw = await load();
    expect(draw.JOINTS).toEqual([...JOINTS]);
    expect(draw.PARENT).toEqual(PARENT);
  });

  it('views from the side: the axis is the body forward direction, signed by the feet', async () => {
    const { viewDirection } = await load();
    const [x, z] = viewDirection(pose(1), []);
    expect(x).toBeCloseTo(1, 6);
    expect(Math.abs(z)).toBeLessThan(1e-6);
    const [bx] = viewDirection(pose(-1), []);
    expect(bx).toBeCloseTo(-1, 6);
  });

  it('smooths towards a new heading instead of jumping, and keeps the view when hips are missing', async () => {
    const { viewDirection } = await load();
    const turned = viewDirection(pose(1), [], [0, 1]);
    expect(turned[1]).toBeGreaterThan(0.9);
    expect(Math.hypot(...turned)).toBeCloseTo(1, 6);
    expect(viewDirection(new Float32Array(60).fill(Number.NaN), [], [0.6, 0.8])).toEqual([0.6, 0.8]);
  });
});
