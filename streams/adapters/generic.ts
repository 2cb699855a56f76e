// Generic skeleton files with canonical joint names: CSV `t,<joint>_x,<joint>_y,<joint>_z,…[,phase]`
// (or joint names over an x/y/z line; comma, semicolon with decimal commas, or whitespace; an optional
// units line; time in s or, labelled `t_ms`, ms) or JSON `{fps?, frames: [{t, joints: {<joint>: [x, y, z]}, phase?}]}`; optional phase labels.
import { AdapterError, AdapterErrorCode } from '../errors.js';
import { JOINT_COUNT, JOINT_INDEX, type JointName } from '../skeleton.js';
import type { PhaseLabel, Recording, SourceFormat } from '../types.js';
import { buildRecording, nanJoints, type AdapterOptions, type SourceFile } from './common.js';
import { decimalMark, decodeText, delimiterOf, parseNumber, splitFields } from './fields.js';

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

const UNIT_TOKEN = /^(m|cm|mm)$/i;
/** `t`/`time`, optionally with its unit: `t_ms`, `time_s`, `time (ms)`, `t [s]`. */
const TIME_HEADER = /^(?:t|time)(?:\s*[_([]\s*(s|ms)\s*[)\]]?)?$/i;
/** `<joint>_x`, `<joint>.x`, `<joint>:x` or `<joint> x`. */
const JOINT_AXIS = /^(.+?)[_.: ]([xyz])$/i;

interface CsvHeader {
  readonly cols: { joint: JointName; axis: number; col: number }[];
  readonly phaseCol: number;
  readonly timeUnit: 's' | 'ms' | undefined;
  /** Header lines (1 or, with joint names over x/y/z, 2–3). */
  readonly lines: number;
}

/**
 * Column meanings from the header: one line (`t,root_x,root_y,…`), or joint names over axes in two
 * (`t,root,root,root` or `t,root,,` over `,x,y,z`, as pandas writes MultiIndex columns and mocap
 * exporters their marker rows; pandas adds a third line naming the index, `t,,,`).
 */
export function csvHeader(rows: readonly string[][]): CsvHeader | string {
  const [first = [], second = [], third = []] = rows;
  const isPhase = (c: number): boolean => (first[c] ?? '').toLowerCase() === 'phase';
  const axisRow = second.length > 1 && second.slice(1).every((c, k) => /^[xyz]$/i.test(c) || (c === '' && isPhase(k + 1)));
  const timeLabel = axisRow ? [first[0], second[0], third[0]].find((c) => c !== undefined && c !== '') : first[0];
  const lines = !axisRow ? 1 : first[0] === '' && second[0] === '' && third.slice(1).every((c) => c === '') ? 3 : 2;
  const time = TIME_HEADER.exec(timeLabel ?? '');
  if (!time) return 'first column must be t (or time, t_ms, time (s), …)';
  const cols: { joint: JointName; axis: number; col: number }[] = [];
  const unknown: string[] = [];
  const seen = new Set<string>();
  let phaseCol = -1;
  let joint = '';
  for (let c = 1; c < first.length || c < second.length; c++) {
    const h = first[c] ?? '';
    let name: string;
    let axis: string;
    if (isPhase(c)) {
      phaseCol = c;
      continue;
    }
    if (axisRow) {
      joint = h !== '' ? h : joint; // a name spans its three columns
      [name, axis] = [joint, (second[c] ?? '').toLowerCase()];
    } else {
      const m = JOINT_AXIS.exec(h);
      [name, axis] = [m?.[1] ?? '', (m?.[2] ?? '').toLowerCase()];
    }
    if (!isJoint(name)) {
      unknown.push(axisRow ? `${name} ${axis}` : h);
      continue;
    }
    if (seen.has(`${name}_${axis}`)) return `column ${name}_${axis} appears twice`;
    seen.add(`${name}_${axis}`);
    cols.push({ joint: name, axis: 'xyz'.indexOf(axis), col: c });
  }
  if (unknown.length > 0) return `unknown column(s) ${unknown.slice(0, 5).join(', ')} (expected <canonical joint>_x|y|z or phase)`;
  if (cols.length === 0) return 'no joint columns';
  // A joint with one or two of its axes would be a point nowhere: refuse rather than drop it.
  const partial = [...new Set(cols.map((c) => c.joint))].filter((j) => cols.filter((c) => c.joint === j).length !== 3);
  if (partial.length > 0) return `joint(s) ${partial.join(', ')} lack an x, y or z column`;
  const unit = time[1]?.toLowerCase();
  return { cols, phaseCol, timeUnit: unit === 's' || unit === 'ms' ? unit : undefined, lines };
}

