// VideoPose3D arrays as numpy writes them: Fortran order and .npz archives (np.savez, stored, and
// np.savez_compressed, deflated), each built from a real CMU walk and read as the plain C-order .npy.
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { crc32, deflateRawSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AdapterError, AdapterErrorCode } from '../../../streams/errors.js';
import { detectFormat } from '../../../streams/adapters/detect.js';
import { readRecording } from '../../../streams/adapters/read-recording.js';
import { JOINT_INDEX, type JointName } from '../../../streams/skeleton.js';
import type { Recording } from '../../../streams/types.js';
import { hasMotionData, motion } from '../../helpers/motion-data.js';
import { npy } from './npy-writer.js';

let dir: string;
let poses: { n: number; values: number[] }; // (N, 17, 3) in C order, y up
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'adapters-vp-variants-'));
  if (!hasMotionData) return;
  const cmu = await readRecording(motion('cmu-bvh', '131_01.bvh'), { fps: 30 });
  // H36M-17 order; Spine and Neck/Nose are not read back, any finite point will do.
  const H36M: JointName[] = [
    'root',
    'right_hip',
    'right_knee',
    'right_ankle',
    'left_hip',
    'left_knee',
    'left_ankle',
    'chest',
    'chest',
    'neck',
    'head',
    'left_shoulder',
    'left_elbow',
    'left_wrist',
    'right_shoulder',
    'right_elbow',
    'right_wrist',
  ];
  const values = cmu.frames.flatMap((f) => H36M.flatMap((j) => Array.from(f.joints.subarray(JOINT_INDEX[j] * 3, JOINT_INDEX[j] * 3 + 3))));
  poses = { n: cmu.frames.length, values };
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

/**
 * An .npz as numpy's zipfile writes it (force_zip64): local headers with 0xFFFFFFFF sizes and a ZIP64
 * extra field, the real sizes in the central directory.
 */
function npz(members: Record<string, Uint8Array>, deflate: boolean): Uint8Array {
  const parts: Buffer[] = [];
  const central: Buffer[] = [];
  let offset = 0;
  for (const [key, data] of Object.entries(members)) {
    const name = Buffer.from(`${key}.npy`);
    const packed = deflate ? deflateRawSync(data) : Buffer.from(data);
    const crc = crc32(data);
    const local = Buffer.alloc(30 + name.length + 20);
    local.writeUInt32LE(0x04034b50, 0);
    local.writeUInt16LE(45, 4);
    local.writeUInt16LE(deflate ? 8 : 0, 8);
    local.writeUInt32LE(crc, 14);
    local.writeUInt32LE(0xffffffff, 18);
    local.writeUInt32LE(0xffffffff, 22);
    local.writeUInt16LE(name.length, 26);
    local.writeUInt16LE(20, 28);
    name.copy(local, 30);
    local.writeUInt16LE(1, 30 + name.length);
    local.writeUInt16LE(16, 32 + name.length);
    local.writeBigUInt64LE(BigInt(data.length), 34 + name.length);
    local.writeBigUInt64LE(BigInt(packed.length), 42 + name.length);
    const entry = Buffer.alloc(46 + name.length);
    entry.writeUInt32LE(0x02014b50, 0);
    entry.writeUInt16LE(45, 4);
    entry.writeUInt16LE(45, 6);
    entry.writeUInt16LE(deflate ? 8 : 0, 10);
    entry.writeUInt32LE(crc, 16);
    entry.writeUInt32LE(packed.length, 20);
    entry.writeUInt32LE(data.length, 24);
    entry.writeUInt16LE(name.length, 28);
    entry.writeUInt32LE(offset, 42);
    name.copy(entry, 46);
    parts.push(local, packed);
    central.push(entry);
    offset += local.length + packed.length;
  }
  const dirBytes = Buffer.concat(central);
  const end = Buffer.alloc(22);
  end.writeUInt32LE(0x06054b50, 0);
  end.writeUInt16LE(central.length, 8);
  end.writeUInt16LE(central.length, 10);
  end.writeUInt32LE(dirBytes.length, 12);
  end.writeUInt32LE(offset, 16);
  return Buffer.concat([...parts, dirBytes, end]);
}

