import { describe, expect, it } from 'vitest';
import { Histogram, quantile, SampleRing } from '../../../src/inference/inference-stats.js';

describe('inference stats', () => {
  it('Histogram puts values in (prev, bound] buckets with an overflow bucket', () => {
    const h = new Histogram([1, 4]);
    for (const v of [0.5, 1, 2, 4, 5]) h.observe(v);
    expect(h.data()).toEqual({ bounds: [1, 4], counts: [2, 2, 1], sum: 12.5, count: 5 });
  });

  it('SampleRing keeps the most recent samples', () => {
    const r = new SampleRing(3);
    for (const v of [1, 2, 3, 4]) r.push(v);
    expect(r.values().sort()).toEqual([2, 3, 4]);
  });

  it('quantile by nearest rank', () => {
    const xs = Array.from({ length: 100 }, (_, i) => i + 1);
    expect(quantile(xs, 0.5)).toBe(50);
    expect(quantile(xs, 0.99)).toBe(99);
    expect(quantile([], 0.5)).toBeNaN();
  });
});
