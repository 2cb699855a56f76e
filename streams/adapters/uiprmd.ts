// UI-PRMD (Vakanski et al. 2018): Kinect v2 positions+angles pairs (FK) and Vicon Plug-in Gait markers.
import { access } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { AdapterError, AdapterErrorCode } from '../errors.js';
import { JOINT_COUNT, JOINT_INDEX, SIDES, type JointName } from '../skeleton.js';
import type { Assessment, Recording } from '../types.js';
import { buildRecording, nanJoints, readSource, type AdapterOptions, type SourceFile } from './common.js';
import { decodeText, delimiterOf, splitFields } from './fields.js';
import { markersToJoints } from './markers.js';
import { apply, axisRotation, mul, type Mat3 } from './rotation.js';
import { estimateHeel, HEEL_ESTIMATE_NOTE } from './heel.js';
import { add, at, mid, put, scale, type V3 } from './vec.js';

export const KINECT_FPS = 30;

/** UI-PRMD movement codes that are one of our assessments (m02 hurdle step is none of them). */
const MOVEMENT_ASSESSMENT: Readonly<Record<string, Assessment>> = { m01: 'squat', m05: 'sit_to_stand', m06: 'balance' };

/** Assessment and subject from a UI-PRMD file name `mMM_sSS_eEE_…`. */
export function uiprmdLabels(name: string): { assessment?: Assessment; subject?: string } {
  const m = /^(m\d\d)_(s\d\d)_e\d\d/.exec(name);
  if (!m) return {};
  const assessment = MOVEMENT_ASSESSMENT[m[1]!];
  return { subject: `uiprmd-${m[2]!}`, ...(assessment ? { assessment } : {}) };
}
export const VICON_FPS = 100;

/**
 * Numbers, one frame a line, every line `width` values: comma-separated as UI-PRMD ships them (a
 * trailing comma adds no field), or whitespace-delimited (any run of spaces/tabs separates) — the
 * delimiter is taken from the first line and holds for the whole file.
 */
export function parseNumberRows(file: string, text: string, width: number): Float64Array[] {
  const rows: Float64Array[] = [];
  const lines = text.split(/\r?\n/);
  const delimiter = delimiterOf(lines.find((l) => l.trim() !== '') ?? '');
  for (let i = 0; i < lines.length; i++) {
    const l = (lines[i] ?? '').trim();
    if (l === '') continue;
    const v = splitFields(l, delimiter).map((c) => (c === '' ? NaN : Number(c)));
    if (v.length !== width || v.some((x) => !Number.isFinite(x))) {
      const last = lines.slice(i + 1).every((x) => x.trim() === '');
      const code = last && v.length < width ? AdapterErrorCode.TRUNCATED : AdapterErrorCode.MALFORMED;
      throw new AdapterError(code, file, `line ${i + 1}: expected ${width} ${delimiter}-separated numbers, got ${v.length}`);
    }
    rows.push(Float64Array.from(v));
  }
  if (rows.length === 0) throw new AdapterError(AdapterErrorCode.EMPTY, file, 'has no frames');
  return rows;
}

// Kinect joints (UI-PRMD README): index → parent; the position of joint j is where its segment starts.
const KINECT_PARENT = [-1, 0, 1, 2, 3, 4, 2, 6, 7, 8, 2, 10, 11, 12, 0, 14, 15, 16, 0, 18, 19, 20] as const;
const KINECT_NAMES = [
  'Waist',
  'Spine',
  'Chest',
  'Neck',
  'Head',
  'HeadTip',
  'LeftCollar',
  'LeftUpperArm',
  'LeftForearm',
  'LeftHand',
  'RightCollar',
  'RightUpperArm',
  'RightForearm',
  'RightHand',
  'LeftUpperLeg',
  'LeftLowerLeg',
  'LeftFoot',
  'LeftToes',
  'RightUpperLeg',
  'RightLowerLeg',
  'RightFoot',
  'RightToes',
] as const;
const KINECT_MAP: Readonly<Partial<Record<JointName, number>>> = {
  chest: 2,
  neck: 3,
  head: 4,
  left_shoulder: 7,
  left_elbow: 8,
  left_wrist: 9,
  right_shoulder: 11,
  right_elbow: 12,
  right_wrist: 13,
  left_hip: 14,
  left_knee: 15,
  left_ankle: 16,
  left_toe: 17,
  right_hip: 18,
  right_knee: 19,
  right_ankle: 20,
  right_toe: 21,
};

