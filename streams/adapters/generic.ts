// Generic skeleton files with canonical joint names: CSV `t,<joint>_x,<joint>_y,<joint>_z,…[,phase]`
// or JSON `{fps?, frames: [{t, joints: {<joint>: [x, y, z]}, phase?}]}`; optional phase labels.
import { AdapterError, AdapterErrorCode } from '../errors.js';
import { JOINT_COUNT, JOINT_INDEX, type JointName } from '../skeleton.js';
import type { PhaseLabel, Recording, SourceFormat } from '../types.js';
import { buildRecording, nanJoints, type AdapterOptions, type SourceFile } from './common.js';
import { decodeText, delimiterOf, splitFields } from './fields.js';

export interface GenericOptions extends AdapterOptions {
  /** Units of the positions (default m). Axes must already be y up, right-handed. */
  readonly units?: 'm' | 'cm' | 'mm';
}

const UNIT: Readonly<Record<string, number>> = { m: 1, cm: 0.01, mm: 0.001 };

interface Table {
  readonly times: Float64Array;
  readonly joints: Float64Array;
  readonly present: Set<JointName>;
  readonly phases: (string | undefined)[];
}

/** Runs of equal, non-empty phase labels → PhaseLabel spans (a span ends where the next begins). */
export function phaseSpans(times: Float64Array, phases: readonly (string | undefined)[]): PhaseLabel[] {
  const out: PhaseLabel[] = [];
  const t0 = times[0] ?? 0;
  let i = 0;
  while (i < phases.length) {
    const name = phases[i];
    let k = i + 1;
    while (k < phases.length && phases[k] === name) k++;
    if (name) out.push({ name, start_s: (times[i] ?? 0) - t0, end_s: (times[Math.min(k, times.length - 1)] ?? 0) - t0 });
    i = k;
  }
  return out;
}

function isJoint(name: string): name is JointName {
  return Object.hasOwn(JOINT_INDEX, name);
}

function parseCsv(file: string, text: string, scale: number): Table {
  const bad = (m: string): AdapterError => new AdapterError(AdapterErrorCode.MALFORMED, file, `not a skeleton CSV: ${m}`);
  const lines = text.split(/\r?\n/).filter((l) => l.trim() !== '');
  // Comma-separated, or whitespace-delimited (any run of spaces/tabs), decided by the header line.
  const delimiter = delimiterOf(lines[0] ?? '');
  const header = splitFields(lines[0] ?? '', delimiter);
  if (!['t', 'time'].includes(header[0]?.toLowerCase() ?? '')) throw bad('first column must be t');
  const cols: { joint: JointName; axis: number; col: number }[] = [];
  const unknown: string[] = [];
  let phaseCol = -1;
  header.forEach((h, c) => {
    if (c === 0) return;
    if (h.toLowerCase() === 'phase') return void (phaseCol = c);
    const m = /^(.+)_([xyz])$/.exec(h);
    if (m && isJoint(m[1] ?? '')) cols.push({ joint: m[1] as JointName, axis: 'xyz'.indexOf(m[2] ?? 'x'), col: c });
    else unknown.push(h);
  });
  if (unknown.length > 0) throw bad(`unknown column(s) ${unknown.slice(0, 5).join(', ')} (expected <canonical joint>_x|y|z or phase)`);
  if (cols.length === 0) throw bad('no joint columns');
  const n = lines.length - 1;
  const times = new Float64Array(n);
  const joints = nanJoints(n);
  const phases: (string | undefined)[] = [];
  for (let i = 0; i < n; i++) {
    const f = splitFields(lines[i + 1] ?? '', delimiter);
    // An empty phase in the last column leaves no field (whitespace) or only a trailing comma: no phase.
    if (phaseCol === header.length - 1 && f.length === header.length - 1) f.push('');
    if (f.length !== header.length) {
      const code = i === n - 1 && f.length < header.length ? AdapterErrorCode.TRUNCATED : AdapterErrorCode.MALFORMED;
      throw new AdapterError(code, file, `row ${i + 2} has ${f.length} of ${header.length} fields`);
    }
    times[i] = Number(f[0]);
    for (const { joint, axis, col } of cols) {
      const s = (f[col] ?? '').trim();
      const v = s === '' || /^nan$/i.test(s) ? NaN : Number(s);
      if (Number.isNaN(v) && s !== '' && !/^nan$/i.test(s)) throw bad(`row ${i + 2}: "${s.slice(0, 20)}" is not a number`);
      joints[(i * JOINT_COUNT + JOINT_INDEX[joint]) * 3 + axis] = v * scale;
    }
    phases.push(phaseCol >= 0 ? (f[phaseCol] ?? '').trim() || undefined : undefined);
  }
  return { times, joints, present: new Set(cols.map((c) => c.joint)), phases };
}

