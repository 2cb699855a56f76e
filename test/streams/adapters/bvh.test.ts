import { readFile } from 'node:fs/promises';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AdapterError, AdapterErrorCode } from '../../../streams/errors.js';
import { readRecording } from '../../../streams/adapters/read-recording.js';
import { hasMotionData, motion } from '../../helpers/motion-data.js';
import { medianCoord, pos, segment } from './helpers.js';

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'adapters-bvh-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

/** A two-leg skeleton in metres with channels in an unusual order, for exact FK answers. */
const tiny = (frames: string[], units = 1): string =>
  [
    'HIERARCHY',
    'ROOT Hips',
    '{',
    '  OFFSET 0 0 0',
    '  CHANNELS 6 Xposition Yposition Zposition Yrotation Xrotation Zrotation',
    ...['Left', 'Right'].flatMap((s, k) => [
      `  JOINT ${s}UpLeg`,
      '  {',
      `    OFFSET ${(k === 0 ? 0.1 : -0.1) * units} 0 0`,
      '    CHANNELS 3 Xrotation Yrotation Zrotation',
      `    JOINT ${s}Leg`,
      '    {',
      `      OFFSET 0 ${-0.42 * units} 0`,
      '      CHANNELS 3 Xrotation Yrotation Zrotation',
      `      JOINT ${s}Foot`,
      '      {',
      `        OFFSET 0 ${-0.4 * units} 0`,
      '        CHANNELS 3 Zrotation Xrotation Yrotation',
      `        End Site`,
      '        {',
      `          OFFSET 0 0 ${0.15 * units}`,
      '        }',
      '      }',
      '    }',
      '  }',
    ]),
    '}',
    'MOTION',
    `Frames: ${frames.length}`,
    'Frame Time: 0.01',
    ...frames,
  ].join('\r\n');

describe('BVH adapter', () => {
  it('exact FK on a synthetic skeleton: a 90° hip flexion puts the knee in front', async () => {
    const zero = Array(24).fill(0);
    const flex = [...zero];
    flex[1] = 1; // root y = 1 m
    flex[6] = -90; // LeftUpLeg Xrotation −90°: leg swings to +z
    const rest = [...zero];
    rest[1] = 1;
    const path = join(dir, 'tiny.bvh');
    await writeFile(path, tiny([rest.join(' '), flex.join(' ')]));
    const rec = await readRecording(path, { fps: 100 });
    expect(rec.frames).toHaveLength(2);
    expect(rec.meta.provenance[0]!.units).toBe('m');
    const k0 = pos(rec, 0, 'left_knee');
    expect(k0[0]).toBeCloseTo(0.1, 6);
    expect(k0[1]).toBeCloseTo(0.58, 6);
    const k1 = pos(rec, 1, 'left_knee');
    expect(k1[1]).toBeCloseTo(1, 6);
    expect(k1[2]).toBeCloseTo(0.42, 6);
    expect(rec.meta.available).not.toContain('head');
    expect(rec.meta.available).not.toContain('left_toe'); // End Site is not a joint we map
  });

  it('detects cm from the skeleton size and scales to metres', async () => {
    const path = join(dir, 'cm.bvh');
    const f = Array(24).fill(0);
    f[1] = 100;
    await writeFile(path, tiny([f.join(' ')], 100));
    const rec = await readRecording(path);
    expect(rec.meta.provenance[0]!.units).toBe('cm');
    expect(pos(rec, 0, 'left_ankle')[1]).toBeCloseTo(0.18, 6);
  });

  it('a BVH cut mid-frame or with fewer frames than declared is TRUNCATED', async () => {
    const f = Array(24).fill(0).join(' ');
    const text = tiny([f, f, f]);
    for (const [name, body] of [
      ['cut.bvh', text.slice(0, text.length - 10)],
      ['fewer.bvh', text.replace('Frames: 3', 'Frames: 5')],
    ] as const) {
      await writeFile(join(dir, name), body);
      const err = await readRecording(join(dir, name)).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(AdapterError);
      expect((err as AdapterError).code).toBe(AdapterErrorCode.TRUNCATED);
    }
  });

  describe.skipIf(!hasMotionData)('CMU subject 131', () => {
    it('131_01: 994 frames at 120 Hz, CMU units detected, thigh 0.41 m, standing pelvis ≈ 0.95 m', async () => {
      const file = motion('cmu-bvh', '131_01.bvh');
      const rec = await readRecording(file);
      const prov = rec.meta.provenance[0]!;
      expect(prov).toMatchObject({ format: 'bvh', units: 'CMU units (×0.056444)' });
      expect(prov.originalFps).toBe(120);
      expect(rec.frames.at(-1)!.t).toBeCloseTo(993 / 120, 1);
      expect(segment(rec, 'left_hip', 'left_knee')).toBeCloseTo(0.41, 2);
      expect(segment(rec, 'left_knee', 'left_ankle')).toBeCloseTo(0.39, 2);
      expect(pos(rec, 0, 'root')[1]).toBeGreaterThan(0.9);
      expect(pos(rec, 0, 'root')[1]).toBeLessThan(1.0);
      expect(prov.jointMap.left_heel).toMatch(/ESTIMATED/);
      expect(rec.meta.available).toHaveLength(20);
      // Faces +z in the rest pose, +x = subject's left (README): the left hip has the larger x.
      expect(pos(rec, 0, 'left_hip')[0]).toBeGreaterThan(pos(rec, 0, 'right_hip')[0]);
      // Crouching dip: README pelvis 0.95 → 0.57 m; the Hips joint bottoms out at 0.50 m.
      const ys = rec.frames.map((_, i) => pos(rec, i, 'root')[1]);
      expect(Math.min(...ys)).toBeGreaterThan(0.45);
      expect(Math.min(...ys)).toBeLessThan(0.65);
      expect(medianCoord(rec, 'head', 1)).toBeGreaterThan(1.25);
    });

    it('131_02 (mixed CRLF/LF) loads: 1247 frames, walks ≈ 1.7 m along +z', async () => {
      const text = await readFile(motion('cmu-bvh', '131_02.bvh'), 'latin1');
      expect(text).toMatch(/\r\n/);
      const rec = await readRecording(motion('cmu-bvh', '131_02.bvh'), { fps: 120 });
      expect(rec.frames).toHaveLength(1247);
      const dz = pos(rec, 1246, 'root')[2] - pos(rec, 0, 'root')[2];
      expect(dz).toBeGreaterThan(1.3);
      expect(dz).toBeLessThan(2.1);
    });
  });
});
