// C3D marker files → Recording: units from POINT:UNITS, up axis from the body, events from EVENT.
import { AdapterError, AdapterErrorCode } from '../errors.js';
import type { Side } from '../skeleton.js';
import type { Annotation, Recording } from '../types.js';
import { parseC3d, type C3dFile } from './c3d-parse.js';
import { buildRecording, type AdapterOptions, type SourceFile } from './common.js';
import { markersToJoints } from './markers.js';

const UNIT_SCALE: Readonly<Record<string, number>> = { mm: 0.001, cm: 0.01, m: 1 };

/** Which axis points up: the one along which the pelvis is furthest above the feet. */
function upAxis(c3d: C3dFile): 0 | 1 | 2 {
  const idx = (re: RegExp): number[] => c3d.labels.flatMap((l, i) => (re.test(l) ? [i] : []));
  const top = idx(/asi|psi|sacr/i);
  const low = idx(/hee|heel|toe|mt\d|ank/i);
  const mean = (ids: number[], axis: number): number => {
    let s = 0;
    let k = 0;
    for (let f = 0; f < c3d.frameCount; f += Math.max(1, Math.floor(c3d.frameCount / 50))) {
      for (const p of ids) {
        const v = c3d.points[(f * c3d.pointCount + p) * 3 + axis] ?? NaN;
        if (Number.isFinite(v)) {
          s += v;
          k++;
        }
      }
    }
    return k ? s / k : NaN;
  };
  if (top.length === 0 || low.length === 0) return 1;
  const d = [0, 1, 2].map((a) => mean(top, a) - mean(low, a));
  const best = d.indexOf(Math.max(...d.map((v) => (Number.isFinite(v) ? v : -Infinity))));
  return best === 0 || best === 2 ? best : 1;
}

/** Gait events from both layouts: type in LABELS (Fukuchi) or in CONTEXTS (Shida), or the C3D convention. */
export function c3dEvents(c3d: C3dFile): Annotation[] {
  const times = c3d.params.get('EVENT:TIMES')?.numbers ?? [];
  const labels = c3d.params.get('EVENT:LABELS')?.strings ?? [];
  const contexts = c3d.params.get('EVENT:CONTEXTS')?.strings ?? [];
  const count = Math.floor(times.length / 2);
  const offset = (c3d.firstFrame - 1) / c3d.rate;
  const out: Annotation[] = [];
  const seen = new Set<string>();
  for (let i = 0; i < count; i++) {
    const t = (times[2 * i] ?? 0) * 60 + (times[2 * i + 1] ?? NaN) - offset;
    const label = (labels[i] ?? '').trim();
    const context = (contexts[i] ?? '').trim();
    let side: Side | undefined;
    let type: Annotation['type'] | undefined;
    for (const code of [label, context]) {
      const m = /^([LR])(HS|TO)$/i.exec(code);
      if (m) {
        side = m[1]?.toUpperCase() === 'L' ? 'left' : 'right';
        type = m[2]?.toUpperCase() === 'HS' ? 'heel_strike' : 'toe_off';
      }
    }
    if (!type && /^(left|right)$/i.test(context)) {
      side = /^left$/i.test(context) ? 'left' : 'right';
      if (/strike|contact/i.test(label)) type = 'heel_strike';
      else if (/off/i.test(label)) type = 'toe_off';
    }
    if (!side || !type || !Number.isFinite(t)) continue; // RON/ROFF duplicates, other event kinds
    const key = `${type}:${side}:${t.toFixed(6)}`;
    if (seen.has(key)) continue;
    seen.add(key);
    out.push({ type, side, t_s: t, source: 'c3d-event' });
  }
  return out.sort((a, b) => a.t_s - b.t_s);
}

/**
 * Vicon Nexus writes every label of a subject as "<subject>:<marker>" ("Bob:LASI") and lists the prefix
 * in SUBJECTS:LABEL_PREFIXES. Markers are looked up by name, so one subject's prefix is taken off; with
 * several subjects the labels are kept whole (which subject to read is not ours to guess).
 */
function subjectPrefix(c3d: C3dFile): string | undefined {
  const prefixes = (c3d.params.get('SUBJECTS:LABEL_PREFIXES')?.strings ?? []).filter((p) => p !== '');
  const uses = c3d.params.get('SUBJECTS:USES_PREFIXES')?.numbers[0];
  if (prefixes.length !== 1 || uses === 0) return undefined;
  return prefixes[0];
}

export function readC3d(source: SourceFile, opts: AdapterOptions = {}): Recording {
  const c3d = parseC3d(source.name, source.bytes);
  const unitsRaw = (c3d.params.get('POINT:UNITS')?.strings[0] ?? 'mm').trim().toLowerCase();
  const unitScale = UNIT_SCALE[unitsRaw];
  if (unitScale === undefined) throw new AdapterError(AdapterErrorCode.MALFORMED, source.name, `POINT:UNITS "${unitsRaw}" is not mm, cm or m`);
  const up = upAxis(c3d);
  // Proper rotations only (no mirroring): z up → (x, z, −y); x up → (−y, x, z).
  const convert = (x: number, y: number, z: number): [number, number, number] => (up === 1 ? [x, y, z] : up === 2 ? [x, z, -y] : [-y, x, z]);
  const n = c3d.frameCount;
  const times = Float64Array.from({ length: n }, (_, i) => i / c3d.rate);
  const markers = new Map<string, Float64Array>();
  const prefix = subjectPrefix(c3d);
  c3d.labels.forEach((full, p) => {
    const label = prefix && full.startsWith(prefix) ? full.slice(prefix.length) : full;
    if (markers.has(label)) return; // duplicate labels (Shida's V_R.TT): first one wins
    const arr = new Float64Array(n * 3);
    for (let f = 0; f < n; f++) {
      const o = (f * c3d.pointCount + p) * 3;
      const v = convert(c3d.points[o] ?? NaN, c3d.points[o + 1] ?? NaN, c3d.points[o + 2] ?? NaN);
      arr[f * 3] = v[0] * unitScale;
      arr[f * 3 + 1] = v[1] * unitScale;
      arr[f * 3 + 2] = v[2] * unitScale;
    }
    markers.set(label, arr);
  });
  const estimate = markersToJoints(source.name, { times, markers });
  const axes = ['x up (converted: y′ = x)', 'y up, right-handed', 'z up (converted to y up: (x, z, −y))'][up] ?? '';
  return buildRecording(
    {
      file: source,
      format: 'c3d',
      originalFps: c3d.rate,
      units: unitsRaw,
      axes,
      jointMap: estimate.jointMap,
      notes: [
        `${c3d.pointCount} points, frames ${c3d.firstFrame}–${c3d.firstFrame + n - 1}, ${c3d.scale < 0 ? 'float32' : `int16 × ${c3d.scale}`} data (${c3d.processor})`,
        ...(prefix ? [`subject prefix "${prefix}" taken off the labels`] : []),
        'points with residual < 0 are missing',
        ...estimate.notes,
      ],
      track: estimate.track,
      annotations: c3dEvents(c3d),
    },
    opts,
  );
}
