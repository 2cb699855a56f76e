import { describe, expect, it } from 'vitest';
import { from, lastValueFrom, toArray } from 'rxjs';
import { align } from '../../streams/align.js';
import type { GaitEvent } from '../../streams/contacts.js';
import { contacts } from '../../streams/contacts.js';
import { type FeatureFrame, features } from '../../streams/features.js';
import { type MetricsFrame, metrics } from '../../streams/metrics.js';
import { phases } from '../../streams/phases.js';
import { physicalState } from '../../streams/physical-state.js';
import type { Assessment } from '../../streams/types.js';
import { frame } from './synthetic.js';

async function baseFrame(): Promise<FeatureFrame> {
  const out = await lastValueFrom(
    from([frame(0), frame(1 / 60)]).pipe(align(), physicalState(), contacts(), phases({ assessment: 'gait' }), features(), toArray()),
  );
  return out[1]!;
}
const runMetrics = (frames: FeatureFrame[], assessment: Assessment): Promise<MetricsFrame[]> =>
  lastValueFrom(from(frames).pipe(metrics({ assessment }), toArray()));

describe('metrics', () => {
  it('cadence, step times, asymmetry and stance % from heel strikes and toe-offs', async () => {
    const base = await baseFrame();
    // Left HS every 1.2 s, right HS 0.5 s after each left HS (asymmetric), toe-offs at HS + 0.72 s (60 %).
    const events: GaitEvent[] = [];
    for (let i = 0; i < 5; i++) {
      events.push({ type: 'heel_strike', side: 'left', t: 1.2 * i });
      events.push({ type: 'heel_strike', side: 'right', t: 1.2 * i + 0.5 });
      events.push({ type: 'toe_off', side: 'left', t: 1.2 * i + 0.72 });
      events.push({ type: 'toe_off', side: 'right', t: 1.2 * i + 0.5 + 0.72 });
    }
    const frames = Array.from({ length: 6 * 60 }, (_, k) => {
      const t = k / 60;
      return { ...base, t, events: events.filter((e) => Math.round(e.t * 60) === k) };
    });
    const out = await runMetrics(frames, 'gait');
    const m = out[out.length - 1]!.metrics;
    expect(m.steps).toBe(10);
    // 10 strikes from 0 to 5.3 s → 9 intervals.
    expect(m.cadence_spm).toBeCloseTo((60 * 9) / 5.3, 6);
    expect(m.step_time_s.right).toBeCloseTo(0.5, 9);
    expect(m.step_time_s.left).toBeCloseTo(0.7, 9);
    expect(m.step_time_asymmetry_pct).toBeCloseTo((200 * 0.2) / 1.2, 6);
    expect(m.stance_pct.left).toBeCloseTo(60, 6);
    expect(m.stance_pct.right).toBeCloseTo(60, 6);
    expect(m.gait_speed_kind).toBe('overground');
    expect(m.gait_speed_mps).toBeCloseTo(0, 6); // the root never moved
    expect(out[0]!.metrics.cadence_spm).toBeNull();
    // The same foot events during a squat are not a step rate.
    const squat = (await runMetrics(frames, 'squat')).at(-1)!.metrics;
    expect(squat.steps).toBe(10);
    expect([squat.cadence_spm, squat.stance_pct.left, squat.gait_speed_mps, squat.gait_speed_kind]).toEqual([null, null, null, 'unknown']);
  });

  it('sway path length and 95 % ellipse area of the CoM (balance)', async () => {
    const base = await baseFrame();
    const [a, b] = [0.02, 0.01];
    const pts: [number, number][] = [
      [a, 0],
      [0, b],
      [-a, 0],
      [0, -b],
    ];
    const n = 400;
    const frames = Array.from({ length: n }, (_, k) => {
      const [x, z] = pts[k % 4]!;
      return { ...base, t: k / 60, events: [], com: [x, 0.9, z] as const };
    });
    const m = (await runMetrics(frames, 'balance')).at(-1)!.metrics;
    expect(m.sway!.path_length_m).toBeCloseTo((n - 1) * Math.hypot(a, b), 9);
    const varX = ((a * a) / 2) * (n / (n - 1));
    const varZ = ((b * b) / 2) * (n / (n - 1));
    expect(m.sway!.area95_m2).toBeCloseTo(Math.PI * 5.991 * Math.sqrt(varX * varZ), 9);
    expect(m.sway!.duration_s).toBeCloseTo((n - 1) / 60, 9);
  });

  it('rep times, squat depth and five-times sit-to-stand from completed reps', async () => {
    const base = await baseFrame();
    const frames = Array.from({ length: 12 }, (_, k) => ({
      ...base,
      t: k,
      events: [],
      repCompleted: k >= 2 && k % 2 === 0 ? { index: k / 2 - 1, start_t: k - 1.5, end_t: k, maxDropM: 0.1 * k, kneeFlexionAtBottomDeg: 90 } : null,
    }));
    const sts = (await runMetrics(frames, 'sit_to_stand')).at(-1)!.metrics;
    expect(sts.reps).toBe(5);
    expect(sts.rep_times_s).toEqual([1.5, 1.5, 1.5, 1.5, 1.5]);
    expect(sts.five_times_sit_to_stand_s).toBeCloseTo(10 - 0.5, 9);
    const squat = (await runMetrics(frames, 'squat')).at(-1)!.metrics;
    expect(squat.squat_depth_m).toBeCloseTo(1.0, 9);
    expect(squat.squat_knee_flexion_deg).toBe(90);
    expect(squat.five_times_sit_to_stand_s).toBeNull();
  });
});