/** Whether a table's first lines look like a skeleton CSV header (for format detection; parsing is stricter). */
export function looksLikeSkeletonCsv(rows: readonly string[][]): boolean {
  const [first = [], second = [], third = []] = rows;
  const axisRow = second.length > 1 && second.some((c) => /^[xyz]$/i.test(c));
  const time = [first[0], ...(axisRow ? [second[0], third[0]] : [])].some((c) => TIME_HEADER.test(c ?? ''));
  return time && (axisRow || first.some((c) => JOINT_AXIS.test(c)));
}

function parseCsv(file: string, text: string, units: GenericOptions['units']): Table & { units: string } {
  const bad = (m: string): AdapterError => new AdapterError(AdapterErrorCode.MALFORMED, file, `not a skeleton CSV: ${m}`);
  const lines = text.split(/\r?\n/).filter((l) => l.trim() !== '');
  // Comma-, semicolon- or whitespace-delimited (any run of spaces/tabs), decided by the header line.
  const delimiter = delimiterOf(lines[0] ?? '');
  const rows = lines.map((l) => splitFields(l, delimiter));
  const header = csvHeader(rows);
  if (typeof header === 'string') throw bad(header);
  const { cols, phaseCol } = header;
  const width = Math.max(...rows.slice(0, header.lines).map((r) => r.length));
  // A units row under the header (`s,mm,mm,mm,…`, as mocap exporters write): units from the file.
  let first = header.lines;
  let timeUnit = header.timeUnit;
  let fileUnits: string | undefined;
  const unitsRow = rows[first];
  if (unitsRow && cols.every(({ col }) => UNIT_TOKEN.test(unitsRow[col] ?? ''))) {
    const found = new Set(cols.map(({ col }) => (unitsRow[col] ?? '').toLowerCase()));
    if (found.size > 1) throw bad(`units row mixes ${[...found].join(', ')}`);
    fileUnits = [...found][0];
    const t = (unitsRow[0] ?? '').toLowerCase();
    if (t !== '' && t !== 's' && t !== 'ms') throw bad(`time unit "${unitsRow[0] ?? ''}" in the units row (expected s or ms)`);
    if (t !== '' && timeUnit !== undefined && t !== timeUnit) throw bad(`time is labelled ${timeUnit} but the units row says ${t}`);
    if (t !== '') timeUnit = t as 's' | 'ms';
    first++;
  }
  if (fileUnits && units && fileUnits !== units) throw bad(`the units row says ${fileUnits} but the units option says ${units}`);
  const positionUnits = fileUnits ?? units ?? 'm';
  const scale = UNIT[positionUnits] ?? 1;
  const body = rows.slice(first);
  const mark = decimalMark(
    body.flatMap((r) => r.filter((_, c) => c !== phaseCol)),
    delimiter,
  );
  if (mark === null) throw bad('numbers mix "." and "," (a thousands separator?): the value of a cell like 1.234 is not clear');
  const n = body.length;
  const times = new Float64Array(n);
  const joints = nanJoints(n);
  const phases: (string | undefined)[] = [];
  for (let i = 0; i < n; i++) {
    const f = body[i] ?? [];
    const line = i + first + 1;
    // An empty last cell leaves only a trailing delimiter (pandas writes a missing value as nothing),
    // and an empty phase in the last column leaves no field at all in a whitespace table.
    const sep = delimiter === 'comma' ? ',' : ';';
    const emptyLast = delimiter === 'whitespace' ? phaseCol === width - 1 : (lines[i + first] ?? '').trimEnd().endsWith(sep);
    if (emptyLast && f.length === width - 1) f.push('');
    if (f.length !== width) {
      const code = i === n - 1 && f.length < width ? AdapterErrorCode.TRUNCATED : AdapterErrorCode.MALFORMED;
      throw new AdapterError(code, file, `row ${line} has ${f.length} of ${width} fields`);
    }
    const t = parseNumber(f[0] ?? '', mark);
    if (t === undefined || Number.isNaN(t)) throw bad(`row ${line}: time "${(f[0] ?? '').slice(0, 20)}" is not a number`);
    times[i] = timeUnit === 'ms' ? t / 1000 : t;
    for (const { joint, axis, col } of cols) {
      const v = parseNumber(f[col] ?? '', mark);
      if (v === undefined) throw bad(`row ${line}: "${(f[col] ?? '').slice(0, 20)}" is not a number`);
      joints[(i * JOINT_COUNT + JOINT_INDEX[joint]) * 3 + axis] = v * scale;
    }
    phases.push(phaseCol >= 0 ? (f[phaseCol] ?? '').trim() || undefined : undefined);
  }
  return { times, joints, present: new Set(cols.map((c) => c.joint)), phases, units: positionUnits };
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
        // null is JSON's missing value; anything else that is not a number ("0.5", true) is an error.
        if (typeof v !== 'number' && v !== null) throw bad(`frame ${i}: ${name} has a non-number ${JSON.stringify(v).slice(0, 20)}`);
        joints[(i * JOINT_COUNT + JOINT_INDEX[name]) * 3 + c] = typeof v === 'number' ? v * scale : NaN;
      });
      present.add(name);
    }
    phases.push(typeof f.phase === 'string' && f.phase !== '' ? f.phase : undefined);
  });
  return { times, joints, present, phases, fps: typeof o.fps === 'number' ? o.fps : undefined };
}

