import { describe, expect, it } from 'vitest';
import { sliceSequence } from '../../../models/feature-sequences.js';
import { MOTION_DIR, PATIENT_SPEC, publicRecordings } from '../../../models/bench/recordings.js';
import { hasMotionData, motionDir } from '../../helpers/motion-data.js';
import { rampSequence } from '../fixtures.js';

describe('publicRecordings', () => {
  it('looks where the test helper looks', () => {
    expect(MOTION_DIR).toBe(motionDir);
  });
  it.skipIf(!hasMotionData)('maps every shared recording to a subject and an assessment (UI-PRMD by its movement code)', () => {
    const specs = publicRecordings();
    expect(specs.some((s) => s.path === PATIENT_SPEC.path)).toBe(true);
    const squat = specs.find((s) => s.path.endsWith('vicon/m01_s03_e01_positions.txt'));
    expect(squat).toMatchObject({ assessment: 'squat', subject: 'uiprmd-s03' });
    const sts = specs.find((s) => s.path.endsWith('kinect/m05_s02_e01_positions_inc.txt'));
    expect(sts).toMatchObject({ assessment: 'sit_to_stand', subject: 'uiprmd-s02' });
    expect(specs.find((s) => s.path.endsWith('subject01_static.trc'))?.assessment).toBe('balance');
    expect(new Set(specs.map((s) => s.subject)).size).toBe(12);
    expect(specs.every((s) => !s.path.includes('_angles'))).toBe(true);
  });
});

describe('sliceSequence', () => {
  it('cuts frames [a, b) of x, t and poses and re-bases time', () => {
    const s = rampSequence(10);
    s.poses[3 * 60] = 7;
    const c = sliceSequence(s, 3, 6);
    expect(Array.from(c.x)).toEqual([3, 6, 4, 8, 5, 10]);
    expect(c.t[0]).toBe(0);
    expect(c.t[2]).toBeCloseTo(2 / 60, 12);
    expect(c.poses.length).toBe(180);
    expect(c.poses[0]).toBe(7);
  });
});
