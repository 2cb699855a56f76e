// TRC (OpenSim / AddBiomechanics marker trajectories): tab-separated text, y up, mm or m.
import { readdir } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { AdapterError, AdapterErrorCode } from '../errors.js';
import type { Recording } from '../types.js';
import { buildRecording, readSource, type AdapterOptions, type SourceFile } from './common.js';
import { decodeText, splitWhitespace } from './fields.js';
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

/**
 * The cells of one TRC data row, for `width` columns. The format is tab-delimited and positional: an
 * empty cell between two tabs is a missing coordinate, so tabs are NOT collapsed here. Trailing
 * separators beyond `width` are ignored (and so are extra cells: the
 * reader takes the first `width`, as before). A row without tabs is whitespace-delimited (some exporters
 * write spaces); it has no empty cells, so runs of whitespace separate there.
 */
export function trcRowCells(line: string, width: number): string[] {
  const body = line.replace(/[\r\n]+$/, '');
  if (!body.includes('\t')) return splitWhitespace(body);
  const cells = body.split('\t').map((c) => c.trim());
  while (cells.length > width && cells[cells.length - 1] === '') cells.pop();
  return cells;
}

/**
 * Header lines 2 (keys) and 3 (values), matched by NAME: both are split on runs of whitespace, so
 * exporters that pad with runs of tabs or trailing tabs (`100.0\t\t100.0\t\t238…`) read the same.
 */
export function trcHeader(keysLine: string, valuesLine: string): Map<string, string> {
  const keys = splitWhitespace(keysLine);
  const vals = splitWhitespace(valuesLine);
  return new Map(keys.map((k, i) => [k.toLowerCase(), vals[i] ?? '']));
}

/** Parses a TRC's text; marker positions are converted to metres (axes are already y up). */
export function parseTrc(file: string, text: string): TrcData {
  // Text read with readFile(…, 'utf8') keeps a byte-order mark; it is not part of "PathFileType".
  const lines = text.replace(/^\uFEFF/, '').split(/\r?\n/);
  const bad = (msg: string): AdapterError => new AdapterError(AdapterErrorCode.MALFORMED, file, `not a valid TRC: ${msg}`);
  if (!lines[0]?.startsWith('PathFileType')) throw bad('line 1 does not start with PathFileType');
  const header = trcHeader(lines[1] ?? '', lines[2] ?? '');
  const rateRaw = header.get('datarate') ?? header.get('camerarate') ?? '';
  const rate = Number(rateRaw);
  const declaredFrames = Number(header.get('numframes'));
  const unitsRaw = header.get('units') ?? '';
  const unitScale = UNIT_SCALE[unitsRaw.toLowerCase()];
  if (!(rate > 0 && rate < 100_000)) throw bad(`DataRate "${rateRaw}" is not a positive number`);
  if (unitScale === undefined) throw bad(`Units "${unitsRaw}" is not mm, cm or m`);
  if (!Number.isInteger(declaredFrames) || declaredFrames < 0) throw bad('NumFrames is not a count');
  // Marker names: the fields after Frame# and Time. Names are separated by one or more tabs (each is
  // followed by two empty fields in the usual layout) and may themselves contain spaces.
  const nameFields = (lines[3] ?? '')
    .split('\t')
    .map((c) => c.trim())
    .filter((c) => c !== '');
  if (nameFields[0] !== 'Frame#') throw bad('line 4 does not start with Frame#');
  if (nameFields[1]?.toLowerCase() !== 'time') throw bad('line 4: the second column is not Time');
  const names = nameFields.slice(2);
  if (names.length === 0) throw bad('no marker names on line 4');
  const declaredMarkers = Number(header.get('nummarkers'));
  if (Number.isInteger(declaredMarkers) && declaredMarkers !== names.length) {
    throw bad(`NumMarkers is ${declaredMarkers} but line 4 names ${names.length} markers`);
  }
  const rows: number[][] = [];
  const width = 2 + names.length * 3;
  for (let li = 5; li < lines.length; li++) {
    const line = lines[li] ?? '';
    if (line.trim() === '') continue;
    const f = trcRowCells(line, width);
    if (f.length < width) {
      const last = li === lines.length - 1 || lines.slice(li + 1).every((l) => l.trim() === '');
      if (last) throw new AdapterError(AdapterErrorCode.TRUNCATED, file, `truncated: line ${li + 1} has ${f.length} of ${width} fields`);
      throw bad(`line ${li + 1} has ${f.length} of ${width} fields`);
    }
    const row = new Array<number>(width);
    for (let c = 0; c < width; c++) {
      const s = f[c] ?? '';
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
  const data = parseTrc(source.name, decodeText(source.bytes));
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
    staticTrial = parseTrc(st.name, decodeText(st.bytes));
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
