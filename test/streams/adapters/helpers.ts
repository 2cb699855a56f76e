// Measurements on Recordings used across the adapter tests.
import { JOINT_INDEX, type JointName } from '../../../streams/skeleton.js';
import type { Recording } from '../../../streams/types.js';

export const pos = (rec: Recording, frame: number, joint: JointName): [number, number, number] => {
  const j = rec.frames[frame]?.joints;
  const o = JOINT_INDEX[joint] * 3;
  return [j?.[o] ?? NaN, j?.[o + 1] ?? NaN, j?.[o + 2] ?? NaN];
};

export function median(values: number[]): number {
  const v = values.filter(Number.isFinite).sort((a, b) => a - b);
  return v[v.length >> 1] ?? NaN;
}

/** Median distance between two joints over the frames where both exist. */
export function segment(rec: Recording, a: JointName, b: JointName): number {
  return median(
    rec.frames.map((_, i) => {
      const p = pos(rec, i, a);
      const q = pos(rec, i, b);
      return Math.hypot(p[0] - q[0], p[1] - q[1], p[2] - q[2]);
    }),
  );
}

/** Median of one coordinate of one joint over all frames. */
export const medianCoord = (rec: Recording, joint: JointName, axis: 0 | 1 | 2): number => median(rec.frames.map((_, i) => pos(rec, i, joint)[axis]));

export const count = (rec: Recording, type: string, side: string): number => rec.meta.annotations.filter((a) => a.type === type && a.side === side).length;
