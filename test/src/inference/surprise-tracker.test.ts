import { describe, expect, it } from 'vitest';
import { latentDistance, SurpriseTracker } from '../../../src/inference/surprise-tracker.js';

const v = (...xs: number[]) => Float32Array.from(xs);

describe('SurpriseTracker', () => {
  it('compares the arriving latent with the prediction made h frames earlier', () => {
    const t = new SurpriseTracker([1, 3]);
    expect(t.observe('s', 0, v(0, 0), [v(1, 0), v(5, 5)])).toBeNull();
    // frame 1: predicted by frame 0 at h=1 as (1,0); arrived (1,1) → RMS distance sqrt(1/2)
    expect(t.observe('s', 1, v(1, 1), [v(2, 2), v(9, 9)])).toEqual({ value: Math.sqrt(0.5), horizon: 1 });
  });

  it('prefers the shortest horizon, and falls back to a longer one when frames were shed', () => {
    const t = new SurpriseTracker([1, 3]);
    t.observe('s', 0, v(0), [v(10), v(3)]); // predicts 1→10, 3→3
    t.observe('s', 2, v(0), [v(7), v(0)]); // predicts 3→7 (h=1 replaces h=3), 5→0
    expect(t.observe('s', 3, v(4), [v(0), v(0)])).toEqual({ value: 3, horizon: 1 });
    const u = new SurpriseTracker([1, 3]);
    u.observe('s', 0, v(0), [v(10), v(3)]);
    // frames 1 and 2 shed: frame 3 is compared with frame 0's h=3 prediction
    expect(u.observe('s', 3, v(4), [v(0), v(0)])).toEqual({ value: 1, horizon: 3 });
  });

  it('keeps sessions apart and forgets a session on end', () => {
    const t = new SurpriseTracker([1]);
    t.observe('a', 0, v(0), [v(1)]);
    expect(t.observe('b', 1, v(0), [v(1)])).toBeNull();
    expect(t.pendingOf('a')).toBe(1);
    t.end('a');
    expect(t.pendingOf('a')).toBe(0);
    expect(t.observe('a', 1, v(0), [v(0)])).toBeNull();
  });

  it('is bounded: at most maxHorizon pending targets per session, and maxSessions sessions', () => {
    const t = new SurpriseTracker([1, 5, 10], 3);
    for (let seq = 0; seq < 100; seq += 2) {
      t.observe('s', seq, v(0), [v(0), v(0), v(0)]);
      expect(t.pendingOf('s')).toBeLessThanOrEqual(10);
    }
    for (let i = 0; i < 5; i++) t.observe(`x${i}`, 0, v(0), [v(0), v(0), v(0)]);
    expect(t.sessionCount).toBe(3);
    expect(t.pendingOf('s')).toBe(0); // least recently seen, evicted
  });

  it('drops predictions for targets the stream has passed', () => {
    const t = new SurpriseTracker([2]);
    t.observe('s', 0, v(0), [v(1)]); // target 2
    t.observe('s', 5, v(0), [v(1)]); // target 7; target 2 is gone
    expect(t.pendingOf('s')).toBe(1);
    expect(t.observe('s', 2, v(0), [v(1)])).toBeNull();
  });

  it('rejects bad horizons', () => {
    expect(() => new SurpriseTracker([])).toThrow(RangeError);
    expect(() => new SurpriseTracker([0])).toThrow(RangeError);
    expect(() => new SurpriseTracker([1.5])).toThrow(RangeError);
  });

  it('latentDistance is the RMS distance (per-dimension scale, like the uncertainty)', () => {
    expect(latentDistance(v(0, 0), v(3, 4))).toBeCloseTo(Math.sqrt(12.5), 12);
    expect(latentDistance(v(), v())).toBeNaN();
  });
});
