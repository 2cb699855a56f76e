import { describe, expect, it } from 'vitest';
import { decide } from '../../../../src/jobs/workers/retrain-evaluation.js';

const H = [1, 5, 10];
const r = (a: number, b: number, c: number): Record<string, number> => ({ '1': a, '5': b, '10': c });

describe('the registration gate (decide)', () => {
  it('accepts a model better at every horizon', () => {
    const d = decide(r(0.5, 0.8, 1.0), r(0.2, 0.4, 0.6), H, 0.02);
    expect(d.accepted).toBe(true);
    expect(d.baseMean).toBeCloseTo(2.3 / 3, 10);
    expect(d.patientMean).toBeCloseTo(1.2 / 3, 10);
  });

  it('accepts an equal model (an untrained adapter is the base)', () => {
    expect(decide(r(0.5, 0.8, 1), r(0.5, 0.8, 1), H, 0).accepted).toBe(true);
  });

  it('rejects a horizon worse than the tolerance even when the mean improves', () => {
    const d = decide(r(0.5, 0.8, 1.0), r(0.1, 0.2, 1.03), H, 0.02);
    expect(d.accepted).toBe(false);
    expect(d.reason).toContain('Δh 10');
  });

  it('lets a horizon within the tolerance through but not a worse mean', () => {
    expect(decide(r(0.5, 0.8, 1.0), r(0.4, 0.8, 1.019), H, 0.02).accepted).toBe(true);
    const d = decide(r(0.5, 0.8, 1.0), r(0.505, 0.808, 1.01), H, 0.02);
    expect(d.accepted).toBe(false);
    expect(d.reason).toMatch(/^mean normalised MSE/);
  });

  it('rejects non-finite evaluations', () => {
    expect(decide(r(0.5, 0.8, 1.0), r(0.1, Number.NaN, 0.1), H, 0.02).accepted).toBe(false);
    expect(decide(r(0.5, 0.8, 1.0), { '1': 0.1, '5': 0.1 }, H, 0.02).accepted).toBe(false);
  });
});