/** Slowest plausible sampling of a skeleton sequence: below it the time column is most likely in ms. */
const MAX_FRAME_STEP_S = 0.5;

export function readGeneric(source: SourceFile, format: Extract<SourceFormat, 'csv' | 'json'>, opts: GenericOptions = {}): Recording {
  const text = decodeText(source.bytes);
  let table: Table;
  let units: string;
  if (format === 'csv') {
    const csv = parseCsv(source.name, text, opts.units);
    table = csv;
    units = csv.units;
  } else {
    let doc: unknown;
    try {
      doc = JSON.parse(text);
    } catch (err) {
      throw new AdapterError(AdapterErrorCode.MALFORMED, source.name, 'is not valid JSON', { cause: err });
    }
    units = opts.units ?? 'm';
    table = parseJson(source.name, doc, UNIT[units] ?? 1);
  }
  const n = table.times.length;
  const steps = Array.from({ length: Math.max(0, n - 1) }, (_, i) => (table.times[i + 1] ?? 0) - (table.times[i] ?? 0)).sort((a, b) => a - b);
  const step = steps[steps.length >> 1] ?? 0;
  // Milliseconds under a plain `t` read as seconds would be a 1000× slow-motion recording, mostly gaps.
  if (step >= MAX_FRAME_STEP_S)
    throw new AdapterError(
      AdapterErrorCode.IMPLAUSIBLE,
      source.name,
      `frames are ${step.toPrecision(3)} s apart (${(1 / step).toPrecision(3)} Hz): if the time is in milliseconds, label the column t_ms or time (ms)`,
    );
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
