// Skeleton CSVs and scores files as other tools write them (European Excel, R, pandas, mocap
// exporters): a real walk written each way must read as the plain CSV; an ambiguous file is refused.
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AdapterError, AdapterErrorCode } from '../../../streams/errors.js';
import { detectFormat } from '../../../streams/adapters/detect.js';
import { readRecording, type ReadRecordingOptions } from '../../../streams/adapters/read-recording.js';
import { readScores } from '../../../streams/adapters/scores.js';
import { JOINTS } from '../../../streams/skeleton.js';
import type { Recording } from '../../../streams/types.js';
import { hasMotionData, motion } from '../../helpers/motion-data.js';

let dir: string;
let walk: Recording;
let ref: Recording;
/** One row per frame: time (s), then every canonical joint's x, y, z in metres (NaN = missing), then a phase. */
let table: { t: number; v: number[]; phase: string }[];
const JOINT_COLS = JOINTS.flatMap((j) => ['x', 'y', 'z'].map((a) => `${j}_${a}`));

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'adapters-generic-variants-'));
  if (!hasMotionData) return;
  // A real walk with missing joints (no head/arms markers in Shida's lower-body set).
  walk = await readRecording(motion('shida-pd-gait', 'figshare_pd_SUB05_off_walk_8.c3d'), { fps: 50 });
  table = walk.frames.map((f, i) => ({
    t: Math.round(f.t * 1e4) / 1e4,
    v: Array.from(f.joints, (x) => (Number.isNaN(x) ? NaN : Math.round(x * 1e6) / 1e6)),
    phase: i < 100 ? 'walking' : '',
  }));
  ref = await read('reference.csv', csv({ sep: ',', num: String, missing: 'nan' }));
  expect(ref.frames).toHaveLength(walk.frames.length);
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

interface Style {
  sep: string;
  num: (x: number) => string;
  missing: string;
  quote?: boolean;
  eol?: string;
  header?: string[];
  time?: (t: number) => string;
  scale?: number;
  noPhase?: boolean;
}

function csv(s: Style): string {
  const q = (c: string): string => (s.quote ? `"${c}"` : c);
  const head = s.header ?? [['t', ...JOINT_COLS, ...(s.noPhase ? [] : ['phase'])].map(q).join(s.sep)];
  const rows = table.map((r) =>
    [
      (s.time ?? s.num)(r.t),
      ...r.v.map((x) => (Number.isNaN(x) ? s.missing : s.num(x * (s.scale ?? 1)))),
      ...(s.noPhase ? [] : [r.phase === '' ? '' : q(r.phase)]),
    ].join(s.sep),
  );
  return [...head, ...rows].join(s.eol ?? '\n');
}

async function read(name: string, text: string, opts: ReadRecordingOptions = {}): Promise<Recording> {
  await writeFile(join(dir, name), text);
  return readRecording(join(dir, name), { fps: 50, ...opts });
}

async function failure(name: string, text: string, opts: ReadRecordingOptions = {}): Promise<AdapterError> {
  const err = await read(name, text, opts).catch((e: unknown) => e);
  expect(err).toBeInstanceOf(AdapterError);
  return err as AdapterError;
}

const same = (got: Recording): void => {
  expect(got.frames).toEqual(ref.frames);
  expect(got.meta.available).toEqual(ref.meta.available);
  expect(got.meta.phaseLabels).toEqual(ref.meta.phaseLabels);
};

