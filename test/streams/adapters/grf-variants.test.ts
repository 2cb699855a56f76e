// Force-plate `.mot` files as other OpenSim versions and labs write them: the real OpenSim walk's
// forces re-labelled per foot, re-delimited with spaces and CRLF, must give the same gait events.
import { copyFile, mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AdapterError, AdapterErrorCode } from '../../../streams/errors.js';
import { readGrfBeside } from '../../../streams/adapters/grf.js';
import { readRecording } from '../../../streams/adapters/read-recording.js';
import type { Recording } from '../../../streams/types.js';
import { hasMotionData, motion } from '../../helpers/motion-data.js';

let dir: string;
let original: Recording;
let mot: string[];
let end: number;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'adapters-grf-'));
  if (!hasMotionData) return;
  original = await readRecording(motion('opensim-gait', 'subject01_walk1.trc'));
  mot = (await readFile(motion('opensim-gait', 'subject01_walk1_grf.mot'), 'utf8')).split('\n');
  end = mot.findIndex((l) => l.trim() === 'endheader');
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

/** A folder with the real walk + static trial and the given .mot lines as its force file. */
async function trialWith(name: string, lines: readonly string[], eol = '\n'): Promise<string> {
  const folder = join(dir, name);
  await mkdir(folder, { recursive: true });
  await copyFile(motion('opensim-gait', 'subject01_walk1.trc'), join(folder, 'subject01_walk1.trc'));
  await copyFile(motion('opensim-gait', 'subject01_static.trc'), join(folder, 'subject01_static.trc'));
  await writeFile(join(folder, 'subject01_walk1_grf.mot'), lines.join(eol));
  return join(folder, 'subject01_walk1.trc');
}

/** The labels line rewritten cell by cell. */
const relabel = (f: (label: string) => string): string[] =>
  mot.map((l, i) =>
    i === end + 1
      ? l
          .trim()
          .split('\t')
          .map((c) => f(c))
          .join('\t')
      : l,
  );

async function adapterError(path: string): Promise<AdapterError> {
  const err = await readRecording(path).catch((e: unknown) => e);
  expect(err).toBeInstanceOf(AdapterError);
  return err as AdapterError;
}

describe.skipIf(!hasMotionData)('force-plate .mot label and layout variants (real OpenSim walk)', () => {
  it('per-foot labels `R_ground_force_*` / `ground_force_l_*`, space-separated with CRLF, give the same events', async () => {
    expect(original.meta.annotations.filter((a) => a.side === 'left').length).toBeGreaterThan(2);
    // Older exporters and the Gait2392 setup files: R_/L_ prefixes.
    const prefixed = relabel((c) => c.replace(/^1_ground_/, 'L_ground_').replace(/^ground_/, 'R_ground_'));
    const spaced = prefixed.map((l, i) => (i > end && l.trim() !== '' ? l.trim().split('\t').join('  ') : l));
    const a = await readRecording(await trialWith('prefixed', spaced, '\r\n'));
    expect(a.meta.annotations).toEqual(original.meta.annotations);
    // Newer OpenSim models (Rajagopal 2015 examples): ground_force_r_vx, ground_force_l_vy, …
    const infixed = relabel((c) => c.replace(/^1_ground_(force|torque)_/, 'ground_$1_l_').replace(/^ground_(force|torque)_(?!l_)/, 'ground_$1_r_'));
    expect(infixed[end + 1]).toContain('ground_force_l_vy');
    const b = await readRecording(await trialWith('infixed', infixed));
    expect(b.meta.annotations).toEqual(original.meta.annotations);
    // The names decide the foot: the same forces labelled the other way round swap every event.
    const swapped = relabel((c) => c.replace(/^1_ground_/, 'R_ground_').replace(/^ground_/, 'L_ground_'));
    const c = await readRecording(await trialWith('swapped', swapped));
    const flip = (s: string | undefined): string | undefined => (s === 'left' ? 'right' : s === 'right' ? 'left' : s);
    expect(c.meta.annotations).toEqual(original.meta.annotations.map((x) => ({ ...x, side: flip(x.side) })));
  });

  it('a .mot without any vertical force column is MALFORMED, not a trial without events', async () => {
    const noForce = relabel((c) => c.replace(/^(1_)?ground_force_/, '$1plate_'));
    const e = await adapterError(await trialWith('noforce', noForce));
    expect(e.code).toBe(AdapterErrorCode.MALFORMED);
    expect(e.file).toBe('subject01_walk1_grf.mot');
    expect(e.message).toMatch(/no vertical force column/);
  });

  it('a data row with more numbers than labels is MALFORMED (the labels no longer say which is which)', async () => {
    const extra = mot.map((l, i) => (i === end + 10 ? l.trimEnd() + '\t0' : l));
    const e = await adapterError(await trialWith('extra', extra));
    expect(e.code).toBe(AdapterErrorCode.MALFORMED);
    expect(e.message).toMatch(new RegExp(`line ${end + 11} has 20 fields`));
  });

  it('numbered plates beyond the OpenSim pair (`2_ground_force_*`) are assigned by centre of pressure, not called left', async () => {
    const three = mot.map((l, i) => {
      if (/^nColumns=/.test(l)) return l.replace('19', '22');
      if (i === end + 1) return l.trimEnd() + '\t2_ground_force_vy\t2_ground_force_px\t2_ground_force_pz';
      return i > end + 1 && l.trim() !== '' ? l.trimEnd() + '\t0\t0\t0' : l;
    });
    const path = await trialWith('three', three);
    const grf = await readGrfBeside(path);
    expect(grf!.plates.map((p) => [p.label, p.side])).toEqual([
      ['ground_force', undefined],
      ['1_ground_force', undefined],
      ['2_ground_force', undefined],
    ]);
    // The real walk's plates are still the pair: right and left.
    const pair = await readGrfBeside(motion('opensim-gait', 'subject01_walk1.trc'));
    expect(pair!.plates.map((p) => [p.label, p.side])).toEqual([
      ['ground_force', 'right'],
      ['1_ground_force', 'left'],
    ]);
  });
});
