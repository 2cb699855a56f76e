// Real C3D recordings re-encoded the ways other labs' exporters write them (DEC and MIPS processors,
// int16 or float storage, a parameter section past block 2, > 255 labels, Vicon subject prefixes,
// trials past the 16-bit frame words): each must parse to the same data as the original.
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { c3dEvents } from '../../../streams/adapters/c3d.js';
import { parseC3d, type C3dFile } from '../../../streams/adapters/c3d-parse.js';
import { readRecording } from '../../../streams/adapters/read-recording.js';
import type { Recording } from '../../../streams/types.js';
import { hasMotionData, motion } from '../../helpers/motion-data.js';
import { writeC3d, type C3dParamInput, type C3dProcessor, type C3dWriteInput } from './c3d-writer.js';

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'adapters-c3d-variants-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

/** Everything of a parsed real file the writer needs; every non-POINT parameter is carried over. */
function fromReal(c3d: C3dFile, bytes: Uint8Array): Omit<C3dWriteInput, 'scale'> {
  const extraParams: C3dParamInput[] = [];
  for (const [key, v] of c3d.params) {
    const [group = '', name = ''] = key.split(':');
    if (group === 'POINT') continue;
    extraParams.push({ group, name, type: v.type as C3dParamInput['type'], dims: v.dims, numbers: v.numbers, strings: v.strings });
  }
  return {
    labels: c3d.labels,
    points: c3d.points,
    frames: c3d.frameCount,
    rate: c3d.rate,
    analogPerFrame: new DataView(bytes.buffer, bytes.byteOffset).getUint16(4, true), // originals are Intel
    extraParams,
  };
}

/** Count of positions where two coordinate arrays differ by more than tol (NaN only matches NaN). */
function mismatches(a: ArrayLike<number>, b: ArrayLike<number>, tol: number): number {
  if (a.length !== b.length) return Infinity;
  let bad = 0;
  for (let i = 0; i < a.length; i++) {
    const x = a[i] ?? NaN;
    const y = b[i] ?? NaN;
    if (Number.isNaN(x) !== Number.isNaN(y) || Math.abs(x - y) > tol) bad++;
  }
  return bad;
}

const sameRecording = (a: Recording, b: Recording, tol: number): void => {
  expect(a.frames.length).toBe(b.frames.length);
  expect(a.meta.available).toEqual(b.meta.available);
  expect(a.meta.annotations).toEqual(b.meta.annotations);
  let bad = 0;
  a.frames.forEach((f, i) => (bad += mismatches(f.joints, b.frames[i]!.joints, tol)));
  expect(bad).toBe(0);
};

async function save(name: string, bytes: Uint8Array): Promise<string> {
  const path = join(dir, name);
  await writeFile(path, bytes);
  return path;
}

