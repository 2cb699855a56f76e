// TRC (OpenSim / AddBiomechanics marker trajectories): tab-separated text, y up, mm or m.
import { readdir } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { AdapterError, AdapterErrorCode } from '../errors.js';
import type { Recording } from '../types.js';
import { buildRecording, readSource, type AdapterOptions, type SourceFile } from './common.js';
import { grfAnnotations, readGrfBeside } from './grf.js';
import { markersToJoints, type MarkerData } from './markers.js';

export interface TrcData extends MarkerData {
  readonly rate: number;
  readonly units: string;
  /** Time source used: the file's column, or (frame − first)/rate when the column is rounded. */
  readonly timeSource: 'column' | 'frame';
  readonly declaredFrames: number;
}

const UNIT_SCALE: Readonly<Record<string, number>> = { mm: 0.001, cm: 0.01, m: 1 };

/** Parses a TRC's text; marker positions are converted to metres (axes are already y up). */
export function parseTrc(file: string, text: string): TrcData {
  const lines = text.split(/\r?\n/);
  const bad = (msg: string): AdapterError => new AdapterError(AdapterErrorCode.MALFORMED, file, `not a valid TRC: ${msg}`);
  if (!lines[0]?.startsWith('PathFileType')) throw bad('line 1 does not start with PathFileType');
  const keys = (lines[1] ?? '').split('\t').map((s) => s.trim());
  const vals = (lines[2] ?? '').split('\t').map((s) => s.trim());
  const header = new Map(keys.map((k, i) => [k, vals[i] ?? '']));
  const rate = Number(header.get('DataRate'));
  const declaredFrames = Number(header.get('NumFrames'));
  const unitsRaw = header.get('Units') ?? '';
  const unitScale = UNIT_SCALE[unitsRaw];
  if (!(rate > 0 && rate < 100_000)) throw bad(`DataRate "${header.get('DataRate') ?? ''}" is not a positive number`);
  if (unitScale === undefined) throw bad(`Units "${unitsRaw}" is not mm, cm or m`);
  if (!Number.isInteger(declaredFrames) || declaredFrames < 0) throw bad('NumFrames is not a count');
  const nameFields = (lines[3] ?? '').split('\t');
  if (nameFields[0]?.trim() !== 'Frame#') throw bad('line 4 does not start with Frame#');
  // Each marker name is followed by two empty fields: names sit at columns 2, 5, 8, …
  const names: string[] = [];
  for (let c = 2; c < nameFields.length; c += 3) {
    const nm = nameFields[c]?.trim() ?? '';
    if (nm === '') break;
    names.push(nm);
  }
  if (names.length === 0) throw bad('no marker names on line 4');
  const rows: number[][] = [];
  const width = 2 + names.length * 3;
  for (let li = 5; li < lines.length; li++) {
    const line = lines[li] ?? '';
    if (line.trim() === '') continue;
    const f = line.split('\t');
    if (f.length < width) {
      const last = li === lines.length - 1 || lines.slice(li + 1).every((l) => l.trim() === '');
      if (last) throw new AdapterError(AdapterErrorCode.TRUNCATED, file, `truncated: line ${li + 1} has ${f.length} of ${width} fields`);
      throw bad(`line ${li + 1} has ${f.length} of ${width} fields`);
    }
    const row = new Array<number>(width);
    for (let c = 0; c < width; c++) {
      const s = (f[c] ?? '').trim();
      // Empty cells and "nan" are missing; anything else must be a number.
      const v = s === '' || /^nan$/i.test(s) ? NaN : Number(s);
      if (Number.isNaN(v) && s !== '' && !/^nan$/i.test(s)) throw bad(`line ${li + 1} column ${c + 1}: "${s.slice(0, 20)}" is not a number`);
      row[c] = v;
    }
    rows.push(row);
  }
  if (rows.length === 0) throw new AdapterError(AdapterErrorCode.EMPTY, file, 'TRC has no data rows');
  if (rows.length < declaredFrames) throw new AdapterError(AdapterErrorCode.TRUNCATED, file, `truncated: ${rows.length} of ${declaredFrames} declared frames`);
  const n = rows.length;
  // Exporters often write the time rounded to 1 ms (OpenSim's walk: 0.017, 0.033, …). When every
  // time is within 0.5 ms of first + (frame − first)/rate, the frame number is the exact clock.
  const t0 = rows[0]?.[1] ?? NaN;
  const f0 = rows[0]?.[0] ?? NaN;
  let frameClock = Number.isFinite(t0) && Number.isFinite(f0);
  for (const r of rows) if (!(Math.abs((r[1] ?? NaN) - (t0 + ((r[0] ?? NaN) - f0) / rate)) <= 0.0005 + 1e-9)) frameClock = false;
  const times = new Float64Array(n);
  for (let i = 0; i < n; i++) times[i] = frameClock ? t0 + ((rows[i]?.[0] ?? NaN) - f0) / rate : (rows[i]?.[1] ?? NaN);
  const markers = new Map<string, Float64Array>();
  names.forEach((name, m) => {
    const arr = new Float64Array(n * 3);
    for (let i = 0; i < n; i++) for (let c = 0; c < 3; c++) arr[i * 3 + c] = (rows[i]?.[2 + m * 3 + c] ?? NaN) * unitScale;
    if (!markers.has(name)) markers.set(name, arr);
  });
  return { times, markers, rate, units: unitsRaw, timeSource: frameClock ? 'frame' : 'column', declaredFrames };
}

