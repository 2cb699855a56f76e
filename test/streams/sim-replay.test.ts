// Stage 4 on real recordings: a clean gait replays without penetration; the same recording pushed into
// the floor, stretched, teleported or leaning out of its base of support is flagged at exactly those frames.
import { from, lastValueFrom, toArray } from 'rxjs';
import { beforeAll, describe, expect, it } from 'vitest';
import { readRecording } from '../../streams/adapters/read-recording.js';
import type { MetricsFrame } from '../../streams/metrics.js';
import { sessionPipeline } from '../../streams/session-pipeline.js';
import { convexHull, flagNames, outsideDistance, SimFlag, simReplay, simReplayLog, type PoseTrack } from '../../streams/sim-replay.js';
import { JOINT_INDEX, JOINTS } from '../../streams/skeleton.js';
import type { Assessment } from '../../streams/types.js';
import { hasMotionData, motion } from '../helpers/motion-data.js';

async function states(path: string, assessment: Assessment): Promise<MetricsFrame[]> {
  const rec = await readRecording(path);
  return lastValueFrom(from(rec.frames).pipe(sessionPipeline({ assessment, fps: rec.meta.fps }), toArray()));
}

function track(s: readonly MetricsFrame[]): PoseTrack {
  const joints = new Float32Array(s.length * 60);
  s.forEach((f, i) => joints.set(f.joints, i * 60));
  return { t: s.map((f) => f.t), joints, contacts: s.map((f) => f.contacts) };
}

describe('convex hull and signed distance', () => {
  it('is negative inside a square and positive outside, by the distance to the nearest edge', () => {
    const sq = convexHull([
      [0, 0],
      [1, 0],
      [1, 1],
      [0, 1],
      [0.5, 0.5],
    ]);
    expect(sq).toHaveLength(4);
    expect(outsideDistance(sq, 0.5, 0.25)).toBeCloseTo(-0.25, 9);
    expect(outsideDistance(sq, 1.5, 0.5)).toBeCloseTo(0.5, 9);
  });
});

describe.skipIf(!hasMotionData)('sim replay (stage 4) on real recordings', () => {
  let walk: MetricsFrame[];
  beforeAll(async () => {
    walk = await states(motion('opensim-gait', 'subject01_walk1.trc'), 'gait');
  });

  it('replays a clean marker-based walk: no penetration, rigid segments, physiological speeds', async () => {
    const log = await lastValueFrom(from(walk).pipe(simReplay({ assessment: 'gait' })));
    expect(log.frames).toBe(walk.length);
    expect(log.flags).toHaveLength(walk.length);
    expect(log.summary.penetration).toEqual([]);
    expect(log.summary.by_flag.JOINT_SPEED).toBe(0);
    expect(log.summary.max_joint_speed_mps).toBeGreaterThan(2); // the swing foot
    expect(log.summary.max_joint_speed_mps).toBeLessThan(10);
    const thigh = log.summary.bones.find((b) => b.segment === 'right_hip-right_knee');
    expect(thigh?.cv).toBeLessThan(0.02);
    expect(log.summary.passed).toBe(true);
  });

  it('flags a foot pushed into the floor, per foot, with depth and duration', () => {
    const tr = track(walk);
    const joints = tr.joints.slice();
    // Frames 40..59 sink by 6 cm: both feet go 6 cm minus their clearance below the floor.
    for (let i = 40; i < 60; i++) for (let j = 0; j < JOINTS.length; j++) joints[i * 60 + 3 * j + 1]! -= 0.06;
    const log = simReplayLog({ ...tr, joints }, { assessment: 'gait' });
    const stance = log.summary.penetration.filter((e) => e.start_s >= walk[40]!.t - 1e-9 && e.end_s <= walk[59]!.t + 1e-9);
    expect(stance.length).toBeGreaterThan(0);
    for (const e of stance) expect(e.max_depth_m).toBeGreaterThan(0.01);
    expect(Math.max(...stance.map((e) => e.max_depth_m))).toBeLessThan(0.07);
    expect(log.flags.slice(0, 40).some((f) => (f & (SimFlag.PENETRATION_LEFT | SimFlag.PENETRATION_RIGHT)) !== 0)).toBe(false);
  });

  it('flags a stretched shank, a teleported wrist and its acceleration at those frames only', () => {
    const tr = track(walk);
    const joints = tr.joints.slice();
    const ankle = JOINT_INDEX.right_ankle;
    joints[70 * 60 + 3 * ankle + 1]! -= 0.12; // shank 12 cm longer at frame 70
    const wrist = JOINT_INDEX.left_wrist;
    joints[100 * 60 + 3 * wrist]! += 0.5; // 0.5 m in one frame = 30 m/s
    const log = simReplayLog({ ...tr, joints }, { assessment: 'gait' });
    expect(flagNames(log.flags[70]!)).toContain('BONE_LENGTH');
    expect(flagNames(log.flags[100]!)).toEqual(expect.arrayContaining(['JOINT_SPEED', 'JOINT_ACCEL', 'BONE_LENGTH']));
    expect(log.flags[20]).toBe(0);
  });

  it('balance: flags the centre of mass leaving the base of support', async () => {
    const stand = await states(motion('opensim-gait', 'subject01_static.trc'), 'balance');
    const clean = simReplayLog(track(stand), { assessment: 'balance' });
    expect(clean.summary.com_outside_bos_fraction).toBe(0);
    // Upper body 40 cm forward from frame 100 on: the CoM passes the toes.
    const tr = track(stand);
    const joints = tr.joints.slice();
    const upper = ['chest', 'neck', 'head', 'left_shoulder', 'right_shoulder', 'left_elbow', 'right_elbow', 'left_wrist', 'right_wrist', 'root'] as const;
    const fwd = stand[0]!.heading;
    for (let i = 100; i < stand.length; i++)
      for (const n of upper) {
        joints[i * 60 + 3 * JOINT_INDEX[n]]! += 0.4 * fwd[0];
        joints[i * 60 + 3 * JOINT_INDEX[n] + 2]! += 0.4 * fwd[2];
      }
    const log = simReplayLog({ ...tr, joints }, { assessment: 'balance' });
    expect(log.flags.slice(0, 100).every((f) => (f & SimFlag.COM_OUTSIDE_BOS) === 0)).toBe(true);
    expect(log.flags.slice(101).every((f) => (f & SimFlag.COM_OUTSIDE_BOS) !== 0)).toBe(true);
  });
});
