// The text formats read by their specification: real files re-delimited (runs of whitespace, trailing
// separators, header keys by name) must give the same recording as the originals.
import { copyFile, mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AdapterError, AdapterErrorCode } from '../../../streams/errors.js';
import { splitComma, splitWhitespace } from '../../../streams/adapters/fields.js';
import { motHeader, parseMot } from '../../../streams/adapters/grf.js';
import { readRecording } from '../../../streams/adapters/read-recording.js';
import { JOINTS } from '../../../streams/skeleton.js';
import type { Recording } from '../../../streams/types.js';
import { hasMotionData, motion } from '../../helpers/motion-data.js';

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'adapters-fields-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

const sameFrames = (a: Recording, b: Recording): void => {
  expect(b.frames).toHaveLength(a.frames.length);
  a.frames.forEach((f, i) => {
    expect(b.frames[i]!.t).toBe(f.t);
    expect([...b.frames[i]!.joints]).toEqual([...f.joints]);
  });
};

async function codeOf(path: string): Promise<string> {
  const err = await readRecording(path).catch((e: unknown) => e);
  expect(err).toBeInstanceOf(AdapterError);
  return (err as AdapterError).code;
}

describe('field splitting', () => {
  it('whitespace: any run separates, ends ignored; comma: trimmed cells, one trailing comma adds no field', () => {
    expect(splitWhitespace('\t 100.0\t\t100.0 \t 238\t\t\t')).toEqual(['100.0', '100.0', '238']);
    expect(splitWhitespace(' \t ')).toEqual([]);
    expect(splitComma(' 1, 2 ,3,')).toEqual(['1', '2', '3']);
    expect(splitComma('1,,3')).toEqual(['1', '', '3']);
  });

  it('.mot header keys by name, `key=value` or `key value`, padded with tabs', () => {
    const h = motHeader(['name subject02_running.mot\t\t\t', 'datarows 901\t\t', 'nColumns=19\t\t\t', 'inDegrees=yes']);
    expect(h.get('datarows')).toBe('901');
    expect(h.get('ncolumns')).toBe('19');
    expect(h.get('indegrees')).toBe('yes');
  });
});

describe.skipIf(!hasMotionData)('text formats re-delimited from real recordings', () => {
  it('UI-PRMD Vicon: tab/space runs or a trailing comma read as the comma original', async () => {
    const src = motion('ui-prmd', 'vicon', 'm01_s01_e01_positions.txt');
    const original = await readRecording(src);
    const text = await readFile(src, 'utf8');
    const ws = join(dir, 'ws', 'm01_s01_e01_positions.txt');
    await mkdir(join(dir, 'ws'), { recursive: true });
    await writeFile(
      ws,
      text
        .split('\n')
        .map((l, i) => (l.trim() === '' ? l : (i % 2 ? '  ' : '') + l.split(',').join(i % 2 ? ' \t ' : '\t\t') + '\t'))
        .join('\n'),
    );
    sameFrames(original, await readRecording(ws));
    const trailing = join(dir, 'tr', 'm01_s01_e01_positions.txt');
    await mkdir(join(dir, 'tr'), { recursive: true });
    await writeFile(
      trailing,
      text
        .split('\n')
        .map((l) => (l.trim() === '' ? l : l.trim() + ','))
        .join('\n'),
    );
    sameFrames(original, await readRecording(trailing));
    // An empty cell is not a zero.
    const hole = join(dir, 'hole', 'm01_s01_e01_positions.txt');
    await mkdir(join(dir, 'hole'), { recursive: true });
    const holed = text.split('\n');
    holed[5] = holed[5]!.replace(/^([^,]+),[^,]+,/, '$1,,');
    await writeFile(hole, holed.join('\n'));
    expect(await codeOf(hole)).toBe(AdapterErrorCode.MALFORMED);
  });

  it('generic skeleton table: comma or whitespace-delimited, with or without an empty phase', async () => {
    const rec = await readRecording(motion('opensim-gait', 'subject01_static.trc'));
    const joints = JOINTS.filter((j) => rec.meta.available.includes(j));
    const head = ['t', ...joints.flatMap((j) => [`${j}_x`, `${j}_y`, `${j}_z`]), 'phase'];
    const rows = rec.frames.map((f, i) => [
      f.t.toFixed(6),
      ...joints.flatMap((j) => {
        const o = JOINTS.indexOf(j) * 3;
        return [0, 1, 2].map((k) => (f.joints[o + k] ?? NaN).toFixed(5));
      }),
      i < 150 ? 'standing' : '',
    ]);
    const csv = join(dir, 'skeleton.csv');
    await writeFile(csv, [head.join(','), ...rows.map((r) => r.join(','))].join('\n'));
    const ws = join(dir, 'skeleton.txt');
    await writeFile(ws, [head.join('\t\t'), ...rows.map((r) => '  ' + r.join(' \t ') + '\t')].join('\n'));
    const a = await readRecording(csv);
    const b = await readRecording(ws);
    sameFrames(a, b);
    expect(b.meta.phaseLabels).toEqual(a.meta.phaseLabels);
    expect(a.meta.phaseLabels.map((p) => p.name)).toEqual(['standing']);
    expect(a.frames[10]!.joints[1]).toBeCloseTo(rec.frames[10]!.joints[1]!, 4);
  });

  it('force-plate .mot re-delimited with space runs and `key value` header gives the same events; short files are TRUNCATED', async () => {
    const walk = motion('opensim-gait', 'subject01_walk1.trc');
    const original = await readRecording(walk);
    expect(original.meta.annotations.length).toBeGreaterThan(6);
    const folder = join(dir, 'grf');
    await mkdir(folder, { recursive: true });
    await copyFile(walk, join(folder, 'subject01_walk1.trc'));
    await copyFile(motion('opensim-gait', 'subject01_static.trc'), join(folder, 'subject01_static.trc'));
    const mot = (await readFile(motion('opensim-gait', 'subject01_walk1_grf.mot'), 'utf8')).split('\n');
    const end = mot.findIndex((l) => l.trim() === 'endheader');
    const redelimited = mot.map((l, i) =>
      i < end ? l.trim().replace('=', '   ') + '\t\t\t' : l.trim() === '' ? l : '   ' + l.trim().split('\t').join('  \t  ') + '\t\t',
    );
    await writeFile(join(folder, 'subject01_walk1_grf.mot'), redelimited.join('\n'));
    expect(parseMot('x.mot', redelimited.join('\n')).columns).toContain('1_ground_force_vy');
    const again = await readRecording(join(folder, 'subject01_walk1.trc'));
    expect(again.meta.annotations).toEqual(original.meta.annotations);
    // nRows says 1501: dropping the last 100 rows is a truncation, not a shorter trial.
    await writeFile(join(folder, 'subject01_walk1_grf.mot'), redelimited.slice(0, redelimited.length - 101).join('\n'));
    expect(await codeOf(join(folder, 'subject01_walk1.trc'))).toBe(AdapterErrorCode.TRUNCATED);
  });
});
