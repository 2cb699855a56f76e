// Real TRC recordings as Windows-side exporters save them, and other text recordings with a UTF-8
// byte-order mark: each must read as the original.
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { detectFormat } from '../../../streams/adapters/detect.js';
import { readRecording } from '../../../streams/adapters/read-recording.js';
import { parseTrc, type TrcData } from '../../../streams/adapters/trc.js';
import { JOINTS, JOINT_INDEX } from '../../../streams/skeleton.js';
import { hasMotionData, motion } from '../../helpers/motion-data.js';

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'adapters-trc-variants-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

const sameData = (got: TrcData, ref: TrcData, tol: number): void => {
  expect(got.rate).toBe(ref.rate);
  expect([...got.times]).toEqual([...ref.times]);
  expect([...got.markers.keys()]).toEqual([...ref.markers.keys()]);
  for (const [name, data] of ref.markers) {
    const g = got.markers.get(name)!;
    data.forEach((v, i) => (Number.isNaN(v) ? expect(g[i]).toBeNaN() : expect(Math.abs(g[i]! - v)).toBeLessThanOrEqual(tol)));
  }
};

describe.skipIf(!hasMotionData)('TRC as Windows-side exporters save it', () => {
  it('UTF-8 byte-order mark + CRLF + trailing tabs (Camargo, metres, with nan cells) reads as the original', async () => {
    const file = motion('camargo-levelground', 'levelground_ccw_fast_01_01.trc');
    const text = await readFile(file, 'utf8');
    const ref = parseTrc('ref.trc', text);
    const windows =
      '\uFEFF' +
      text
        .split(/\r?\n/)
        .map((l, i) => (i >= 5 && l.trim() !== '' ? `${l}\t` : l))
        .join('\r\n');
    sameData(parseTrc('bom.trc', windows), ref, 0);
    const path = join(dir, 'levelground_bom.trc');
    await writeFile(path, windows);
    expect(detectFormat('levelground_bom.trc', Buffer.from(windows))).toBe('trc');
    const rec = await readRecording(path);
    const orig = await readRecording(file);
    expect(rec.frames.length).toBe(orig.frames.length);
    expect(rec.frames.at(-1)!.joints).toEqual(orig.frames.at(-1)!.joints);
  });

  it('Units mm ↔ m: the OpenSim static trial re-written in metres reads as the mm original', async () => {
    const text = await readFile(motion('opensim-gait', 'subject01_static.trc'), 'utf8');
    const ref = parseTrc('ref.trc', text);
    const lines = text.split('\n');
    const metres = lines
      .map((l, i) => {
        if (i === 2) return l.replace(/\tmm\t/, '\tm\t');
        if (i < 5 || l.trim() === '') return l;
        return l
          .split('\t')
          .map((c, k) => (k < 2 || c.trim() === '' ? c : String(Number(c) / 1000)))
          .join('\t');
      })
      .join('\n');
    const got = parseTrc('metres.trc', metres);
    expect(got.units).toBe('m');
    sameData(got, ref, 1e-12);
  });
});

describe.skipIf(!hasMotionData)('other text recordings with a byte-order mark', () => {
  it('a JSON skeleton saved with a BOM is detected and read like the plain file', async () => {
    const cmu = await readRecording(motion('cmu-bvh', '131_02.bvh'), { fps: 30 });
    const frames = cmu.frames.slice(0, 31).map((f) => ({
      t: f.t,
      joints: Object.fromEntries(JOINTS.map((j) => [j, Array.from(f.joints.subarray(JOINT_INDEX[j] * 3, JOINT_INDEX[j] * 3 + 3))])),
    }));
    const json = JSON.stringify({ frames });
    await writeFile(join(dir, 'plain.json'), json);
    await writeFile(join(dir, 'bom.json'), '\uFEFF' + json);
    expect(detectFormat('bom.json', Buffer.from('\uFEFF' + json))).toBe('json');
    const plain = await readRecording(join(dir, 'plain.json'), { fps: 30 });
    const bom = await readRecording(join(dir, 'bom.json'), { fps: 30 });
    expect(bom.frames).toEqual(plain.frames);
  });
});
