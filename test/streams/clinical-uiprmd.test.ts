// Clinical facts on the UI-PRMD recordings (../shared/data/motion/ui-prmd, see its README), through the
// whole session pipeline: sit-to-stand rep time against the hip-height trace, no steps where the feet
// stay planted, and the single-leg stance of the straight-leg-raise episodes (m06).
import { describe, expect, it } from 'vitest';
import { from, lastValueFrom, toArray } from 'rxjs';
import { basename } from 'node:path';
import { readRecording } from '../../streams/adapters/read-recording.js';
import type { MetricsFrame } from '../../streams/metrics.js';
import { sessionPipeline } from '../../streams/session-pipeline.js';
import { JOINT_INDEX } from '../../streams/skeleton.js';
import { summarize } from '../../streams/summary.js';
import type { Assessment, Recording } from '../../streams/types.js';
import { hasMotionData, motionFiles } from '../helpers/motion-data.js';

async function processFile(path: string, assessment: Assessment): Promise<{ rec: Recording; states: MetricsFrame[] }> {
  const rec = await readRecording(path);
  const states = await lastValueFrom(from(rec.frames).pipe(sessionPipeline({ assessment, fps: rec.meta.fps }), toArray()));
  return { rec, states };
}

/**
 * Movement onset → return to standing from the stage-0 root (hip-centre) height, without any pipeline
 * stage: standing height = the highest root in the first 0.3 s; onset = the last frame within 2 cm of
 * it before the root first drops further; return = the first frame after the lowest point back within
 * 2 cm of the standing height (the lower of the start's and the end's, as a subject may end a little
 * lower or higher).
 */
function traceRepTime(rec: Recording): { onset: number; back: number } {
  const y = JOINT_INDEX.root * 3 + 1;
  const pts = rec.frames.map((f) => ({ t: f.t, h: f.joints[y] ?? NaN })).filter((p) => Number.isFinite(p.h));
  const t0 = pts[0]!.t;
  const t1 = pts[pts.length - 1]!.t;
  const startH = Math.max(...pts.filter((p) => p.t - t0 <= 0.3).map((p) => p.h));
  const endH = Math.max(...pts.filter((p) => t1 - p.t <= 0.3).map((p) => p.h));
  const lowest = pts.reduce((a, p) => (p.h < a.h ? p : a));
  const firstBelow = pts.findIndex((p) => p.h < startH - 0.02);
  const onset = pts[Math.max(0, firstBelow - 1)]!.t;
  const back = pts.find((p) => p.t > lowest.t && p.h > Math.min(startH, endH) - 0.02)!.t;
  return { onset, back };
}