describe.skipIf(!hasMotionData)('C3D from every processor type (Fukuchi re-encoded)', () => {
  const file = (): string => motion('fukuchi-treadmill', 'fukuchi_WBDS19walkT01.c3d');

  it('DEC and MIPS, float storage, parameters at blocks 2/3/7: the same points, labels, events and Recording', async () => {
    const bytes = await readFile(file());
    const orig = parseC3d('orig', bytes);
    const ref = await readRecording(file());
    const cases: [C3dProcessor, number][] = [
      ['intel', 2],
      ['dec', 3],
      ['mips', 7],
    ];
    for (const [processor, paramBlock] of cases) {
      const out = writeC3d({ ...fromReal(orig, bytes), scale: orig.scale, processor, paramBlock });
      const got = parseC3d(processor, out);
      expect(got).toMatchObject({ processor, pointCount: 22, frameCount: 4500, rate: 150, firstFrame: 1, scale: orig.scale });
      expect(got.labels).toEqual(orig.labels);
      // VAX floats hold every IEEE single of this range exactly: no tolerance.
      expect(mismatches(got.points, orig.points, 0)).toBe(0);
      expect(c3dEvents(got)).toEqual(c3dEvents(orig));
      sameRecording(await readRecording(await save(`fukuchi-${processor}-float.c3d`, out)), ref, 0);
    }
  });

  it('DEC and MIPS, int16 storage (positive POINT:SCALE): identical to the Intel int16 copy, within scale/2 of the float original', async () => {
    const bytes = await readFile(file());
    const orig = parseC3d('orig', bytes);
    const scale = 0.1; // |coordinates| < 3000 mm in this trial
    const parsed = new Map<C3dProcessor, C3dFile>();
    const recs = new Map<C3dProcessor, Recording>();
    for (const processor of ['intel', 'dec', 'mips'] as const) {
      const out = writeC3d({ ...fromReal(orig, bytes), scale, processor, paramBlock: processor === 'mips' ? 4 : 2 });
      parsed.set(processor, parseC3d(processor, out));
      recs.set(processor, await readRecording(await save(`fukuchi-${processor}-int.c3d`, out)));
    }
    const intel = parsed.get('intel')!;
    expect(intel.scale).toBeCloseTo(scale, 6);
    // scale/2 of rounding, plus POINT:SCALE itself being the float32 nearest 0.1
    expect(mismatches(intel.points, orig.points, scale / 2 + 1e-4)).toBe(0);
    for (const p of ['dec', 'mips'] as const) {
      expect(parsed.get(p)!.scale).toBe(intel.scale);
      expect(mismatches(parsed.get(p)!.points, intel.points, 0)).toBe(0);
      expect(c3dEvents(parsed.get(p)!)).toEqual(c3dEvents(orig));
      sameRecording(recs.get(p)!, recs.get('intel')!, 0);
    }
  });

  it('POINT:UNITS m (float, metres) reads as the mm original', async () => {
    const bytes = await readFile(file());
    const orig = parseC3d('orig', bytes);
    const metres = orig.points.map((v) => v / 1000);
    const out = writeC3d({ ...fromReal(orig, bytes), points: metres, scale: -0.001, units: 'm' });
    const rec = await readRecording(await save('fukuchi-metres.c3d', out));
    expect(rec.meta.provenance[0]!.units).toBe('m');
    sameRecording(rec, await readRecording(file()), 1e-6);
  });
});

describe.skipIf(!hasMotionData)('C3D long trials: frame numbers past the 16-bit header words', () => {
  // Fukuchi's 4500 frames repeated: frame f holds the original frame f mod 4500.
  const tiled = (orig: C3dFile, frames: number, keep: number): Float64Array => {
    const out = new Float64Array(frames * keep * 3);
    for (let f = 0; f < frames; f++)
      for (let p = 0; p < keep; p++)
        for (let c = 0; c < 3; c++) out[(f * keep + p) * 3 + c] = orig.points[((f % orig.frameCount) * orig.pointCount + p) * 3 + c]!;
    return out;
  };

  it('70000 frames: header last frame saturated at 65535, the count from TRIAL:ACTUAL_END_FIELD', async () => {
    const orig = parseC3d('orig', await readFile(motion('fukuchi-treadmill', 'fukuchi_WBDS19walkT01.c3d')));
    const frames = 70_000;
    const keep = 4;
    const out = writeC3d({
      labels: orig.labels.slice(0, keep),
      points: tiled(orig, frames, keep),
      frames,
      rate: 150,
      scale: 0.1,
      actualStart: 1,
      actualEnd: frames,
    });
    expect(new DataView(out.buffer).getUint16(8, true)).toBe(65535);
    const got = parseC3d('long', out);
    expect(got.frameCount).toBe(frames);
    const last = (frames - 1) % orig.frameCount;
    for (let c = 0; c < 3; c++) expect(got.points[((frames - 1) * keep + 3) * 3 + c]).toBeCloseTo(orig.points[(last * orig.pointCount + 3) * 3 + c]!, 0);
  });

  it('40000 frames from frame 30000 (header saturated, POINT:FRAMES a signed word reading −25536)', async () => {
    const orig = parseC3d('orig', await readFile(motion('fukuchi-treadmill', 'fukuchi_WBDS19walkT01.c3d')));
    const frames = 40_000;
    const keep = 2;
    const out = writeC3d({ labels: orig.labels.slice(0, keep), points: tiled(orig, frames, keep), frames, rate: 150, scale: 0.1, headerFirstFrame: 30_000 });
    const got = parseC3d('late', out);
    expect(got.params.get('POINT:FRAMES')?.numbers[0]).toBe(40_000 - 65_536);
    expect(got).toMatchObject({ frameCount: frames, firstFrame: 30_000 });
  });
});

