import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import {
  averageRanks,
  columnMoments,
  effectiveRank,
  meanColumnVariance,
  meanSquaredError,
  median,
  pearson,
  singularValues,
  spearman,
  symmetricEigenvalues,
} from '../../models/stats.js';

describe('columnMoments', () => {
  it('gives exact per-column mean and population std', () => {
    // columns: [1,3,5] → mean 3, var 8/3; [10,10,10] → 0
    const { mean, std } = columnMoments([1, 10, 3, 10, 5, 10], 3, 2);
    expect(Array.from(mean)).toEqual([3, 10]);
    expect(std[0]).toBeCloseTo(Math.sqrt(8 / 3), 12);
    expect(std[1]).toBe(0);
  });
  it('is stable with a large offset', () => {
    const { std } = columnMoments([1e8 + 1, 1e8 - 1], 2, 1);
    expect(std[0]).toBeCloseTo(1, 9);
  });
  it('rejects a wrong shape', () => {
    expect(() => columnMoments([1, 2, 3], 2, 2)).toThrow(RangeError);
  });
});

describe('errors and variances', () => {
  it('meanSquaredError and meanColumnVariance', () => {
    expect(meanSquaredError([1, 2, 3], [1, 4, 0])).toBeCloseTo((0 + 4 + 9) / 3, 12);
    // columns [0,2] var 1, [0,4] var 4 → mean 2.5
    expect(meanColumnVariance([0, 0, 2, 4], 2, 2)).toBeCloseTo(2.5, 12);
    expect(median([3, 1, 2])).toBe(2);
    expect(median([4, 1, 2, 3])).toBe(2.5);
    expect(median([])).toBeNaN();
  });
});

describe('rank correlation', () => {
  it('averages tied ranks', () => {
    expect(Array.from(averageRanks([10, 20, 20, 5]))).toEqual([2, 3.5, 3.5, 1]);
  });
  it('matches the textbook example', () => {
    // Spearman's classic: IQ vs hours of TV (Wikipedia "Spearman's rank correlation coefficient"): ρ = −29/165
    const iq = [106, 100, 86, 101, 99, 103, 97, 113, 112, 110];
    const tv = [7, 27, 2, 50, 28, 29, 20, 12, 6, 17];
    expect(spearman(iq, tv)).toBeCloseTo(-29 / 165, 12);
  });
  it('is 1 for any strictly monotone map and −1 reversed', () => {
    fc.assert(
      fc.property(fc.uniqueArray(fc.integer({ min: -1000, max: 1000 }), { minLength: 3, maxLength: 40 }), (xs) => {
        const ys = xs.map((x) => Math.exp(x / 300));
        expect(spearman(xs, ys)).toBeCloseTo(1, 9);
        expect(
          spearman(
            xs,
            ys.map((y) => -y),
          ),
        ).toBeCloseTo(-1, 9);
      }),
    );
  });
  it('is NaN without spread', () => {
    expect(pearson([1, 1, 1], [1, 2, 3])).toBeNaN();
  });
});

describe('eigenvalues, singular values, effective rank', () => {
  it('finds the eigenvalues of a known symmetric matrix', () => {
    // [[2,1],[1,2]] → 3, 1
    const ev = symmetricEigenvalues([2, 1, 1, 2], 2);
    expect(ev[0]).toBeCloseTo(3, 12);
    expect(ev[1]).toBeCloseTo(1, 12);
  });
  it('singular values of a diagonal-ish matrix', () => {
    // rows: (3,0), (0,4) → singular values 4, 3
    const sv = singularValues([3, 0, 0, 4], 2, 2);
    expect(sv[0]).toBeCloseTo(4, 12);
    expect(sv[1]).toBeCloseTo(3, 12);
  });
  it('is d for an orthogonal frame, 1 for a collapsed one', () => {
    const d = 8;
    const eye = new Float64Array(d * d);
    for (let i = 0; i < d; i++) eye[i * d + i] = 5;
    expect(effectiveRank(eye, d, d)).toBeCloseTo(d, 9);
    const collapsed = new Float64Array(50 * d);
    for (let i = 0; i < 50; i++) for (let j = 0; j < d; j++) collapsed[i * d + j] = (i + 1) * (j % 3 === 0 ? 1 : 2);
    expect(effectiveRank(collapsed, 50, d)).toBeCloseTo(1, 6);
  });
  it('matches exp(entropy) of known singular values', () => {
    // diag(1, 3): p = (0.25, 0.75)
    const h = -(0.25 * Math.log(0.25) + 0.75 * Math.log(0.75));
    expect(effectiveRank([1, 0, 0, 3], 2, 2)).toBeCloseTo(Math.exp(h), 10);
  });
  it('is invariant to rotations of a random matrix', () => {
    // Rotating columns by an orthogonal matrix keeps singular values.
    const n = 30;
    const x = Array.from({ length: n * 2 }, (_, i) => Math.sin(i * 1.7) + (i % 2) * 0.3);
    const c = Math.cos(0.7);
    const s = Math.sin(0.7);
    const r = x.slice();
    for (let i = 0; i < n; i++) {
      r[2 * i] = c * x[2 * i]! - s * x[2 * i + 1]!;
      r[2 * i + 1] = s * x[2 * i]! + c * x[2 * i + 1]!;
    }
    expect(effectiveRank(r, n, 2)).toBeCloseTo(effectiveRank(x, n, 2), 9);
  });
});