function parseJson(file: string, doc: unknown, scale: number): Table & { fps: number | undefined } {
  const bad = (m: string): AdapterError => new AdapterError(AdapterErrorCode.MALFORMED, file, `not a skeleton JSON: ${m}`);
  const o = doc as { frames?: unknown; fps?: unknown };
  const frames = Array.isArray(doc) ? doc : o.frames;
  if (!Array.isArray(frames)) throw bad('expected {frames: [...]} or an array of frames');
  const n = frames.length;
  const times = new Float64Array(n);
  const joints = nanJoints(n);
  const present = new Set<JointName>();
  const phases: (string | undefined)[] = [];
  frames.forEach((fr: unknown, i) => {
    const f = fr as { t?: unknown; joints?: unknown; phase?: unknown };
    if (!f || typeof f !== 'object' || typeof f.t !== 'number' || !f.joints || typeof f.joints !== 'object')
      throw bad(`frame ${i} needs t (number) and joints (object)`);
    times[i] = f.t;
    for (const [name, p] of Object.entries(f.joints as Record<string, unknown>)) {
      if (!isJoint(name)) throw bad(`frame ${i}: unknown joint "${name.slice(0, 30)}"`);
      if (!Array.isArray(p) || p.length !== 3) throw bad(`frame ${i}: ${name} is not [x, y, z]`);
      p.forEach((v: unknown, c) => {
        joints[(i * JOINT_COUNT + JOINT_INDEX[name]) * 3 + c] = typeof v === 'number' ? v * scale : NaN;
      });
      present.add(name);
    }
    phases.push(typeof f.phase === 'string' && f.phase !== '' ? f.phase : undefined);
  });
  return { times, joints, present, phases, fps: typeof o.fps === 'number' ? o.fps : undefined };
}

export function readGeneric(source: SourceFile, format: Extract<SourceFormat, 'csv' | 'json'>, opts: GenericOptions = {}): Recording {
  const units = opts.units ?? 'm';
  const scale = UNIT[units] ?? 1;
  const text = decodeText(source.bytes);
  let table: Table;
  if (format === 'csv') {
    table = parseCsv(source.name, text, scale);
  } else {
    let doc: unknown;
    try {
      doc = JSON.parse(text);
    } catch (err) {
      throw new AdapterError(AdapterErrorCode.MALFORMED, source.name, 'is not valid JSON', { cause: err });
    }
    table = parseJson(source.name, doc, scale);
  }
  const n = table.times.length;
  const span = n > 1 ? (table.times[n - 1] ?? 0) - (table.times[0] ?? 0) : 0;
  const originalFps = n > 1 && span > 0 ? (n - 1) / span : 0;
  const jointMap = Object.fromEntries([...table.present].map((j) => [j, `column ${j}`])) as Partial<Record<JointName, string>>;
  return buildRecording(
    {
      file: source,
      format,
      originalFps,
      units,
      axes: 'y up, right-handed (required of generic files)',
      jointMap,
      notes: ['canonical joints as written; time from the t column'],
      track: { times: table.times, joints: table.joints },
      phaseLabels: phaseSpans(table.times, table.phases),
    },
    opts,
  );
}