/** `<prefix>_static.trc` beside a trial (same subject prefix), used to calibrate marker clusters. */
async function findStatic(path: string): Promise<string | undefined> {
  const dir = dirname(path);
  const base = basename(path);
  if (/static/i.test(base)) return undefined;
  const prefix = base.split(/[_.]/)[0] ?? '';
  let names: string[];
  try {
    names = await readdir(dir);
  } catch {
    return undefined;
  }
  const hit = names.find((n) => /static/i.test(n) && n.toLowerCase().endsWith('.trc') && n.startsWith(prefix));
  return hit ? join(dir, hit) : undefined;
}

export async function readTrc(source: SourceFile, opts: AdapterOptions = {}): Promise<Recording> {
  const data = parseTrc(source.name, source.bytes.toString('utf8'));
  const extraProvenance = [];
  const notes: string[] = [
    data.timeSource === 'frame' ? 'time from (frame − first frame)/DataRate: the time column is rounded to 1 ms or exact' : 'time read from the Time column',
  ];
  let staticTrial: MarkerData | undefined;
  let estimate;
  try {
    estimate = markersToJoints(source.name, data);
  } catch (err) {
    // No knee/ankle markers (OpenSim walk): calibrate the thigh/shank clusters on a static trial.
    const staticPath = err instanceof AdapterError && err.code === AdapterErrorCode.MISSING_MARKER ? await findStatic(source.path) : undefined;
    if (!staticPath) throw err;
    const st = await readSource(staticPath);
    staticTrial = parseTrc(st.name, st.bytes.toString('utf8'));
    estimate = markersToJoints(source.name, data, staticTrial);
    notes.push(`knee/ankle centres calibrated on static trial ${st.name}`);
    extraProvenance.push({
      file: st.path,
      sha256: st.sha256,
      format: 'trc' as const,
      originalFps: (staticTrial as TrcData).rate,
      units: (staticTrial as TrcData).units,
      axes: 'y up, right-handed',
      jointMap: {},
      notes: ['static calibration trial'],
    });
  }
  const grf = await readGrfBeside(source.path);
  const annotations = grf ? grfAnnotations(grf, estimate.track, data.times[0] ?? 0) : [];
  if (grf) extraProvenance.push(grf.provenance);
  return buildRecording(
    {
      file: source,
      format: 'trc',
      originalFps: data.rate,
      units: data.units,
      axes: 'y up, right-handed (as in the file)',
      jointMap: estimate.jointMap,
      notes: [...notes, ...estimate.notes],
      track: estimate.track,
      annotations,
      extraProvenance,
    },
    opts,
  );
}
