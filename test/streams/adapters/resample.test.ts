import { describe, expect, it } from 'vitest';
import { JOINT_COUNT, JOINT_INDEX } from '../../../streams/skeleton.js';
import { fillGaps, resample, type JointTrack } from '../../../streams/adapters/resample.js';

const S = JOINT_COUNT * 3;

/** A track where only `root` exists, x = f(t), y = 1, z = 0, sampled at `rate` for `n` samples. */
function track(n: number, rate: number, f: (t: number) => number, t0 = 0): JointTrack {
  const times = Float64Array.from({ length: n }, (_, i) => t0 + i / rate);
  const joints = new Float64Array(n * S).fill(NaN);
  for (let i = 0; i < n; i++) {
    joints[i * S] = f(times[i]! - t0);
    joints[i * S + 1] = 1;
    joints[i * S + 2] = 0;
  }
  return { times, joints };
}

describe('resample', () => {
  it('resamples linearly on the source timestamps, time relative to the first sample', () => {
    const tr = track(201, 200, (t) => 3 * t + 1, 0.005);
    const { frames, available } = resample(tr, 60, 0.1);
    expect(frames).toHaveLength(61);
    expect(frames[0]!.t).toBe(0);
    expect(frames[60]!.t).toBeCloseTo(1, 9);
    for (const f of frames) expect(f.joints[0]).toBeCloseTo(3 * f.t + 1, 5);
    expect(available).toEqual(['root']);
    expect(Number.isNaN(frames[10]!.joints[JOINT_INDEX.head * 3]!)).toBe(true);
  });

  it('interpolates a short interior gap and reports it as filled', () => {
    const tr = track(100, 100, (t) => t);
    for (let i = 40; i < 45; i++) tr.joints[i * S + 1] = NaN; // 5 samples = 0.05 s
    const { gaps } = fillGaps(tr, 0.1);
    expect(gaps).toEqual([{ joint: 'root', start_s: 0.4, end_s: 0.44, filled: true }]);
    expect(tr.joints[42 * S]).toBeCloseTo(0.42, 9);
    expect(tr.joints[42 * S + 1]).toBeCloseTo(1, 9);
  });

  it('leaves a long gap and edge gaps NaN and flags them unfilled', () => {
    const tr = track(100, 100, (t) => t);
    for (let i = 30; i < 50; i++) tr.joints[i * S] = NaN; // 0.2 s
    for (let i = 0; i < 2; i++) tr.joints[i * S] = NaN; // leading: one side only
    const { frames, gaps } = resample(tr, 100, 0.1);
    expect(gaps.map((g) => [g.start_s, g.filled])).toEqual([
      [0, false],
      [0.3, false],
    ]);
    expect(Number.isNaN(frames[40]!.joints[0]!)).toBe(true);
    expect(Number.isNaN(frames[40]!.joints[1]!)).toBe(true); // a partly missing joint is wholly missing
    expect(frames[60]!.joints[0]).toBeCloseTo(0.6, 6);
  });

  it('respects a configured maxGapS', () => {
    const tr = track(100, 100, (t) => t);
    for (let i = 30; i < 50; i++) tr.joints[i * S] = NaN;
    expect(fillGaps(tr, 0.25).gaps[0]!.filled).toBe(true);
  });
});