describe.skipIf(!hasMotionData)('C3D labels (Shida markers)', () => {
  /** Shida SUB05's markers without the V_ (virtual) points, first 300 frames, as a writer input. */
  async function shida(): Promise<{ labels: string[]; points: Float64Array; frames: number }> {
    const src = parseC3d('s', await readFile(motion('shida-pd-gait', 'figshare_pd_SUB05_off_walk_8.c3d')));
    const keep = src.labels.flatMap((l, i) => (l.startsWith('V_') ? [] : [i]));
    const frames = 300;
    const points = new Float64Array(frames * keep.length * 3);
    for (let f = 0; f < frames; f++)
      keep.forEach((p, k) => points.set(src.points.subarray((f * src.pointCount + p) * 3, (f * src.pointCount + p) * 3 + 3), (f * keep.length + k) * 3));
    return { labels: keep.map((p) => src.labels[p]!), points, frames };
  }

  it('600 points: names past the 510th are read from POINT:LABELS3', async () => {
    const s = await shida();
    const plain = await readRecording(await save('shida-plain.c3d', writeC3d({ ...s, rate: 150, scale: 0.2 })));
    const filler = 600 - s.labels.length; // untracked points first, so every real marker is in LABELS3
    expect(filler).toBeGreaterThanOrEqual(510);
    const labels = [...Array.from({ length: filler }, (_, i) => `U${i + 1}`), ...s.labels];
    const points = new Float64Array(s.frames * labels.length * 3).fill(NaN);
    for (let f = 0; f < s.frames; f++) points.set(s.points.subarray(f * s.labels.length * 3, (f + 1) * s.labels.length * 3), (f * labels.length + filler) * 3);
    const out = writeC3d({ labels, points, frames: s.frames, rate: 150, scale: 0.2 });
    const parsed = parseC3d('many', out);
    expect([...parsed.params.keys()].filter((k) => k.startsWith('POINT:LABELS'))).toEqual(['POINT:LABELS', 'POINT:LABELS2', 'POINT:LABELS3']);
    expect(parsed.labels).toEqual(labels);
    sameRecording(await readRecording(await save('shida-600.c3d', out)), plain, 0);
  });

  it('Vicon subject prefixes ("Nick:R.ASIS", SUBJECTS:LABEL_PREFIXES) read as the plain labels', async () => {
    const s = await shida();
    const plain = await readRecording(await save('shida-plain2.c3d', writeC3d({ ...s, rate: 150, scale: 0.2 })));
    const subjects: C3dParamInput[] = [
      { group: 'SUBJECTS', name: 'USES_PREFIXES', type: 2, dims: [], numbers: [1] },
      { group: 'SUBJECTS', name: 'NAMES', type: -1, dims: [4, 1], strings: ['Nick'] },
      { group: 'SUBJECTS', name: 'LABEL_PREFIXES', type: -1, dims: [5, 1], strings: ['Nick:'] },
    ];
    const out = writeC3d({ ...s, labels: s.labels.map((l) => `Nick:${l}`), rate: 150, scale: 0.2, extraParams: subjects });
    const rec = await readRecording(await save('shida-prefixed.c3d', out));
    expect(rec.meta.provenance[0]!.notes).toContain('subject prefix "Nick:" taken off the labels');
    sameRecording(rec, plain, 0);
  });
});