async function read(name: string, bytes: Uint8Array, opts: { array?: string } = {}): Promise<Recording> {
  await writeFile(join(dir, name), bytes);
  return readRecording(join(dir, name), { axes: 'y-up', sourceFps: 30, fps: 30, ...opts });
}

async function failure(name: string, bytes: Uint8Array, opts: { array?: string } = {}): Promise<AdapterError> {
  const err = await read(name, bytes, opts).catch((e: unknown) => e);
  expect(err).toBeInstanceOf(AdapterError);
  return err as AdapterError;
}

describe.skipIf(!hasMotionData)('VideoPose3D arrays as numpy writes them (real CMU walk)', () => {
  it('a Fortran-ordered .npy (float64 and float32) reads as the C-order file', async () => {
    const shape = [poses.n, 17, 3];
    const c = await read('c.npy', npy(shape, poses.values));
    expect(c.frames).toHaveLength(poses.n);
    const f = await read('f.npy', npy(shape, poses.values, { fortran: true }));
    expect(f.frames).toEqual(c.frames);
    const c32 = await read('c32.npy', npy(shape, poses.values, { dtype: '<f4' }));
    const f32 = await read('f32.npy', npy(shape, poses.values, { dtype: '<f4', fortran: true }));
    expect(f32.frames).toEqual(c32.frames);
  });

  it('.npz archives, stored (np.savez) and deflated (np.savez_compressed), read as the .npy inside', async () => {
    const array = npy([poses.n, 17, 3], poses.values);
    const plain = await read('plain.npy', array);
    for (const deflate of [false, true]) {
      const bytes = npz({ positions_3d: array }, deflate);
      expect(detectFormat('poses.npz', bytes)).toBe('videopose3d');
      expect(detectFormat('poses.bin', bytes)).toBe('videopose3d'); // by its first member, not the name
      const rec = await read(`poses${deflate ? '_z' : ''}.npz`, bytes);
      expect(rec.frames).toEqual(plain.frames);
      expect(rec.meta.provenance[0]!.notes).toContain('array "positions_3d" of the .npz archive');
    }
  });

  it('.npz with two pose arrays needs the `array` option; other members are passed over; no poses at all is MALFORMED', async () => {
    const array = npy([poses.n, 17, 3], poses.values);
    const half = npy([10, 17, 3], poses.values.slice(0, 10 * 51));
    const two = npz({ prediction: array, ground_truth: half, fps: npy([], [30]) }, true);
    const e = await failure('two.npz', two);
    expect(e.code).toBe(AdapterErrorCode.MALFORMED);
    expect(e.message).toMatch(/2 \(N, 17, 3\) arrays \(prediction, ground_truth\)/);
    expect((await read('two.npz', two, { array: 'ground_truth' })).frames).toHaveLength(10);
    expect((await failure('two.npz', two, { array: 'pred' })).message).toMatch(/no array "pred"/);
    // One pose array beside a scalar is not ambiguous.
    expect((await read('one.npz', npz({ keypoints: array, fps: npy([], [30]) }, false))).frames).toHaveLength(poses.n);
    // VideoPose3D's own dataset archives pickle a dict of arrays: refused, saying so.
    const pickled = await failure('pickled.npz', npz({ positions_3d: npy([], [0], { dtype: '|O' }) }, true));
    expect(pickled.code).toBe(AdapterErrorCode.MALFORMED);
    expect(pickled.message).toMatch(/no \(N, 17, 3\) array: positions_3d \(it holds pickled Python objects/);
  });

  it('a cut or damaged .npz is TRUNCATED or MALFORMED', async () => {
    const bytes = npz({ positions_3d: npy([poses.n, 17, 3], poses.values) }, true);
    expect((await failure('cut.npz', bytes.subarray(0, bytes.length >> 1))).code).toBe(AdapterErrorCode.TRUNCATED);
    const flipped = Buffer.from(bytes);
    flipped[200] = (flipped[200]! + 1) & 0xff; // inside the deflated member
    expect((await failure('flipped.npz', flipped)).code).toBe(AdapterErrorCode.MALFORMED);
  });
});
