// The synchronous chain (sessionStep: every stage's step function called in turn, what the live session
// runs) against the operator chain (sessionPipeline) on real recordings: every output frame must be
// identical, plane updates and dropped frames included.
import { describe, expect, it } from 'vitest';
import { Subject } from 'rxjs';
import { readRecording } from '../../streams/adapters/read-recording.js';
import type { MetricsFrame } from '../../streams/metrics.js';
import { sessionPipeline, sessionStep } from '../../streams/session-pipeline.js';
import type { Assessment, PlaneAnchor, PoseFrame } from '../../streams/types.js';
import { hasMotionData, motion } from '../helpers/motion-data.js';

/** A floor plane just under the recording's floor: once it arrives, alignment takes the floor from it. */
const FLOOR: PlaneAnchor = {
  transform: [1, 0, 0, 0, 0, 1, 0, 0, 0, 0, 1, 0, 0, -0.01, 0, 1],
  extent: [6, 6],
  alignment: 'horizontal',
  classification: 'floor',
};
const PLANE_AT = 30;

function runBoth(frames: readonly PoseFrame[], assessment: Assessment): { operators: MetricsFrame[]; steps: MetricsFrame[] } {
  const env = new Subject<readonly PlaneAnchor[]>();
  const src = new Subject<PoseFrame>();
  const operators: MetricsFrame[] = [];
  src.pipe(sessionPipeline({ assessment, fps: 60, env })).subscribe((m) => operators.push(m));
  const step = sessionStep({ assessment, fps: 60 });
  const steps: MetricsFrame[] = [];
  let planes: readonly PlaneAnchor[] = [];
  frames.forEach((f, i) => {
    if (i === PLANE_AT) {
      env.next([FLOOR]);
      planes = [FLOOR];
    }
    src.next(f);
    const m = step(f, planes);
    if (m) steps.push(m);
  });
  return { operators, steps };
}

describe.skipIf(!hasMotionData)('sessionStep (synchronous) against sessionPipeline (operators), real recordings', () => {
  const cases: [string, string[], Assessment][] = [
    // 1800 frames: the belt-speed window (600 stance foot-frames) fills and evicts.
    ['treadmill gait', ['fukuchi-treadmill', 'fukuchi_WBDS19walkT01.c3d'], 'gait'],
    ['overground gait read as balance (stance tracking)', ['opensim-gait', 'subject01_walk1.trc'], 'balance'],
    ['mocap read as squat (rep logic)', ['cmu-bvh', '131_01.bvh'], 'squat'],
  ];
  it.each(cases)('%s: every output frame is identical', async (_name, path, assessment) => {
    const rec = await readRecording(motion(...path));
    // A repeated timestamp: alignment drops that frame in both chains.
    const frames = [...rec.frames.slice(0, 50), rec.frames[49]!, ...rec.frames.slice(50)];
    const { operators, steps } = runBoth(frames, assessment);
    expect(operators).toHaveLength(frames.length - 1);
    expect(steps).toHaveLength(operators.length);
    for (let i = 0; i < operators.length; i++) expect(steps[i], `frame ${i}`).toStrictEqual(operators[i]);
    // The plane update reached both chains (the comparison above would not notice a chain ignoring it if neither saw it).
    expect(steps[PLANE_AT - 1]!.floor.source).not.toBe('plane');
    expect(steps[PLANE_AT]!.floor.source).toBe('plane');
    expect(steps[steps.length - 1]!.dropped).toBe(1);
  });

  it('keeps state per step: two steps fed the same frames give the same frames', async () => {
    const rec = await readRecording(motion('opensim-gait', 'subject01_walk1.trc'));
    const a = sessionStep({ assessment: 'gait' });
    const b = sessionStep({ assessment: 'gait' });
    const outA = rec.frames.map((f) => a(f, []));
    const outB = rec.frames.map((f) => b(f, []));
    expect(outB).toStrictEqual(outA);
    expect(outA[outA.length - 1]!.metrics.steps).toBeGreaterThan(0);
  });
});
