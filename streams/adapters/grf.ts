// Force-plate `.mot` beside a TRC → gait events (ground truth from vertical force).
import { access } from 'node:fs/promises';
import { AdapterError, AdapterErrorCode } from '../errors.js';
import { JOINT_COUNT, JOINT_INDEX, type Side } from '../skeleton.js';
import type { Annotation, Provenance } from '../types.js';
import { readSource } from './common.js';
import { decodeText, splitWhitespace } from './fields.js';
import type { JointTrack } from './resample.js';

export const CONTACT_THRESHOLD_N = 20;
export const MIN_CONTACT_S = 0.05;

export interface Plate {
  readonly label: string;
  /** Fixed foot (named `r_`/`_r_`, or the pair `ground_force_*` right + `1_ground_force_*` left) or undefined = by CoP. */
  readonly side: Side | undefined;
  readonly vy: Float64Array;
  readonly px: Float64Array | undefined;
  readonly pz: Float64Array | undefined;
}

export interface GrfData {
  readonly times: Float64Array;
  readonly plates: readonly Plate[];
  readonly provenance: Provenance;
}

/**
 * Header lines of an OpenSim Storage (.mot/.sto) file, by key name: `nRows=1501`, `datarows 901`
 * (older files) and padding with runs of tabs all read the same. Keys are lower-cased.
 */
export function motHeader(lines: readonly string[]): Map<string, string> {
  const out = new Map<string, string>();
  for (const l of lines) {
    const m = /^\s*([A-Za-z_][\w.]*)\s*(?:=\s*|\s+)(\S.*?)\s*$/.exec(l);
    if (m) out.set((m[1] ?? '').toLowerCase(), m[2] ?? '');
  }
  return out;
}

/**
 * An OpenSim Storage table: header up to `endheader`, one line of column labels, then rows of numbers.
 * Whitespace-delimited by specification: any run of spaces/tabs separates fields, ends ignored.
 * Declared counts (nRows/datarows, nColumns/datacolumns), when present, are checked by name.
 */
export function parseMot(file: string, text: string): { columns: string[]; rows: Float64Array[] } {
  const lines = text.split(/\r?\n/);
  const end = lines.findIndex((l) => l.trim().toLowerCase() === 'endheader');
  if (end < 0) throw new AdapterError(AdapterErrorCode.MALFORMED, file, 'not a valid .mot: no endheader line');
  const header = motHeader(lines.slice(0, end));
  const columns = splitWhitespace(lines[end + 1] ?? '');
  const declaredColumns = Number(header.get('ncolumns') ?? header.get('datacolumns'));
  if (Number.isInteger(declaredColumns) && declaredColumns !== columns.length)
    throw new AdapterError(AdapterErrorCode.MALFORMED, file, `.mot declares ${declaredColumns} columns but labels ${columns.length}`);
  const rows: Float64Array[] = [];
  for (let i = end + 2; i < lines.length; i++) {
    const f = splitWhitespace(lines[i] ?? '').map(Number);
    if (f.length === 0) continue;
    // Exactly one number per label: with more, which label goes with which number is a guess.
    if (f.length !== columns.length || f.some((v) => Number.isNaN(v)))
      throw new AdapterError(AdapterErrorCode.MALFORMED, file, `.mot line ${i + 1} has ${f.length} fields, not ${columns.length} numbers`);
    rows.push(Float64Array.from(f));
  }
  const declaredRows = Number(header.get('nrows') ?? header.get('datarows'));
  if (Number.isInteger(declaredRows) && rows.length < declaredRows)
    throw new AdapterError(AdapterErrorCode.TRUNCATED, file, `truncated .mot: ${rows.length} of ${declaredRows} declared rows`);
  return { columns, rows };
}

/**
 * A vertical-force label (lower-cased), with the plate's prefix and infix: `ground_force_vy`,
 * `1_ground_force_vy` (OpenSim gait examples), `ground_force_1_vy` (numbered plates, AddBiomechanics),
 * `r_ground_force_vy` and `ground_force_r_vy` (per foot, newer OpenSim models).
 */
const PLATE_VY = /^(?:(\d+|r|l|right|left)_)?ground_force_(?:(\d+|r|l|right|left)_)?vy$/;

const sideOf = (tag: string | undefined): Side | undefined => (tag === 'r' || tag === 'right' ? 'right' : tag === 'l' || tag === 'left' ? 'left' : undefined);

