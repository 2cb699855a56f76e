import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AdapterError, AdapterErrorCode } from '../../../streams/errors.js';
import { readRecording } from '../../../streams/adapters/read-recording.js';
import { parseNpy } from '../../../streams/adapters/videopose.js';
import { JOINTS, JOINT_INDEX, type JointName } from '../../../streams/skeleton.js';
import type { Recording } from '../../../streams/types.js';
import { hasMotionData, motion } from '../../helpers/motion-data.js';
import { pos } from './helpers.js';
import { npy } from './npy-writer.js';

let dir: string;
let cmu: Recording;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'adapters-vp-'));
  if (hasMotionData) cmu = await readRecording(motion('cmu-bvh', '131_02.bvh'), { fps: 30 });
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

/** H36M-17 from canonical joints (Spine/Thorax/Neck-Nose built from root/chest/neck/head). */
function toH36m(rec: Recording, yDown: boolean): number[][][] {
  const H: (JointName | [JointName, JointName, number])[] = [
    'root',
    'right_hip',
    'right_knee',
    'right_ankle',
    'left_hip',
    'left_knee',
    'left_ankle',
    ['root', 'neck', 0.5],
    'neck',
    ['neck', 'head', 0.5],
    'head',
    'left_shoulder',
    'left_elbow',
    'left_wrist',
    'right_shoulder',
    'right_elbow',
    'right_wrist',
  ];
  return rec.frames.map((_, i) =>
    H.map((h) => {
      const p = Array.isArray(h) ? pos(rec, i, h[0]).map((v, c) => v + (pos(rec, i, h[1])[c]! - v) * h[2]) : pos(rec, i, h);
      return yDown ? [p[0]!, -p[1]!, -p[2]!] : [p[0]!, p[1]!, p[2]!];
    }),
  );
}

describe.skipIf(!hasMotionData)('VideoPose3D (17-joint H36M) from a real CMU walk', () => {
  it('JSON {fps, keypoints} in y-down camera space comes back y up at the source positions', async () => {
    const path = join(dir, 'walk.json');
    await writeFile(path, JSON.stringify({ fps: 30, keypoints: toH36m(cmu, true) }));
    const rec = await readRecording(path, { fps: 30 });
    expect(rec.meta.provenance[0]).toMatchObject({ format: 'videopose3d', originalFps: 30 });
    expect(rec.frames).toHaveLength(cmu.frames.length);
    for (const j of ['root', 'left_knee', 'right_wrist', 'head'] as const) {
      const a = pos(rec, 40, j);
      const b = pos(cmu, 40, j);
      a.forEach((v, c) => expect(v).toBeCloseTo(b[c]!, 5));
    }
    expect(rec.meta.available).not.toContain('left_toe');
    expect(rec.meta.available).not.toContain('left_heel');
    expect(pos(rec, 0, 'head')[1]).toBeGreaterThan(pos(rec, 0, 'root')[1]);
  });

  it('.npy float32 and float64 of shape (N, 17, 3), y up via the axes option; bare JSON array uses sourceFps', async () => {
    const arr = toH36m(cmu, false);
    const flat = arr.flat(2);
    for (const dtype of ['<f4', '<f8'] as const) {
      const path = join(dir, `walk${dtype === '<f4' ? 32 : 64}.npy`);
      await writeFile(path, npy([arr.length, 17, 3], flat, { dtype }));
      const rec = await readRecording(path, { axes: 'y-up', sourceFps: 30, fps: 30 });
      expect(rec.frames).toHaveLength(arr.length);
      expect(pos(rec, 10, 'left_ankle')[1]).toBeCloseTo(pos(cmu, 10, 'left_ankle')[1], 5);
    }
    await writeFile(join(dir, 'bare.json'), JSON.stringify(arr.slice(0, 31)));
    const bare = await readRecording(join(dir, 'bare.json'), { axes: 'y-up', sourceFps: 30 });
    expect(bare.meta.provenance[0]!.originalFps).toBe(30);
    expect(bare.frames.at(-1)!.t).toBeCloseTo(1, 9);
  });

  it('bad .npy: wrong shape, big-endian dtype, truncated data', async () => {
    const code = async (name: string, bytes: Uint8Array): Promise<string> => {
      await writeFile(join(dir, name), bytes);
      const e = await readRecording(join(dir, name)).catch((x: unknown) => x);
      expect(e).toBeInstanceOf(AdapterError);
      return (e as AdapterError).code;
    };
    expect(await code('shape.npy', npy([2, 16, 3], Array(96).fill(0), { dtype: '<f4' }))).toBe(AdapterErrorCode.MALFORMED);
    const be = npy([1, 17, 3], Array(51).fill(0), { dtype: '<f4' });
    be.set(new TextEncoder().encode('>'), 10 + "{'descr': '".length);
    expect(await code('be.npy', be)).toBe(AdapterErrorCode.MALFORMED);
    const full = npy([3, 17, 3], Array(153).fill(0.5), { dtype: '<f8' });
    expect(await code('cut.npy', full.subarray(0, full.length - 100))).toBe(AdapterErrorCode.TRUNCATED);
    expect(() => parseNpy('x.npy', full)).not.toThrow();
  });
});

