import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { crc32 as zlibCrc32 } from 'node:zlib';
import { afterAll, describe, expect, it } from 'vitest';
import { crc32, decodeNpy, decodeNpz, encodeNpy, encodeNpz, NpzError, NpzErrorCode, type NpyArray } from '../../models/npz.js';

const dir = mkdtempSync(join(tmpdir(), 'npz-test-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const sample = (): Record<string, NpyArray> => ({
  x_t: { dtype: '<f4', shape: [3, 2], data: Float32Array.from([1, 2, 3, 4, 5.5, -6]) },
  dh: { dtype: '<i4', shape: [3], data: Int32Array.from([1, 7, 30]) },
  scalar: { dtype: '<f8', shape: [], data: Float64Array.from([Math.PI]) },
  empty: { dtype: '<f4', shape: [0, 4], data: new Float32Array(0) },
});

// numpy is installed on this machine (python3-numpy); the numpy cross-check says so when it is not.
const hasNumpy = (() => {
  try {
    execFileSync('python3', ['-c', 'import numpy'], { stdio: 'ignore' });
    return true;
  } catch {
    if (process.env.CI === 'true') throw new Error('numpy is required under CI=true for the NPZ cross-check');
    process.stderr.write('[npz.test] python3 numpy not available: numpy cross-check skipped\n');
    return false;
  }
})();

describe('NPY', () => {
  it('writes a v1.0 header padded to 64 bytes with the exact dict', () => {
    const buf = encodeNpy(sample().x_t!);
    expect(buf.subarray(0, 8)).toEqual(Buffer.from([0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59, 1, 0]));
    const len = buf.readUInt16LE(8);
    expect((10 + len) % 64).toBe(0);
    const header = buf.toString('latin1', 10, 10 + len);
    expect(header.trimEnd()).toBe("{'descr': '<f4', 'fortran_order': False, 'shape': (3, 2), }");
    expect(header.endsWith('\n')).toBe(true);
    expect(buf.length).toBe(10 + len + 6 * 4);
    expect(new Float32Array(buf.buffer.slice(buf.byteOffset + 10 + len, buf.byteOffset + buf.length))).toEqual(sample().x_t!.data);
  });
  it('writes 1-d shapes with the trailing comma', () => {
    const buf = encodeNpy(sample().dh!);
    expect(buf.toString('latin1', 10, 10 + buf.readUInt16LE(8))).toContain("'shape': (3,), }");
  });
  it('rejects a shape that does not hold the data, and a wrong array type', () => {
    expect(() => encodeNpy({ dtype: '<f4', shape: [2, 2], data: new Float32Array(3) })).toThrow(NpzError);
    try {
      encodeNpy({ dtype: '<f8', shape: [1], data: new Float32Array(1) }, 'm');
    } catch (e) {
      expect(e).toBeInstanceOf(NpzError);
      expect((e as NpzError).code).toBe(NpzErrorCode.SHAPE_MISMATCH);
      expect((e as NpzError).member).toBe('m');
    }
  });
  it('rejects bad magic and truncation with codes', () => {
    expect(() => decodeNpy(Buffer.from('hello world'))).toThrow(expect.objectContaining({ code: NpzErrorCode.BAD_MAGIC }));
    const buf = encodeNpy(sample().x_t!);
    expect(() => decodeNpy(buf.subarray(0, buf.length - 1))).toThrow(expect.objectContaining({ code: NpzErrorCode.TRUNCATED }));
  });
});

describe('CRC-32', () => {
  it('matches the check value and zlib', () => {
    expect(crc32(Buffer.from('123456789'))).toBe(0xcbf43926);
    const data = Buffer.from(Array.from({ length: 5000 }, (_, i) => (i * 31) & 0xff));
    expect(crc32(data)).toBe(zlibCrc32(data));
  });
});

describe('NPZ', () => {
  for (const compress of [false, true]) {
    it(`round-trips through its own reader (compress=${compress})`, () => {
      const back = decodeNpz(encodeNpz(sample(), { compress }));
      expect(Object.keys(back)).toEqual(['x_t', 'dh', 'scalar', 'empty']);
      for (const [k, v] of Object.entries(sample())) {
        expect(back[k]!.dtype).toBe(v.dtype);
        expect(back[k]!.shape).toEqual(v.shape);
        expect(back[k]!.data).toEqual(v.data);
      }
    });
  }
  it('is byte-for-byte deterministic', () => {
    expect(encodeNpz(sample(), { compress: true }).equals(encodeNpz(sample(), { compress: true }))).toBe(true);
  });
  it('detects a flipped data byte by CRC', () => {
    const buf = encodeNpz({ a: sample().x_t! });
    expect(encodeNpy(sample().x_t!).length).toBe(128 + 24);
    const bad = Buffer.from(buf);
    bad[30 + 'a.npy'.length + 128 + 2]! ^= 0xff; // a byte inside the float data (the NPY preamble is 128 bytes here)
    expect(() => decodeNpz(bad)).toThrow(expect.objectContaining({ code: NpzErrorCode.CRC_MISMATCH, member: 'a.npy' }));
  });
  it('reports truncated archives and bad names', () => {
    const buf = encodeNpz(sample());
    expect(() => decodeNpz(buf.subarray(0, buf.length - 30))).toThrow(NpzError);
    expect(() => encodeNpz({ 'a/b': sample().dh! })).toThrow(expect.objectContaining({ code: NpzErrorCode.BAD_NAME }));
  });

  it.skipIf(!hasNumpy)('is read by numpy.load, and reads what numpy.savez writes', () => {
    for (const compress of [false, true]) {
      const file = join(dir, `ours-${compress}.npz`);
      writeFileSync(file, encodeNpz(sample(), { compress }));
      const py = `
import json, sys, numpy as np
z = np.load(sys.argv[1])
print(json.dumps({k: {"dtype": z[k].dtype.str, "shape": list(z[k].shape), "data": z[k].ravel().tolist()} for k in z.files}))
`;
      const got = JSON.parse(execFileSync('python3', ['-c', py, file], { encoding: 'utf8' })) as Record<
        string,
        { dtype: string; shape: number[]; data: number[] }
      >;
      for (const [k, v] of Object.entries(sample())) {
        expect(got[k]!.dtype).toBe(v.dtype);
        expect(got[k]!.shape).toEqual(v.shape);
        expect(got[k]!.data).toEqual(Array.from(v.data));
      }
    }
    const theirs = join(dir, 'theirs.npz');
    execFileSync('python3', [
      '-c',
      `
import sys, numpy as np
np.savez_compressed(sys.argv[1], a=np.arange(12, dtype='<f4').reshape(3, 4) / 4, b=np.array([1, 2, 3], dtype='<i4'))
`,
      theirs,
    ]);
    const back = decodeNpz(readFileSync(theirs));
    expect(back.a!.shape).toEqual([3, 4]);
    expect(Array.from(back.a!.data)).toEqual(Array.from({ length: 12 }, (_, i) => i / 4));
    expect(Array.from(back.b!.data)).toEqual([1, 2, 3]);
  });
});
