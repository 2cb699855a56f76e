import { describe, expect, it } from 'vitest';
import { flattenMetrics } from '../../../src/sessions/live-pipeline.js';

describe('flattenMetrics', () => {
  it('joins nested keys with _, reports lists as count + last finite value, maps booleans to 0/1 and drops the rest', () => {
    const out = flattenMetrics({
      cadence_spm: 104.5,
      stance_pct: { left: 61, right: NaN },
      rep_times_s: [1.2, 1.4, NaN],
      empty: [],
      walking: true,
      label: 'gait',
      missing: null,
      deep: { a: { b: 2 } },
    });
    expect(out).toEqual({
      cadence_spm: 104.5,
      stance_pct_left: 61,
      rep_times_s_count: 3,
      rep_times_s_last: 1.4,
      empty_count: 0,
      walking: 1,
      deep_a_b: 2,
    });
    expect(Object.keys(out)).toEqual(['cadence_spm', 'stance_pct_left', 'rep_times_s_count', 'rep_times_s_last', 'empty_count', 'walking', 'deep_a_b']);
  });

  it('stops at 64 wire metrics, keeping the first ones in key order (a list may finish its pair)', () => {
    const many = Object.fromEntries(Array.from({ length: 100 }, (_, i) => [`m${i}`, i]));
    const out = flattenMetrics({ ...many });
    expect(Object.keys(out)).toHaveLength(64);
    expect(out['m63']).toBe(63);
    expect(out['m64']).toBeUndefined();
    const nested = flattenMetrics({ a: Object.fromEntries(Array.from({ length: 63 }, (_, i) => [`k${i}`, i])), list: [1, 2], after: 5 });
    expect(Object.keys(nested)).toHaveLength(65);
    expect(nested['list_last']).toBe(2);
    expect(nested['after']).toBeUndefined();
  });

  it('reads only own keys', () => {
    const proto = { inherited: 1 };
    const m = Object.create(proto) as Record<string, number>;
    m['own'] = 2;
    expect(flattenMetrics(m)).toEqual({ own: 2 });
  });
});