describe.skipIf(!hasMotionData)('generic CSV/JSON skeletons with phase labels, and scores', () => {
  it('CSV in mm with a phase column round-trips a real Shida walk; labels become meta.phaseLabels', async () => {
    const shida = await readRecording(motion('shida-pd-gait', 'figshare_pd_SUB05_off_walk_8.c3d'), { fps: 50 });
    const hs = shida.meta.annotations.filter((a) => a.side === 'right');
    // Right stance from each right heel strike to the next right toe-off, swing otherwise.
    const phaseAt = (t: number): string => {
      const last = [...hs].reverse().find((a) => a.t_s <= t);
      return !last ? '' : last.type === 'heel_strike' ? 'stance' : 'swing';
    };
    const header = ['t', ...JOINTS.flatMap((j) => ['x', 'y', 'z'].map((a) => `${j}_${a}`)), 'phase'];
    const rows = shida.frames.map((f) =>
      [f.t.toFixed(4), ...Array.from(f.joints, (v) => (Number.isNaN(v) ? 'nan' : (v * 1000).toFixed(3))), phaseAt(f.t)].join(','),
    );
    const path = join(dir, 'walk.csv');
    await writeFile(path, [header.join(','), ...rows].join('\n'));
    const rec = await readRecording(path, { units: 'mm', fps: 50 });
    expect(rec.meta.provenance[0]).toMatchObject({ format: 'csv', units: 'mm' });
    expect(rec.meta.provenance[0]!.originalFps).toBeCloseTo(50, 3);
    expect(rec.frames).toHaveLength(shida.frames.length);
    expect(pos(rec, 77, 'left_knee')[1]).toBeCloseTo(pos(shida, 77, 'left_knee')[1], 4);
    expect(rec.meta.available).toEqual(shida.meta.available);
    const labels = rec.meta.phaseLabels;
    expect(labels.length).toBeGreaterThan(10);
    expect(new Set(labels.map((l) => l.name))).toEqual(new Set(['stance', 'swing']));
    const firstStance = labels.find((l) => l.name === 'stance')!;
    expect(Math.abs(firstStance.start_s - hs.find((a) => a.type === 'heel_strike')!.t_s)).toBeLessThan(0.021);
    labels.forEach((l, i) => i > 0 && expect(l.start_s).toBeCloseTo(labels[i - 1]!.end_s, 9));
  });

  it('JSON frames with phases; scores beside the file are attached; bad columns and joints are MALFORMED', async () => {
    const frames = cmu.frames.slice(0, 31).map((f, i) => ({
      t: 2 + f.t,
      joints: Object.fromEntries(JOINTS.map((j) => [j, Array.from(f.joints.subarray(JOINT_INDEX[j] * 3, JOINT_INDEX[j] * 3 + 3))])),
      phase: i < 15 ? 'static' : 'transition',
    }));
    const path = join(dir, 'poses.json');
    await writeFile(path, JSON.stringify({ frames }));
    await writeFile(join(dir, 'poses_scores.csv'), 'name,score\nberg_balance,52\nfalls_risk,low\n');
    const rec = await readRecording(path, { fps: 30 });
    expect(rec.frames[0]!.t).toBe(0);
    expect(rec.meta.phaseLabels).toEqual([
      { name: 'static', start_s: 0, end_s: expect.closeTo(0.5, 6) as unknown as number },
      { name: 'transition', start_s: expect.closeTo(0.5, 6) as unknown as number, end_s: expect.closeTo(1, 6) as unknown as number },
    ]);
    expect(rec.meta.scores).toEqual({ berg_balance: 52, falls_risk: 'low' });
    expect(rec.meta.provenance.at(-1)).toMatchObject({ format: 'scores' });
    await writeFile(join(dir, 'typo.csv'), 't,left_kne_x,left_kne_y,left_kne_z\n0,1,1,1\n');
    const e1 = await readRecording(join(dir, 'typo.csv'), { format: 'csv' }).catch((x: unknown) => x);
    expect((e1 as AdapterError).code).toBe(AdapterErrorCode.MALFORMED);
    expect((e1 as AdapterError).message).toMatch(/left_kne_x/);
    await writeFile(join(dir, 'badjoint.json'), JSON.stringify({ frames: [{ t: 0, joints: { pelvis: [0, 1, 0] } }] }));
    const e2 = await readRecording(join(dir, 'badjoint.json')).catch((x: unknown) => x);
    expect((e2 as AdapterError).code).toBe(AdapterErrorCode.MALFORMED);
    await writeFile(join(dir, 'only_scores.json'), JSON.stringify({ scores: { tug_s: 9.5 } }));
    const e3 = await readRecording(join(dir, 'only_scores.json')).catch((x: unknown) => x);
    expect((e3 as AdapterError).code).toBe(AdapterErrorCode.UNKNOWN_FORMAT);
  });
});