describe.skipIf(!hasMotionData)('UI-PRMD: clinical metrics on real recordings', () => {
  // Item: sit-to-stand rep time. One rep = standing → seated → standing (SPPB / 30-s chair stand).
  // Tolerance: 0.1 s on the 100 Hz Vicon files; 0.35 s on the 30 Hz Kinect, whose floor estimate (from
  // its feet) moves by up to 7 cm during an episode (m05_s03: 6.8 → −0.6 cm), which moves the world
  // standing height the pipeline compares against.
  for (const system of ['vicon', 'kinect'] as const) {
    for (const file of motionFiles(`ui-prmd/${system}`, /^m05_.*_positions(_inc)?\.txt$/)) {
      it(`${system} ${basename(file)}: one sit-to-stand rep, timed from movement onset to return to standing`, async () => {
        const { rec, states } = await processFile(file, 'sit_to_stand');
        const m = states.at(-1)!.metrics;
        const rep = states.find((s) => s.repCompleted)!.repCompleted!;
        const { onset, back } = traceRepTime(rec);
        const tol = system === 'vicon' ? 0.1 : 0.35;
        expect(m.reps).toBe(1);
        expect(m.rep_times_s).toHaveLength(1);
        const repTime = m.rep_times_s[0]!;
        expect(Math.abs(repTime - (back - onset)), `rep ${repTime.toFixed(2)} s vs trace ${(back - onset).toFixed(2)} s`).toBeLessThanOrEqual(tol);
        expect(Math.abs(rep.start_t - onset)).toBeLessThanOrEqual(tol);
        expect(Math.abs(rep.end_t - back)).toBeLessThanOrEqual(tol);
        // A full rep, not its rise: the episodes last 1.7–3.4 s and a rep is most of that.
        expect(repTime).toBeGreaterThan(1.3);
        expect(repTime / (states.at(-1)!.t - states[0]!.t)).toBeGreaterThan(0.6);
        // The rise (seat-off proxy) lies inside the rep, after the seated part.
        expect(rep.rise_t!).toBeGreaterThan(rep.start_t + 0.5);
        expect(rep.rise_t!).toBeLessThan(rep.end_t - 0.3);
      });
    }
  }

  // Item: no false steps. The feet stay planted in every squat (m01) and sit-to-stand (m05), and the
  // raised leg of the straight-leg raise (m06) comes down where it left.
  for (const system of ['vicon', 'kinect'] as const) {
    for (const file of motionFiles(`ui-prmd/${system}`, /^m0[156]_.*_positions(_inc)?\.txt$/)) {
      const id = basename(file);
      const assessment: Assessment = id.startsWith('m01') ? 'squat' : id.startsWith('m05') ? 'sit_to_stand' : 'balance';
      it(`${system} ${id}: 0 steps (${assessment})`, async () => {
        const { rec, states } = await processFile(file, assessment);
        const m = states.at(-1)!.metrics;
        expect(m.steps, JSON.stringify(m.foot_repositionings)).toBe(0);
        expect(m.foot_repositionings).toEqual([]);
        expect(summarize(states, rec.meta).steps).toBe(0);
        if (assessment === 'balance') expect(m.stance!.loss_of_balance.events.filter((e) => e.kind === 'stepping_response')).toEqual([]);
      });
    }
  }

  // Item: single-leg stance. m06 = standing active straight leg raise: right leg raised, the subject
  // stands on the left. README (Vicon, right foot > 5 cm up): 1.03, 1.02, 1.34 s.
  const README_SINGLE_LEG_S: Record<string, number> = { m06_s01_e01: 1.03, m06_s02_e01: 1.02, m06_s03_e01: 1.34 };
  for (const system of ['vicon', 'kinect'] as const) {
    for (const file of motionFiles(`ui-prmd/${system}`, /^m06_.*_positions\.txt$/)) {
      const id = basename(file).replace('_positions.txt', '');
      it(`${system} ${id}: single-leg stance on the left, its time, and the touch-down that ends it`, async () => {
        const { rec, states } = await processFile(file, 'balance');
        const m = states.at(-1)!.metrics.stance!;
        expect(m.single_leg.bouts).toBe(1);
        expect(m.time_s.single_right).toBe(0);
        expect(m.time_s.tandem).toBe(0);
        expect(m.time_s.none).toBe(0);
        // The Kinect file is not the same repetition as the Vicon one (README): a looser bound there.
        const expected = README_SINGLE_LEG_S[id]!;
        const tol = system === 'vicon' ? 0.1 : 0.2;
        expect(Math.abs(m.time_s.single_left - expected), `${m.time_s.single_left} s vs ${expected} s`).toBeLessThanOrEqual(tol);
        expect(m.single_leg.longest_s.left).toBeCloseTo(m.time_s.single_left, 9);
        expect(m.single_leg.longest_s.right).toBeNull();
        // Double stance before and after; the rest of the episode.
        expect(m.time_s.double + m.time_s.single_left).toBeCloseTo(states.at(-1)!.t - states[0]!.t, 6);
        expect(m.type).toBe('double');
        // Ended by the raised (right) foot touching down: one loss-of-balance event in the test's terms.
        expect(m.loss_of_balance.count).toBe(1);
        expect(m.loss_of_balance.events).toEqual([expect.objectContaining({ side: 'right', kind: 'touch_down' })]);
        // Live phase output: double stance (static or unstable sway), single-leg stance on the left, double
        // stance again.
        const seq = summarize(states, rec.meta).phases.map((p) => (p.name === 'unstable' ? 'static' : p.name));
        expect(seq.filter((p, i) => p !== seq[i - 1])).toEqual(['static', 'single_leg_stance_left', 'static']);
      });
    }
  }

  it('OpenSim static trial: quiet double stance for the whole recording', async () => {
    const file = motionFiles('opensim-gait', /static\.trc$/)[0]!;
    const { states } = await processFile(file, 'balance');
    const m = states.at(-1)!.metrics.stance!;
    expect(m.type).toBe('double');
    expect(m.time_s.double).toBeCloseTo(states.at(-1)!.t - states[0]!.t, 6);
    expect([m.single_leg.bouts, m.loss_of_balance.count]).toEqual([0, 0]);
  });
});