describe.skipIf(!hasMotionData)('skeleton CSV variants of a real walk (Shida SUB05)', () => {
  it('European Excel: semicolons, decimal commas, empty cells for missing, CRLF and a byte-order mark', async () => {
    const text = '\uFEFF' + csv({ sep: ';', num: (x) => String(x).replace('.', ','), missing: '', eol: '\r\n' });
    expect(detectFormat('walk.csv', Buffer.from(text))).toBe('csv');
    same(await read('excel-eu.csv', text));
    expect(ref.meta.phaseLabels.map((p) => p.name)).toEqual(['walking']);
  });

  it('pandas to_csv: a missing value in the last column leaves only a trailing comma', async () => {
    // The last column (right_wrist_z) lost for a stretch of frames, as a tracker drops a wrist.
    const saved = table.map((r) => r.v.at(-1)!);
    table.forEach((r, i) => i >= 40 && i < 60 && (r.v[r.v.length - 1] = NaN));
    try {
      const nan = await read('pandas-last-nan.csv', csv({ sep: ',', num: String, missing: 'nan', noPhase: true }));
      const text = csv({ sep: ',', num: String, missing: '', noPhase: true });
      expect(text.split('\n')[41]).toMatch(/,$/);
      expect((await read('pandas-last.csv', text)).frames).toEqual(nan.frames);
      expect(nan.meta.gaps.some((g) => g.joint === 'right_wrist')).toBe(true);
    } finally {
      table.forEach((r, i) => (r.v[r.v.length - 1] = saved[i]!));
    }
  });

  it("R's write.csv: every header and string quoted, NA for missing; a quoted label may hold the delimiter", async () => {
    same(await read('r.csv', csv({ sep: ',', num: String, missing: 'NA', quote: true })));
    const saved = table.map((r) => r.phase);
    table.forEach((r) => (r.phase = r.phase && 'walking, "fast"'));
    try {
      const text = csv({ sep: ',', num: String, missing: '', quote: true }).replace(/"walking, "fast""/g, '"walking, ""fast"""');
      const rec = await read('quoted.csv', text);
      expect(rec.frames).toEqual(ref.frames);
      expect(rec.meta.phaseLabels.map((p) => p.name)).toEqual(['walking, "fast"']);
    } finally {
      table.forEach((r, i) => (r.phase = saved[i]!));
    }
  });

  it('joint names over x/y/z lines (pandas MultiIndex, mocap exporters), a units row in mm, time in ms', async () => {
    // pandas: `t,root,root,root,…` over `,x,y,z,…` (t a column), or `,root,…` / `,x,…` / `t,,,…` (t the index).
    const names = JOINTS.flatMap((j) => [j, j, j]);
    const axes = JOINTS.flatMap(() => ['x', 'y', 'z']);
    const pandas = csv({ sep: ',', num: String, missing: '', header: [['t', ...names, 'phase'].join(','), ['', ...axes, ''].join(',')] });
    expect(detectFormat('walk.csv', Buffer.from(pandas))).toBe('csv');
    same(await read('pandas.csv', pandas));
    const indexed = csv({
      sep: ',',
      num: String,
      missing: '',
      header: [['', ...names, 'phase'].join(','), ['', ...axes, ''].join(','), ['t', ...axes.map(() => ''), ''].join(',')],
    });
    same(await read('pandas-index.csv', indexed));
    // Mocap style: a name over its first column only, a units row, positions in mm and time in ms.
    const spans = JOINTS.flatMap((j) => [j, '', '']);
    const mocap = csv({
      sep: ',',
      num: (x) => x.toFixed(6),
      time: (t) => (t * 1000).toFixed(3),
      missing: 'NaN',
      scale: 1000,
      header: [['Time', ...spans, 'phase'].join(','), ['', ...axes, ''].join(','), ['ms', ...axes.map(() => 'mm'), ''].join(',')],
    });
    const rec = await read('mocap.csv', mocap);
    expect(rec.meta.provenance[0]!.units).toBe('mm');
    rec.frames.forEach((f, i) => {
      expect(f.t).toBeCloseTo(ref.frames[i]!.t, 9);
      f.joints.forEach((x, k) => (Number.isNaN(x) ? expect(ref.frames[i]!.joints[k]).toBeNaN() : expect(x).toBeCloseTo(ref.frames[i]!.joints[k]!, 9)));
    });
    // Time labelled in ms in the header instead of a units row.
    const ms = csv({
      sep: ',',
      num: String,
      time: (t) => String(Math.round(t * 1e7) / 1e4),
      missing: '',
      header: [['time (ms)', ...JOINT_COLS, 'phase'].join(',')],
    });
    const msRec = await read('ms.csv', ms);
    msRec.frames.forEach((f, i) => expect(f.t).toBeCloseTo(ref.frames[i]!.t, 9));
  });

  it('ambiguous files are refused with a coded error: ms under a bare t, mixed decimal marks, units disagreeing, a joint without z', async () => {
    const msBare = await failure('ms-bare.csv', csv({ sep: ',', num: String, time: (t) => String(Math.round(t * 1e7) / 1e4), missing: '' }));
    expect(msBare.code).toBe(AdapterErrorCode.IMPLAUSIBLE);
    expect(msBare.message).toMatch(/frames are 20\.0 s apart .*label the column t_ms/);
    const mixed = csv({ sep: ';', num: (x) => (Math.abs(x) > 0.5 ? String(x).replace('.', ',') : String(x)), missing: '' });
    expect((await failure('mixed.csv', mixed)).message).toMatch(/mix "\." and ","/);
    const units = csv({
      sep: ',',
      num: String,
      missing: '',
      header: [['t', ...JOINT_COLS, 'phase'].join(','), ['s', ...JOINT_COLS.map(() => 'm'), ''].join(',')],
    });
    same(await read('units-m.csv', units));
    const disagree = await failure('units-cm.csv', units, { units: 'cm' });
    expect(disagree.code).toBe(AdapterErrorCode.MALFORMED);
    expect(disagree.message).toMatch(/units row says m but the units option says cm/);
    const noZ = 't,left_hip_x,left_hip_y,left_hip_z,left_knee_x,left_knee_y\n0,0.1,0.9,0,0.1,0.5\n0.02,0.1,0.9,0,0.1,0.5\n';
    expect((await failure('noz.csv', noZ)).message).toMatch(/left_knee lack an x, y or z column/);
    const twice = csv({ sep: ',', num: String, missing: '', header: [['t', ...JOINT_COLS.map((c) => c.replace(/^head_z$/, 'head.y')), 'phase'].join(',')] });
    expect((await failure('twice.csv', twice, { format: 'csv' })).message).toMatch(/head_y appears twice/);
  });
});

