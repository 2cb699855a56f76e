import { describe, expect, it } from 'vitest';
import { MedianWindow } from '../../streams/median-window.js';

/** The definition the window replaces: sort the last `cap` values, take the middle (mean of two when even). */
function sortedMedian(xs: readonly number[], cap: number): number {
  const s = xs.slice(-cap).sort((a, b) => a - b);
  if (!s.length) return NaN;
  const m = s.length >> 1;
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
}

describe('MedianWindow', () => {
  it('equals the median of the sorted last `capacity` values after every push, duplicates and evictions included', () => {
    for (const cap of [1, 2, 7, 600]) {
      const w = new MedianWindow(cap);
      const seen: number[] = [];
      let seed = 12345;
      const rnd = (): number => (seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31;
      expect(w.median()).toBeNaN();
      for (let i = 0; i < 3 * cap + 50; i++) {
        // Coarse values so that equal numbers meet (eviction must remove one copy, not all).
        const v = Math.round(rnd() * 40) / 20;
        w.push(v);
        seen.push(v);
        expect(w.median()).toBe(sortedMedian(seen, cap));
        expect(w.length).toBe(Math.min(seen.length, cap));
      }
    }
  });

  it('rejects a bad capacity and non-finite values (RangeError)', () => {
    expect(() => new MedianWindow(0)).toThrow(RangeError);
    expect(() => new MedianWindow(1.5)).toThrow(RangeError);
    const w = new MedianWindow(3);
    expect(() => w.push(NaN)).toThrow(RangeError);
    expect(() => w.push(Infinity)).toThrow(RangeError);
  });
});
