// CMU 131_01 re-written the ways other BVH exporters write it: each must read as the original.
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseBvh, type BvhFile } from '../../../streams/adapters/bvh-parse.js';
import { rateOf } from '../../../streams/adapters/bvh.js';
import { readRecording } from '../../../streams/adapters/read-recording.js';
import type { Recording } from '../../../streams/types.js';
import { hasMotionData, motion } from '../../helpers/motion-data.js';
import { writeBvh, type BvhWriteOptions } from './bvh-writer.js';

let dir: string;
let source: BvhFile;
let reference: Recording;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'adapters-bvh-variants-'));
  if (!hasMotionData) return;
  source = parseBvh('131_01.bvh', await readFile(motion('cmu-bvh', '131_01.bvh'), 'latin1'));
  reference = await readRecording(motion('cmu-bvh', '131_01.bvh'), { fps: 120 });
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

async function variant(name: string, opts: BvhWriteOptions): Promise<Recording> {
  const path = join(dir, name);
  await writeFile(path, writeBvh(source, opts));
  return readRecording(path, { fps: 120 });
}

/** Same frames, times, rate and joints as the original, positions within tol metres. */
function expectSame(rec: Recording, tol: number): void {
  expect(rec.meta.provenance[0]!.originalFps).toBe(reference.meta.provenance[0]!.originalFps);
  expect(rec.frames.map((f) => f.t)).toEqual(reference.frames.map((f) => f.t));
  expect(rec.meta.available).toEqual(reference.meta.available);
  let worst = 0;
  rec.frames.forEach((f, i) => f.joints.forEach((v, k) => (worst = Math.max(worst, Math.abs(v - reference.frames[i]!.joints[k]!)))));
  expect(worst).toBeLessThan(tol);
}

describe.skipIf(!hasMotionData)('BVH variants of a real CMU recording', () => {
  it('Frame Time printed with %f (Blender: 0.008333 for 120 Hz) is 120 Hz, not 120.0048', async () => {
    const rec = await variant('fixed6.bvh', { frameTime: (1 / 120).toFixed(6) });
    expect(rec.meta.provenance[0]!.originalFps).toBe(120);
    expectSame(rec, 1e-9);
    // Blender's other rates; a rate that is not an integer (29.97 Hz, NTSC) and a coarse Frame Time stay as written.
    expect([24, 25, 30, 50, 60, 100, 120, 240].map((r) => rateOf(Number((1 / r).toFixed(6))))).toEqual([24, 25, 30, 50, 60, 100, 120, 240]);
    expect(rateOf(Number((1001 / 30000).toFixed(6)))).toBeCloseTo(29.97, 2);
    expect(rateOf(0.03)).toBeCloseTo(33.333, 3);
  });

  it('rotation channels in XYZ, ZXY, YZX or ZYX order (angles re-derived per joint) give the same skeleton', async () => {
    const orders = ['XYZ', 'ZXY', 'YZX', 'ZYX'] as const;
    let k = 0;
    const rec = await variant('orders.bvh', { order: () => orders[k++ % orders.length] });
    const text = await readFile(join(dir, 'orders.bvh'), 'utf8');
    for (const o of orders) expect(text).toContain(`CHANNELS 3 ${[...o].map((a) => `${a}rotation`).join(' ')}`);
    expectSame(rec, 1e-6);
  });

  it('6-channel non-root joints (position = OFFSET), CRLF, tabs and scientific notation', async () => {
    const rec = await variant('six.bvh', {
      positionsOnAllJoints: true,
      eol: '\r\n',
      number: (v) => v.toExponential(16),
      frameTime: (1 / 120).toExponential(10),
    });
    expectSame(rec, 1e-6);
    const text = await readFile(join(dir, 'six.bvh'), 'utf8');
    expect(text).toMatch(/JOINT LeftKnee\r\n\t+\{\r\n\t+OFFSET [^\r]+\r\n\t+CHANNELS 6 Xposition/);
  });

  it('a UTF-8 byte-order mark in front of HIERARCHY', async () => {
    const path = join(dir, 'bom.bvh');
    await writeFile(path, '\uFEFF' + writeBvh(source));
    const rec = await readRecording(path, { fps: 120 });
    expectSame(rec, 1e-9);
  });
});