/** FK exactly as the UI-PRMD README: R_local = Rz(c)·Rx(a)·Ry(b); p(j) = p(parent) + R(parent)·offset(j). */
export function kinectFk(positions: Float64Array, angles: Float64Array): Float64Array {
  const out = new Float64Array(22 * 3);
  const R: Mat3[] = [];
  for (let j = 0; j < 22; j++) {
    const a = angles[j * 3] ?? 0;
    const b = angles[j * 3 + 1] ?? 0;
    const c = angles[j * 3 + 2] ?? 0;
    const local = mul(mul(axisRotation('Z', c), axisRotation('X', a)), axisRotation('Y', b));
    const p = KINECT_PARENT[j] ?? -1;
    const off: V3 = at(positions, j);
    if (p < 0) {
      R[j] = local;
      put(out, j, off);
    } else {
      const pr = R[p] as Mat3;
      put(out, j, add(at(out, p), apply(pr, off)));
      R[j] = mul(pr, local);
    }
  }
  return out;
}

/** `_positions` ↔ `_angles`, keeping `_inc`. */
export function kinectPair(path: string): { positions: string; angles: string } {
  const name = basename(path);
  const other = name.includes('_positions') ? name.replace('_positions', '_angles') : name.replace('_angles', '_positions');
  const dir = dirname(path);
  return name.includes('_positions') ? { positions: path, angles: join(dir, other) } : { positions: join(dir, other), angles: path };
}

export async function readUiprmdKinect(source: SourceFile, opts: AdapterOptions = {}): Promise<Recording> {
  if (!/_(positions|angles)/.test(source.name))
    throw new AdapterError(AdapterErrorCode.UNKNOWN_FORMAT, source.name, 'a UI-PRMD Kinect file name must contain _positions or _angles');
  const pair = kinectPair(source.path);
  const otherPath = pair.positions === source.path ? pair.angles : pair.positions;
  try {
    await access(otherPath);
  } catch (err) {
    throw new AdapterError(
      AdapterErrorCode.MISSING_PAIR,
      source.name,
      `its pair ${basename(otherPath)} is missing (Kinect positions need their angles file for FK)`,
      { cause: err },
    );
  }
  const other = await readSource(otherPath);
  const [posSrc, angSrc] = pair.positions === source.path ? [source, other] : [other, source];
  const pos = parseNumberRows(posSrc.name, decodeText(posSrc.bytes), 66);
  const ang = parseNumberRows(angSrc.name, decodeText(angSrc.bytes), 66);
  if (pos.length !== ang.length) throw new AdapterError(AdapterErrorCode.MALFORMED, source.name, `positions has ${pos.length} frames, angles ${ang.length}`);
  const n = pos.length;
  const joints = nanJoints(n);
  const jointMap: Partial<Record<JointName, string>> = {};
  for (let f = 0; f < n; f++) {
    const world = kinectFk(pos[f] as Float64Array, ang[f] as Float64Array);
    for (const [canon, k] of Object.entries(KINECT_MAP) as [JointName, number][]) put(joints, f * JOINT_COUNT + JOINT_INDEX[canon], scale(at(world, k), 0.01));
    const o = f * JOINT_COUNT;
    put(joints, o + JOINT_INDEX.root, mid(at(joints, o + JOINT_INDEX.left_hip), at(joints, o + JOINT_INDEX.right_hip)));
    for (const side of SIDES) {
      put(joints, o + JOINT_INDEX[`${side}_heel`], estimateHeel(at(joints, o + JOINT_INDEX[`${side}_ankle`]), at(joints, o + JOINT_INDEX[`${side}_toe`])));
    }
  }
  for (const [canon, k] of Object.entries(KINECT_MAP) as [JointName, number][]) jointMap[canon] = `Kinect ${KINECT_NAMES[k] ?? k} (FK)`;
  jointMap.root = 'mid-point of Kinect LeftUpperLeg/RightUpperLeg (FK)';
  for (const side of SIDES) jointMap[`${side}_heel`] = HEEL_ESTIMATE_NOTE;
  return buildRecording(
    {
      file: posSrc,
      format: 'uiprmd-kinect',
      originalFps: KINECT_FPS,
      units: 'cm (positions), degrees (angles)',
      axes: 'y up, +x subject left, +z towards the sensor (right-handed)',
      jointMap,
      notes: ['FK: R_local = Rz(c)·Rx(a)·Ry(b), p(j) = p(parent) + R(parent)·offset(j) (UI-PRMD README)', `paired with ${angSrc.name}`, 'time = row / 30 Hz'],
      track: { times: Float64Array.from({ length: n }, (_, i) => i / KINECT_FPS), joints },
      ...uiprmdLabels(posSrc.name),
      extraProvenance: [
        {
          file: angSrc.path,
          sha256: angSrc.sha256,
          format: 'uiprmd-kinect',
          originalFps: KINECT_FPS,
          units: 'degrees',
          axes: 'Euler x, y, z per joint',
          jointMap: {},
          notes: ['angles file of the pair'],
        },
      ],
    },
    opts,
  );
}

