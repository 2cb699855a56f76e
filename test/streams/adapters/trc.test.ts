import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AdapterError, AdapterErrorCode } from '../../../streams/errors.js';
import { readRecording } from '../../../streams/adapters/read-recording.js';
import { parseTrc, trcHeader, trcRowCells, type TrcData } from '../../../streams/adapters/trc.js';
import { hasMotionData, motion } from '../../helpers/motion-data.js';
import { count, medianCoord, pos, segment } from './helpers.js';

describe.skipIf(!hasMotionData)('TRC adapter (real recordings)', () => {
  it('OpenSim walk: 2.5 s at 60 Hz, mm → m, knee/ankle from the static trial, GRF contacts as README', async () => {
    const rec = await readRecording(motion('opensim-gait', 'subject01_walk1.trc'));
    expect(rec.frames).toHaveLength(151);
    expect(rec.frames[150]!.t).toBeCloseTo(2.5, 9);
    const prov = rec.meta.provenance[0]!;
    expect(prov).toMatchObject({ format: 'trc', originalFps: 60, units: 'mm' });
    expect(prov.sha256).toMatch(/^[0-9a-f]{64}$/);
    expect(prov.notes.join(' ')).toMatch(/frame − first frame/);
    expect(prov.jointMap.left_knee).toMatch(/static-trial calibration/);
    expect(rec.meta.provenance.map((p) => p.file.split('/').pop())).toEqual(['subject01_walk1.trc', 'subject01_static.trc', 'subject01_walk1_grf.mot']);
    expect(rec.meta.available).toHaveLength(20);
    // Contacts from vertical GRF > 20 N (README): right TO 0.163, HS 0.617, TO 1.408, HS 1.852;
    // left TO 0.787, HS 1.245, TO 2.017, HS 2.458. Ours: first unloaded / first loaded sample at 600 Hz.
    const got = (type: string, side: string): number[] => rec.meta.annotations.filter((a) => a.type === type && a.side === side).map((a) => a.t_s);
    const near = (a: number[], b: number[]): void => {
      expect(a).toHaveLength(b.length);
      a.forEach((v, i) => expect(Math.abs(v - b[i]!)).toBeLessThan(0.004));
    };
    near(got('toe_off', 'right'), [0.163, 1.408]);
    near(got('heel_strike', 'right'), [0.617, 1.852]);
    near(got('toe_off', 'left'), [0.787, 2.017]);
    near(got('heel_strike', 'left'), [1.245, 2.458]);
    expect(rec.meta.annotations.every((a) => a.source === 'force-plate')).toBe(true);
    for (const side of ['left', 'right'] as const) {
      expect(segment(rec, `${side}_hip`, `${side}_knee`)).toBeGreaterThan(0.35);
      expect(segment(rec, `${side}_hip`, `${side}_knee`)).toBeLessThan(0.5);
      expect(segment(rec, `${side}_knee`, `${side}_ankle`)).toBeGreaterThan(0.33);
      expect(segment(rec, `${side}_knee`, `${side}_ankle`)).toBeLessThan(0.5);
    }
    // +x forward, y up → left = up × forward = −z: the left hip has the smaller z in every frame.
    for (let i = 0; i < rec.frames.length; i += 10) expect(pos(rec, i, 'left_hip')[2]).toBeLessThan(pos(rec, i, 'right_hip')[2]);
  });

  it('OpenSim static: 49 markers, head top ≈ 1.8 m, shank ≈ 0.443 m (README checks)', async () => {
    const file = motion('opensim-gait', 'subject01_static.trc');
    const data = parseTrc('subject01_static.trc', await readFile(file, 'utf8'));
    expect(data.markers.size).toBe(49);
    const top = data.markers.get('Top.Head')!;
    expect(top[1]).toBeGreaterThan(1.78);
    expect(top[1]).toBeLessThan(1.85);
    const rec = await readRecording(file);
    expect(rec.frames).toHaveLength(300);
    expect(segment(rec, 'right_knee', 'right_ankle')).toBeCloseTo(0.443, 2);
    expect(rec.meta.provenance[0]!.jointMap.right_knee).toBe('mid-point of R.Knee.Lat and R.Knee.Med');
    expect(medianCoord(rec, 'head', 1)).toBeGreaterThan(1.6); // temples, below the top of the head
    expect(medianCoord(rec, 'root', 1)).toBeGreaterThan(0.9);
    expect(rec.meta.annotations).toEqual([]);
  });

  it('Camargo (metres, nan cells, t0 = 0.005): 15.33 s, lower body only, gaps reported, plates assigned to feet', async () => {
    const rec = await readRecording(motion('camargo-levelground', 'levelground_ccw_fast_01_01.trc'));
    expect(rec.meta.provenance[0]).toMatchObject({ originalFps: 200, units: 'm' });
    expect(rec.frames.at(-1)!.t).toBeCloseTo(15.33, 1);
    expect(rec.frames).toHaveLength(Math.floor(15.33 * 60 + 1e-6) + 1);
    expect(rec.meta.available).not.toContain('head');
    expect(rec.meta.available).not.toContain('chest');
    expect(Number.isNaN(pos(rec, 0, 'left_shoulder')[0])).toBe(true);
    expect(rec.meta.gaps.some((g) => g.filled)).toBe(true);
    for (const g of rec.meta.gaps.filter((x) => !x.filled)) expect(g.end_s - g.start_s).toBeGreaterThan(0.1 - 0.005 - 1e-9);
    for (const side of ['left', 'right'] as const) {
      const thigh = segment(rec, `${side}_hip`, `${side}_knee`);
      const shank = segment(rec, `${side}_knee`, `${side}_ankle`);
      expect(thigh).toBeGreaterThan(0.35);
      expect(thigh).toBeLessThan(0.5);
      expect(shank).toBeGreaterThan(0.33);
      expect(shank).toBeLessThan(0.5);
    }
    // README: plate 6 loaded 7.38 s = left heel landing; plate 5 at 7.85 s = right (times from t0 = 0.005).
    const hs = rec.meta.annotations.filter((a) => a.type === 'heel_strike');
    const at = (t: number) => hs.find((a) => Math.abs(a.t_s + 0.005 - t) < 0.02);
    expect(at(7.38)?.side).toBe('left');
    expect(at(7.85)?.side).toBe('right');
    // Plate 2 is loaded at the first sample (0.005 s): no heel strike is invented there.
    expect(rec.meta.annotations.some((a) => a.t_s < 0.01)).toBe(false);
    expect(count(rec, 'heel_strike', 'left') + count(rec, 'heel_strike', 'right')).toBeGreaterThan(4);
    // 4.5–6.5 s: straight walk along −z (README) → left = up × forward = −x.
    for (let i = Math.round(4.5 * 60); i < 6.5 * 60; i += 6) {
      const l = pos(rec, i, 'left_hip');
      const r = pos(rec, i, 'right_hip');
      if (Number.isFinite(l[0]) && Number.isFinite(r[0])) expect(l[0]).toBeLessThan(r[0]);
    }
    expect(pos(rec, Math.round(6.5 * 60), 'root')[2]).toBeLessThan(pos(rec, Math.round(4.5 * 60), 'root')[2] - 2);
  });

  it('resamples to a configured rate', async () => {
    const rec = await readRecording(motion('opensim-gait', 'subject01_walk1.trc'), { fps: 100 });
    expect(rec.meta.fps).toBe(100);
    expect(rec.frames).toHaveLength(251);
  });
});