describe('generic JSON values and scores files as other tools write them', () => {
  it('a joint coordinate that is a string, not a number or null, is MALFORMED', async () => {
    const frames = [0, 1, 2].map((i) => ({ t: i / 30, joints: { left_hip: [0.1, 0.9, 0], left_knee: [0.1, i === 1 ? '0.5' : 0.5, 0] } }));
    const e = await failure('strings.json', JSON.stringify({ frames }));
    expect(e.code).toBe(AdapterErrorCode.MALFORMED);
    expect(e.message).toMatch(/frame 1: left_knee has a non-number "0\.5"/);
  });

  it('scores quoted by R or saved by European Excel read as the plain file', async () => {
    const plain = join(dir, 'plain_scores.csv');
    await writeFile(plain, 'name,score\nberg_balance,52\ntug_s,9.5\nfalls_risk,low\n');
    const expected = { berg_balance: 52, tug_s: 9.5, falls_risk: 'low' };
    expect((await readScores(plain)).scores).toEqual(expected);
    const r = join(dir, 'r_scores.csv');
    await writeFile(r, '"name","score"\n"berg_balance",52\n"tug_s",9.5\n"falls_risk","low"\n');
    expect((await readScores(r)).scores).toEqual(expected);
    const eu = join(dir, 'eu_scores.csv');
    await writeFile(eu, '\uFEFFname;score\r\nberg_balance;52\r\ntug_s;9,5\r\nfalls_risk;low\r\n');
    expect((await readScores(eu)).scores).toEqual(expected);
  });
});
