import { copyFile, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AdapterError, AdapterErrorCode } from '../../../streams/errors.js';
import { readRecording } from '../../../streams/adapters/read-recording.js';
import { kinectFk, uiprmdLabels } from '../../../streams/adapters/uiprmd.js';
import { hasMotionData, motion, motionFiles } from '../../helpers/motion-data.js';
import { median, pos, segment } from './helpers.js';

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'adapters-uiprmd-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('Kinect FK recipe (synthetic)', () => {
  it('R_local = Rz(c)·Rx(a)·Ry(b), children offset in the parent frame', () => {
    const positions = new Float64Array(66);
    const angles = new Float64Array(66);
    positions.set([0, 100, 0], 0); // waist
    positions.set([10, 0, 0], 14 * 3); // left hip 10 cm along the waist's x
    positions.set([0, -40, 0], 15 * 3); // knee 40 cm below the hip, in the hip frame
    angles.set([0, 0, 90], 0); // waist: Rz(90°) turns x into y
    angles.set([90, 0, 0], 14 * 3); // hip: Rx(90°) turns −y into −z
    const w = kinectFk(positions, angles);
    expect([w[42], w[43], w[44]].map((v) => Math.round(v! * 1e6) / 1e6)).toEqual([0, 110, 0]);
    // knee = hip + Rz(90)·Rx(90)·(0, −40, 0) = hip + Rz(90)·(0, 0, −40) = hip + (0, 0, −40)
    expect(w[45]).toBeCloseTo(0, 9);
    expect(w[46]).toBeCloseTo(110, 9);
    expect(w[47]).toBeCloseTo(-40, 9);
  });
});

describe.skipIf(!hasMotionData)('UI-PRMD (real recordings)', () => {
  it('Kinect squats: ankles 5–15 cm above the floor through the squat (FK correctness), 30 Hz, cm → m', async () => {
    for (const id of ['m01_s01_e01', 'm01_s02_e01', 'm01_s03_e01', 'm01_s04_e01', 'm01_s05_e01']) {
      const rec = await readRecording(motion('ui-prmd', 'kinect', `${id}_positions.txt`), { fps: 30 });
      expect(rec.meta.provenance[0]).toMatchObject({ format: 'uiprmd-kinect', originalFps: 30 });
      expect(rec.meta.provenance[1]!.file).toMatch(new RegExp(`${id}_angles\\.txt$`));
      for (const side of ['left', 'right'] as const) {
        const ys = rec.frames.map((_, i) => pos(rec, i, `${side}_ankle`)[1]);
        const m = median(ys);
        expect(m).toBeGreaterThan(0.05);
        expect(m).toBeLessThan(0.15);
        expect(ys.filter((y) => y > 0.25).length).toBe(0);
        const thigh = segment(rec, `${side}_hip`, `${side}_knee`);
        expect(thigh).toBeGreaterThan(0.33);
        expect(thigh).toBeLessThan(0.45);
      }
      // The waist drops from ~0.9 m to 0.25–0.45 m at the bottom of a deep squat.
      const root = rec.frames.map((_, i) => pos(rec, i, 'root')[1]);
      expect(Math.min(...root)).toBeLessThan(0.5);
      expect(Math.max(...root)).toBeGreaterThan(0.8);
      // +x = the subject's left (README).
      expect(pos(rec, 0, 'left_hip')[0]).toBeGreaterThan(pos(rec, 0, 'right_hip')[0]);
    }
  });

  it('Kinect: either file of the pair works (keeping _inc); a missing pair is MISSING_PAIR', async () => {
    const a = await readRecording(motion('ui-prmd', 'kinect', 'm01_s01_e01_angles_inc.txt'));
    const b = await readRecording(motion('ui-prmd', 'kinect', 'm01_s01_e01_positions_inc.txt'));
    expect(a.frames).toHaveLength(b.frames.length);
    expect(a.frames[10]!.joints).toEqual(b.frames[10]!.joints);
    expect(a.meta.provenance[0]!.file).toMatch(/m01_s01_e01_positions_inc\.txt$/);
    await copyFile(motion('ui-prmd', 'kinect', 'm01_s01_e01_positions.txt'), join(dir, 'm01_s01_e01_positions.txt'));
    const err = await readRecording(join(dir, 'm01_s01_e01_positions.txt')).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(AdapterError);
    expect((err as AdapterError).code).toBe(AdapterErrorCode.MISSING_PAIR);
    expect((err as AdapterError).message).toMatch(/m01_s01_e01_angles\.txt/);
  });

  it('Vicon: 100 Hz, z up → y up (toe markers 35–65 mm up), dropouts (0,0,0) become gaps, left is left', async () => {
    const files = motionFiles('ui-prmd/vicon', /_positions/);
    expect(files).toHaveLength(21);
    for (const file of files) {
      const rec = await readRecording(file);
      const prov = rec.meta.provenance[0]!;
      expect(prov).toMatchObject({ format: 'uiprmd-vicon', originalFps: 100, units: 'mm' });
      // Each foot is on the floor at some point in every episode: its lowest toe height.
      for (const side of ['left', 'right'] as const) {
        const toe = Math.min(...rec.frames.map((_, i) => pos(rec, i, `${side}_toe`)[1]));
        expect(toe).toBeGreaterThan(0.035);
        expect(toe).toBeLessThan(0.065);
      }
      // +x forward, z up, +y left → after conversion left = −z.
      expect(pos(rec, 0, 'left_hip')[2]).toBeLessThan(pos(rec, 0, 'right_hip')[2]);
      for (const side of ['left', 'right'] as const) {
        // The pelvis markers are ~42 cm apart (not on the ASIS), so the hip centre is uncertain by a
        // few cm: thighs read 0.32–0.44 m here (Harrington, width clamped to its calibration range).
        const thigh = segment(rec, `${side}_hip`, `${side}_knee`);
        expect(thigh).toBeGreaterThan(0.3);
        expect(thigh).toBeLessThan(0.5);
        const shank = segment(rec, `${side}_knee`, `${side}_ankle`);
        expect(shank).toBeGreaterThan(0.33);
        expect(shank).toBeLessThan(0.5);
      }
    }
    const strn = await readRecording(motion('ui-prmd', 'vicon', 'm01_s05_e01_positions.txt'));
    expect(strn.meta.gaps.some((g) => g.joint === 'chest')).toBe(true);
    const noClav = await readRecording(motion('ui-prmd', 'vicon', 'm06_s03_e01_positions.txt'));
    expect(noClav.meta.provenance[0]!.jointMap.neck).toBe('mid-point of the shoulder markers');
  });
});

describe('UI-PRMD labels from file names', () => {
  it('maps movement codes onto assessments and keeps the subject', () => {
    expect(uiprmdLabels('m01_s03_e01_positions.txt')).toEqual({ assessment: 'squat', subject: 'uiprmd-s03' });
    expect(uiprmdLabels('m05_s01_e01_angles_inc.txt')).toEqual({ assessment: 'sit_to_stand', subject: 'uiprmd-s01' });
    expect(uiprmdLabels('m06_s02_e01_positions.txt')).toEqual({ assessment: 'balance', subject: 'uiprmd-s02' });
    expect(uiprmdLabels('m02_s01_e01_positions.txt')).toEqual({ subject: 'uiprmd-s01' });
    expect(uiprmdLabels('walk.txt')).toEqual({});
  });
});
