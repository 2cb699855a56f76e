import { describe, expect, it } from 'vitest';
import { from, lastValueFrom, toArray } from 'rxjs';
import { align } from '../../streams/align.js';
import type { GaitEvent } from '../../streams/contacts.js';
import { contacts } from '../../streams/contacts.js';
import { type FeatureFrame, features } from '../../streams/features.js';
import { type MetricsFrame, metrics } from '../../streams/metrics.js';
import { phases } from '../../streams/phases.js';
import { physicalState } from '../../streams/physical-state.js';
import { JOINT_INDEX } from '../../streams/skeleton.js';
import type { StanceType } from '../../streams/stance.js';
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
    // The same foot events during a squat are neither a step rate nor steps: the feet never moved.
    const squat = (await runMetrics(frames, 'squat')).at(-1)!.metrics;
    expect(squat.steps).toBe(0);
    expect(squat.foot_repositionings).toEqual([]);
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
      repCompleted:
        k >= 2 && k % 2 === 0 ? { index: k / 2 - 1, start_t: k - 1.5, end_t: k, rise_t: k - 0.5, maxDropM: 0.1 * k, kneeFlexionAtBottomDeg: 90 } : null,
    }));
    const sts = (await runMetrics(frames, 'sit_to_stand')).at(-1)!.metrics;
    expect(sts.reps).toBe(5);
    expect(sts.rep_times_s).toEqual([1.5, 1.5, 1.5, 1.5, 1.5]);
    // SPPB: from the onset of the first rise (1.5 s) to standing after the fifth (10 s).
    expect(sts.five_times_sit_to_stand_s).toBeCloseTo(10 - 1.5, 9);
    const squat = (await runMetrics(frames, 'squat')).at(-1)!.metrics;
    expect(squat.squat_depth_m).toBeCloseTo(1.0, 9);
    expect(squat.squat_knee_flexion_deg).toBe(90);
    expect(squat.five_times_sit_to_stand_s).toBeNull();
  });
});

describe('metrics: stance and foot repositioning', () => {
  it('time per stance type, single-leg bouts and loss-of-balance events from committed stance changes (balance)', async () => {
    const base = await baseFrame();
    // double 0–1 s, single left 1–3.5 s (right foot lifted), double 3.5–4 s, single right 4–4.5 s, no support after.
    const changes: [number, StanceType, StanceType][] = [
      [1, 'double', 'single_left'],
      [3.5, 'single_left', 'double'],
      [4, 'double', 'single_right'],
      [4.5, 'single_right', 'none'],
    ];
    const stanceAt = (t: number): StanceType => changes.filter((c) => c[0] <= t + 1e-9).at(-1)?.[2] ?? 'double';
    const frames = Array.from({ length: 5 * 60 + 1 }, (_, k) => {
      const t = k / 60;
      // Each change is committed 0.1 s after its first frame, as stance.ts does.
      const ch = changes.find((c) => Math.round((c[0] + 0.1) * 60) === k);
      return {
        ...base,
        t,
        events: [],
        stance: stanceAt(t - 0.1),
        stanceChange: ch ? { from: ch[1], to: ch[2], t: ch[0] } : null,
      };
    });
    const out = await runMetrics(frames, 'balance');
    const during = out[Math.round(3 * 60)]!.metrics.stance!;
    expect(during.type).toBe('single_left');
    expect(during.single_leg.current_s).toBeCloseTo(2, 9);
    expect(during.single_leg.longest_s.left).toBeCloseTo(2, 9);
    const m = out.at(-1)!.metrics.stance!;
    expect(m.type).toBe('none');
    expect(m.time_s.double).toBeCloseTo(1.5, 9);
    expect(m.time_s.single_left).toBeCloseTo(2.5, 9);
    expect(m.time_s.single_right).toBeCloseTo(0.5, 9);
    expect(m.time_s.none).toBeCloseTo(0.5, 9);
    expect(m.time_s.tandem).toBe(0);
    expect(m.single_leg).toEqual({
      bouts: 2,
      current_s: null,
      last_s: expect.closeTo(0.5, 9),
      longest_s: { left: expect.closeTo(2.5, 9), right: expect.closeTo(0.5, 9) },
    });
    expect(m.loss_of_balance.count).toBe(2);
    expect(m.loss_of_balance.events).toEqual([
      { t: 3.5, side: 'right', kind: 'touch_down' },
      { t: 4.5, side: 'right', kind: 'support_lost' },
    ]);
    // Stance is a balance metric only.
    expect((await runMetrics(frames, 'squat')).at(-1)!.metrics.stance).toBeNull();
  });

  it('a foot that lifts and lands 0.3 m away is a step outside gait (a stepping response in balance); landing in place is not', async () => {
    const base = await baseFrame();
    const leftFoot = (dz: number): Float32Array => {
      const j = new Float32Array(base.joints);
      for (const name of ['left_heel', 'left_toe', 'left_ankle'] as const) j[3 * JOINT_INDEX[name] + 2]! += dz;
      return j;
    };
    const run = (landAt: number, assessment: Assessment) => {
      // Left foot on the floor 0–1 s, in the air 1–1.5 s, down again at +landAt m from 1.5 s to 3 s.
      const frames = Array.from({ length: 3 * 60 + 1 }, (_, k) => {
        const t = k / 60;
        const up = t >= 1 && t < 1.5;
        const events: GaitEvent[] = k === 60 ? [{ type: 'toe_off', side: 'left', t: 1 }] : k === 90 ? [{ type: 'heel_strike', side: 'left', t: 1.5 }] : [];
        const stance: StanceType = up ? 'single_right' : 'double';
        return { ...base, t, events, stance, joints: leftFoot(t >= 1.5 ? landAt : up ? landAt / 2 : 0), contacts: { left: !up, right: true } };
      });
      return runMetrics(frames, assessment);
    };
    const moved = (await run(0.3, 'balance')).at(-1)!.metrics;
    expect(moved.steps).toBe(1);
    expect(moved.foot_repositionings).toEqual([{ side: 'left', t: 1.5, displacement_m: expect.closeTo(0.3, 5) }]);
    // stanceChange is null in these frames, so the only loss-of-balance event is the stepping response.
    expect(moved.stance!.loss_of_balance.events).toEqual([{ t: 1.5, side: 'left', kind: 'stepping_response' }]);
    // Decided SETTLE_S (0.25 s) after the touch-down, not before.
    const timeline = await run(0.3, 'squat');
    expect(timeline[Math.round(1.7 * 60)]!.metrics.steps).toBe(0);
    expect(timeline[Math.round(1.76 * 60)]!.metrics.steps).toBe(1);
    const inPlace = (await run(0.05, 'squat')).at(-1)!.metrics;
    expect([inPlace.steps, inPlace.foot_repositionings.length]).toEqual([0, 0]);
    // In gait every heel strike is a step, displaced or not.
    expect((await run(0.05, 'gait')).at(-1)!.metrics.steps).toBe(1);
  });
});