/** Plug-in Gait full-body 39-marker order (UI-PRMD README). */
export const VICON_MARKERS = [
  'LFHD',
  'RFHD',
  'LBHD',
  'RBHD',
  'C7',
  'T10',
  'CLAV',
  'STRN',
  'RBAK',
  'LSHO',
  'LUPA',
  'LELB',
  'LFRM',
  'LWRA',
  'LWRB',
  'LFIN',
  'RSHO',
  'RUPA',
  'RELB',
  'RFRM',
  'RWRA',
  'RWRB',
  'RFIN',
  'LASI',
  'RASI',
  'LPSI',
  'RPSI',
  'LTHI',
  'LKNE',
  'LTIB',
  'LANK',
  'LHEE',
  'LTOE',
  'RTHI',
  'RKNE',
  'RTIB',
  'RANK',
  'RHEE',
  'RTOE',
] as const;

export function readUiprmdVicon(source: SourceFile, opts: AdapterOptions = {}): Recording {
  const rows = parseNumberRows(source.name, decodeText(source.bytes), 117);
  const n = rows.length;
  const markers = new Map<string, Float64Array>();
  VICON_MARKERS.forEach((name, m) => {
    const arr = new Float64Array(n * 3);
    for (let f = 0; f < n; f++) {
      const r = rows[f] as Float64Array;
      const x = r[m * 3] ?? NaN;
      const y = r[m * 3 + 1] ?? NaN;
      const z = r[m * 3 + 2] ?? NaN;
      // Dropouts are written as exactly 0,0,0. z up, +y left → y up: (x, z, −y), still right-handed.
      const dropped = x === 0 && y === 0 && z === 0;
      put(arr, f, dropped ? [NaN, NaN, NaN] : [x / 1000, z / 1000, -y / 1000]);
    }
    markers.set(name, arr);
  });
  const times = Float64Array.from({ length: n }, (_, i) => i / VICON_FPS);
  const estimate = markersToJoints(source.name, { times, markers });
  return buildRecording(
    {
      file: source,
      format: 'uiprmd-vicon',
      ...uiprmdLabels(source.name),
      originalFps: VICON_FPS,
      units: 'mm',
      axes: 'z up, +x forward, +y left (converted to y up: (x, z, −y))',
      jointMap: estimate.jointMap,
      notes: ['marker order: Plug-in Gait 39 (UI-PRMD README)', '0,0,0 = missing marker', 'time = row / 100 Hz', ...estimate.notes],
      track: estimate.track,
    },
    opts,
  );
}
