// Joint-angle curves for the report. Gait: each side's knee and hip flexion over that side's own gait
// cycles (heel strike → next heel strike of the same foot), resampled to 0…100 % and averaged (± SD) —
// the standard way gait laboratories present kinematics (Perry & Burnfield 2010), so left and right are
// compared at the same point of their cycles. Other assessments: the angles over time.
import type { MetricsFrame } from '../../streams/metrics.js';
import type { AngleCurve } from './charts.js';

/** Cycles shorter or longer than this are detection artefacts (a missed or doubled strike), not strides. */
export const CYCLE_RANGE_S = [0.6, 2.5] as const;
const STEP_PCT = 2;

type Joint = 'knee flexion' | 'hip flexion';
const pickAngle = (f: MetricsFrame, joint: Joint, side: 'left' | 'right'): number =>
  joint === 'knee flexion' ? f.angles.kneeFlexion[side] : f.angles.hipFlexion[side];

function interpolate(states: readonly MetricsFrame[], t: number, joint: Joint, side: 'left' | 'right'): number {
  let lo = 0;
  let hi = states.length - 1;
  while (hi - lo > 1) {
    const mid = (lo + hi) >> 1;
    if (states[mid]!.t <= t) lo = mid;
    else hi = mid;
  }
  const a = states[lo]!;
  const b = states[hi]!;
  const u = b.t > a.t ? Math.min(1, Math.max(0, (t - a.t) / (b.t - a.t))) : 0;
  return pickAngle(a, joint, side) * (1 - u) + pickAngle(b, joint, side) * u;
}

export function gaitCycleCurves(states: readonly MetricsFrame[]): { curves: AngleCurve[]; cycles: Record<'left' | 'right', number> } {
  const curves: AngleCurve[] = [];
  const cycles = { left: 0, right: 0 };
  for (const side of ['left', 'right'] as const) {
    const strikes = states.flatMap((s) => s.events.filter((e) => e.type === 'heel_strike' && e.side === side).map((e) => e.t));
    const spans: [number, number][] = [];
    for (let k = 1; k < strikes.length; k++) {
      const d = strikes[k]! - strikes[k - 1]!;
      if (d >= CYCLE_RANGE_S[0] && d <= CYCLE_RANGE_S[1]) spans.push([strikes[k - 1]!, strikes[k]!]);
    }
    cycles[side] = spans.length;
    if (spans.length === 0) continue;
    for (const joint of ['knee flexion', 'hip flexion'] as const) {
      for (let pct = 0; pct <= 100; pct += STEP_PCT) {
        const v = spans.map(([a, b]) => interpolate(states, a + ((b - a) * pct) / 100, joint, side)).filter(Number.isFinite);
        if (!v.length) continue;
        const m = v.reduce((x, y) => x + y, 0) / v.length;
        const sd = v.length > 1 ? Math.sqrt(v.reduce((x, y) => x + (y - m) ** 2, 0) / (v.length - 1)) : null;
        curves.push({ x: pct, value: m, sd, side, joint });
      }
    }
  }
  return { curves, cycles };
}

/** Angles over time, thinned to at most `points` samples per curve. */
export function timeCurves(states: readonly MetricsFrame[], points = 300): AngleCurve[] {
  const step = Math.max(1, Math.ceil(states.length / points));
  const out: AngleCurve[] = [];
  for (let i = 0; i < states.length; i += step) {
    const f = states[i]!;
    for (const side of ['left', 'right'] as const)
      for (const joint of ['knee flexion', 'hip flexion'] as const) {
        const v = pickAngle(f, joint, side);
        if (Number.isFinite(v)) out.push({ x: f.t, value: v, sd: null, side, joint });
      }
  }
  return out;
}