/** Reads `<stem>_grf.mot` beside a trial, if there is one. */
export async function readGrfBeside(trialPath: string): Promise<GrfData | undefined> {
  const path = trialPath.replace(/\.[^./]+$/, '') + '_grf.mot';
  try {
    await access(path);
  } catch {
    return undefined;
  }
  const src = await readSource(path);
  const { columns, rows } = parseMot(src.name, decodeText(src.bytes));
  // Labels by name, case-insensitively (`time`/`Time`, `R_ground_force_vy`/`r_ground_force_vy`).
  const lower = columns.map((c) => c.toLowerCase());
  const col = (name: string): Float64Array | undefined => {
    const k = lower.indexOf(name);
    return k < 0 ? undefined : Float64Array.from(rows, (r) => r[k] ?? NaN);
  };
  const times = col('time');
  if (!times) throw new AdapterError(AdapterErrorCode.MALFORMED, src.name, '.mot has no time column');
  const found = lower.flatMap((c, k) => {
    const m = PLATE_VY.exec(c);
    return m ? [{ stem: c.slice(0, -2), label: (columns[k] ?? c).slice(0, -3), prefix: m[1], infix: m[2] }] : [];
  });
  if (found.length === 0)
    throw new AdapterError(
      AdapterErrorCode.MALFORMED,
      src.name,
      `.mot has no vertical force column (expected e.g. ground_force_vy, 1_ground_force_vy, R_ground_force_vy, ground_force_r_vy); labels: ${columns.slice(0, 8).join(', ')}`,
    );
  // Unnamed plates `ground_force_*` + `1_ground_force_*` are right + left (OpenSim's gait examples);
  // any other numbering (`2_…`, `ground_force_1_…`) says nothing about the foot: by centre of pressure.
  const pair = found.length === 2 && found.every((p) => p.infix === undefined && (p.prefix === undefined || p.prefix === '1'));
  const plates: Plate[] = found.map(({ stem, label, prefix, infix }) => {
    const side = sideOf(prefix) ?? sideOf(infix) ?? (pair ? (prefix === '1' ? 'left' : 'right') : undefined);
    return { label, side, vy: col(stem + 'vy')!, px: col(stem + 'px'), pz: col(stem + 'pz') };
  });
  return {
    times,
    plates,
    provenance: {
      file: src.path,
      sha256: src.sha256,
      format: 'trc',
      originalFps: times.length > 1 ? (times.length - 1) / ((times[times.length - 1] ?? 0) - (times[0] ?? 0)) : 0,
      units: 'N, m',
      axes: 'y up (vy vertical)',
      jointMap: {},
      notes: [`force plates: ${plates.map((p) => `${p.label}→${p.side ?? 'foot nearest the centre of pressure'}`).join(', ')}`],
    },
  };
}

/** Loaded intervals [start, end] sample indices: vy > 20 N for > 50 ms (cut-off intervals kept). */
export function contactIntervals(times: Float64Array, vy: Float64Array): [number, number][] {
  const out: [number, number][] = [];
  const n = times.length;
  let i = 0;
  while (i < n) {
    if (!((vy[i] ?? 0) > CONTACT_THRESHOLD_N)) {
      i++;
      continue;
    }
    const s = i;
    while (i < n && (vy[i] ?? 0) > CONTACT_THRESHOLD_N) i++;
    const e = i - 1;
    const cut = s === 0 || e === n - 1; // contact runs past the recording: its length is unknown
    if (cut || (times[e] ?? 0) - (times[s] ?? 0) > MIN_CONTACT_S) out.push([s, e]);
  }
  return out;
}

/**
 * The foot that stays nearest the centre of pressure over the whole loaded interval (mean horizontal
 * heel–CoP distance): at mid-stance the swinging heel passes close by, so one instant is not enough.
 */
function nearestFoot(track: JointTrack, times: Float64Array, px: Float64Array, pz: Float64Array, s: number, e: number): Side | undefined {
  const sum = { left: 0, right: 0 };
  let k = 0;
  let ti = 0;
  const step = Math.max(1, Math.floor((e - s) / 50));
  for (let g = s; g <= e; g += step) {
    const t = times[g] ?? NaN;
    while (ti < track.times.length - 1 && Math.abs((track.times[ti + 1] ?? NaN) - t) <= Math.abs((track.times[ti] ?? NaN) - t)) ti++;
    const d = (side: Side): number => {
      const o = ti * JOINT_COUNT * 3 + JOINT_INDEX[`${side}_heel`] * 3;
      return Math.hypot((track.joints[o] ?? NaN) - (px[g] ?? NaN), (track.joints[o + 2] ?? NaN) - (pz[g] ?? NaN));
    };
    const l = d('left');
    const r = d('right');
    if (!Number.isFinite(l) || !Number.isFinite(r)) continue;
    sum.left += l;
    sum.right += r;
    k++;
  }
  if (k === 0) return undefined;
  return sum.left < sum.right ? 'left' : 'right';
}

/** Heel strike = onset, toe-off = end of each loaded interval; none at the first/last sample. */
export function grfAnnotations(grf: GrfData, track: JointTrack, t0: number): Annotation[] {
  const out: Annotation[] = [];
  const n = grf.times.length;
  for (const p of grf.plates) {
    for (const [s, e] of contactIntervals(grf.times, p.vy)) {
      const side = p.side ?? (p.px && p.pz ? nearestFoot(track, grf.times, p.px, p.pz, s, e) : undefined);
      if (!side) continue;
      const source = 'force-plate';
      if (s > 0) out.push({ type: 'heel_strike', side, t_s: (grf.times[s] ?? 0) - t0, source });
      if (e < n - 1) out.push({ type: 'toe_off', side, t_s: (grf.times[e + 1] ?? 0) - t0, source });
    }
  }
  return out.sort((a, b) => a.t_s - b.t_s);
}
