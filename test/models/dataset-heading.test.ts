import { describe, expect, it } from 'vitest';
import { computeNormalization, createTransitionSampler, normalizeRows } from '../../models/dataset.js';
import type { FeatureSequence } from '../../models/types.js';

/** A subject turning slowly: heading angle 0.01·t rad, plus a ramp column and a 0/1 flag. */
function turningSequence(frames: number, flag: (t: number) => number = () => 1): FeatureSequence {
  const x = new Float32Array(frames * 4);
  for (let t = 0; t < frames; t++) {
    x.set([Math.sin(0.01 * t), Math.cos(0.01 * t), t / 10, flag(t)], t * 4);
  }
  return {
    names: ['heading_sin', 'heading_cos', 'ramp', 'avail_root'],
    x,
    t: Float64Array.from({ length: frames }, (_, i) => i / 60),
    poses: new Float32Array(frames * 60),
    source: { file: 'turning', sha256: '0'.repeat(64) },
  };
}

describe('normalisation of flags and directions', () => {
  it('floors a binary column at the binary floor, not the continuous one', () => {
    const n = computeNormalization([turningSequence(50)]);
    expect(n.std[3]).toBe(0.5);
    expect(n.mean[3]).toBe(1);
    // A joint every training rig had, missing at test time: −2 std, not −100.
    expect(normalizeRows(Float32Array.from([0, 1, 0, 0]), n)[3]).toBe(-2);
    const mixed = computeNormalization([turningSequence(40, (t) => (t % 2 === 0 ? 1 : 0))], { binaryStdFloor: 0.1 });
    expect(mixed.std[3]).toBeCloseTo(0.5, 6);
    expect(computeNormalization([turningSequence(50)], { binaryStdFloor: 0.25 }).std[3]).toBe(0.25);
  });

  it('normalises the heading as a direction on the circle unless told otherwise', () => {
    const n = computeNormalization([turningSequence(50)]);
    expect(Array.from(n.mean.slice(0, 2))).toEqual([0, 0]);
    expect(n.std[0]).toBeCloseTo(Math.SQRT1_2, 6);
    expect(n.std[1]).toBeCloseTo(Math.SQRT1_2, 6);
    const data = computeNormalization([turningSequence(50)], { circular: [] });
    expect(data.mean[1]).toBeGreaterThan(0.9);
    expect(data.std[0]).toBeLessThan(0.2);
  });
});

describe('heading augmentation', () => {
  const seq = turningSequence(300);
  const norm = computeNormalization([seq]);
  const raw = (row: Float32Array, o: number, j: number): number => row[o + j]! * norm.std[j]! + norm.mean[j]!;

  it('rotates x_t and x_{t+Δh} by one random angle per pair: turning kept, world direction lost', () => {
    const s = createTransitionSampler([seq], norm, { seed: 4, headingAugment: true });
    expect(s.headingAugment).toBe(true);
    const angles: number[] = [];
    for (const b of s.epoch(0, 64)) {
      for (let i = 0; i < b.size; i++) {
        const o = i * 4;
        const ax = Math.atan2(raw(b.x, o, 0), raw(b.x, o, 1));
        const ay = Math.atan2(raw(b.y, o, 0), raw(b.y, o, 1));
        expect(Math.hypot(raw(b.x, o, 0), raw(b.x, o, 1))).toBeCloseTo(1, 5);
        // Change of heading between the two frames = 0.01 rad per frame of Δh (mod 2π).
        const turn = Math.atan2(Math.sin(ay - ax), Math.cos(ay - ax));
        const expected = 0.01 * b.dh[i]!;
        expect(Math.atan2(Math.sin(turn - expected), Math.cos(turn - expected))).toBeCloseTo(0, 4);
        // Other columns untouched: the ramp still tells the frames apart by Δh.
        expect(raw(b.y, o, 2) - raw(b.x, o, 2)).toBeCloseTo(b.dh[i]! / 10, 3);
        expect(b.x[o + 3]).toBe(0);
        angles.push(ax - 0.01 * Math.round(raw(b.x, o, 2) * 10));
      }
    }
    // The rotation is random: the offset from the true heading covers the circle.
    const offsets = angles.map((a) => Math.cos(a));
    expect(Math.min(...offsets)).toBeLessThan(-0.9);
    expect(Math.max(...offsets)).toBeGreaterThan(0.9);
  });

  it('is deterministic for a seed and leaves the heading alone when off', () => {
    const a = [...createTransitionSampler([seq], norm, { seed: 2, headingAugment: true }).epoch(1, 32)];
    const b = [...createTransitionSampler([seq], norm, { seed: 2, headingAugment: true }).epoch(1, 32)];
    expect(a).toEqual(b);
    const off = createTransitionSampler([seq], norm, { seed: 2, headingAugment: false });
    expect(off.headingAugment).toBe(false);
    const xn = normalizeRows(seq.x, norm);
    for (const batch of off.epoch(0, 64)) {
      for (let i = 0; i < batch.size; i++) {
        const t = Math.round(raw(batch.x, i * 4, 2) * 10);
        expect(batch.x[i * 4]).toBeCloseTo(xn[t * 4]!, 5);
        expect(batch.x[i * 4 + 1]).toBeCloseTo(xn[t * 4 + 1]!, 5);
      }
    }
  });
});