// Real exporters pad TRC header lines with runs of tabs and trailing tabs; the same recording
// re-delimited every way the specification allows must parse to the same data.
describe.skipIf(!hasMotionData)('TRC adapter: header and row delimiters by the specification', () => {
  let dir: string;
  let lines: string[];
  let reference: TrcData;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'trc-ws-'));
    const text = await readFile(motion('opensim-gait', 'subject01_static.trc'), 'utf8');
    lines = text.split('\n');
    reference = parseTrc('subject01_static.trc', text);
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  const withLines = (edit: (l: string, i: number) => string): string => lines.map(edit).join('\n');
  const same = (got: TrcData): void => {
    expect(got.rate).toBe(reference.rate);
    expect(got.units).toBe('mm');
    expect(got.declaredFrames).toBe(reference.declaredFrames);
    expect([...got.times]).toEqual([...reference.times]);
    expect([...got.markers.keys()]).toEqual([...reference.markers.keys()]);
    for (const [name, data] of reference.markers) expect([...got.markers.get(name)!]).toEqual([...data]);
  };
  const runsOfTabs = (l: string): string => l.trim().split(/\s+/).join('\t\t') + '\t'.repeat(40);

  it('header values separated by runs of tabs with trailing tabs (the OpenSim example layout)', () => {
    const text = withLines((l, i) => (i === 1 ? l.trim() + '\t'.repeat(60) : i === 2 ? runsOfTabs(l) : l));
    expect(text.split('\n')[2]).toMatch(/^60\.00\t\t60\.00\t\t300\t\t49\t\tmm\t\t/);
    same(parseTrc('tabs.trc', text));
  });

  it('header keys mapped by name: reordered columns, spaces for tabs, lower-case keys', () => {
    const keys = lines[1]!.trim().split(/\s+/);
    const vals = lines[2]!.trim().split(/\s+/);
    const order = keys.map((_, i) => i).reverse();
    const text = withLines((l, i) => (i === 1 ? order.map((k) => keys[k]!.toLowerCase()).join('   ') : i === 2 ? order.map((k) => vals[k]).join(' \t ') : l));
    same(parseTrc('reordered.trc', text));
  });

  it('marker names with single tabs, data rows with trailing tabs or written with spaces', () => {
    const names = lines[3]!.split('\t').filter((c) => c.trim() !== '');
    const spaced = withLines((l, i) => (i === 3 ? names.join('\t') : i >= 5 && l.trim() !== '' ? l.trim().split('\t').join('   ') : l));
    same(parseTrc('spaces.trc', spaced));
    const trailing = withLines((l, i) => (i >= 5 && l.trim() !== '' ? l + '\t\t\t' : l));
    same(parseTrc('trailing.trc', trailing));
  });

  it('an empty cell between tabs is still a missing coordinate (rows are positional)', () => {
    const cells = trcRowCells('1\t0\t1.5\t\t\t4\t5\t6\t\t', 8);
    expect(cells).toEqual(['1', '0', '1.5', '', '', '4', '5', '6']);
    expect(trcHeader('DataRate\t\tUnits\t\t', '100.0\t\tmm\t\t\t')).toEqual(
      new Map([
        ['datarate', '100.0'],
        ['units', 'mm'],
      ]),
    );
  });

  it('the whole adapter reads the re-delimited file; NumMarkers that disagrees with line 4 is refused', async () => {
    const path = join(dir, 'static_tabs.trc');
    await writeFile(
      path,
      withLines((l, i) => (i === 2 ? runsOfTabs(l) : l)),
    );
    const rec = await readRecording(path);
    expect(rec.frames).toHaveLength(300);
    expect(segment(rec, 'right_knee', 'right_ankle')).toBeCloseTo(0.443, 2);
    const wrong = join(dir, 'wrong_count.trc');
    await writeFile(
      wrong,
      withLines((l, i) => (i === 2 ? l.replace('\t49\t', '\t48\t') : l)),
    );
    const err = await readRecording(wrong).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(AdapterError);
    expect((err as AdapterError).code).toBe(AdapterErrorCode.MALFORMED);
    expect((err as AdapterError).message).toMatch(/NumMarkers is 48 but line 4 names 49/);
  });

  it('Hamner run (header lines ending in long runs of tabs): 600 frames at 60 Hz, 41 markers, mm', async () => {
    const text = await readFile(motion('opensim-hamner-run', 'subject02_running.trc'), 'utf8');
    expect(text.split('\n')[2]).toMatch(/\t{20}/);
    const data = parseTrc('subject02_running.trc', text);
    expect(data).toMatchObject({ rate: 60, units: 'mm', declaredFrames: 600 });
    expect(data.times).toHaveLength(600);
    expect(data.markers.size).toBe(41);
    expect(data.times[599]).toBeCloseTo(599 / 60, 9);
  });
});
