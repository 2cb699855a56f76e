// VideoPose3D 17-joint Human3.6M arrays (JSON, .npy or .npz of shape (N, 17, 3)) → Recording.
import { AdapterError, AdapterErrorCode } from '../errors.js';
import { JOINT_COUNT, JOINT_INDEX, type JointName } from '../skeleton.js';
import type { Recording } from '../types.js';
import { buildRecording, nanJoints, type AdapterOptions, type SourceFile } from './common.js';
import { decodeText } from './fields.js';
import { npzMembers, ZIP_MAGIC } from './npz.js';
import { mid, put, type V3 } from './vec.js';

export interface VideoPoseOptions extends AdapterOptions {
  /** Source rate when the file does not say (JSON `fps`); default 50 Hz, Human3.6M's rate. */
  readonly sourceFps?: number;
  /**
   * Source axes. Default 'y-down': camera space as most VideoPose3D exports write it (x right,
   * y down, z away from the camera), turned y-up by a 180° rotation about x: (x, −y, −z).
   */
  readonly axes?: 'y-down' | 'y-up';
  /** Source units (default m). */
  readonly units?: 'm' | 'cm' | 'mm';
  /** In an .npz archive, the name of the (N, 17, 3) array; needed only when it holds more than one. */
  readonly array?: string;
}

export const DEFAULT_VIDEOPOSE_FPS = 50;
const UNIT: Readonly<Record<string, number>> = { m: 1, cm: 0.01, mm: 0.001 };

// Human3.6M 17-joint order used by VideoPose3D.
const H36M = [
  'Hip',
  'RHip',
  'RKnee',
  'RFoot',
  'LHip',
  'LKnee',
  'LFoot',
  'Spine',
  'Thorax',
  'Neck/Nose',
  'Head',
  'LShoulder',
  'LElbow',
  'LWrist',
  'RShoulder',
  'RElbow',
  'RWrist',
] as const;
const MAP: Readonly<Partial<Record<JointName, number>>> = {
  root: 0,
  right_hip: 1,
  right_knee: 2,
  right_ankle: 3,
  left_hip: 4,
  left_knee: 5,
  left_ankle: 6,
  neck: 8,
  head: 10,
  left_shoulder: 11,
  left_elbow: 12,
  left_wrist: 13,
  right_shoulder: 14,
  right_elbow: 15,
  right_wrist: 16,
};

/** Parses a .npy float32/float64 little-endian array (C or Fortran order); returns its shape and values in C order. */
export function parseNpy(file: string, buf: Uint8Array): { shape: number[]; data: Float64Array } {
  const bad = (m: string): AdapterError => new AdapterError(AdapterErrorCode.MALFORMED, file, `not a usable .npy: ${m}`);
  if (buf.length < 10) throw new AdapterError(AdapterErrorCode.TRUNCATED, file, 'truncated .npy header');
  const dv = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  const major = buf[6] ?? 0;
  const headerLen = major >= 2 ? (buf.length >= 12 ? dv.getUint32(8, true) : -1) : dv.getUint16(8, true);
  const start = (major >= 2 ? 12 : 10) + headerLen;
  if (headerLen < 0 || start > buf.length) throw new AdapterError(AdapterErrorCode.TRUNCATED, file, 'truncated .npy header');
  const header = Buffer.from(buf.subarray(major >= 2 ? 12 : 10, start)).toString('latin1');
  const descr = /'descr':\s*'([^']*)'/.exec(header)?.[1];
  const fortran = /'fortran_order':\s*(True|False)/.exec(header)?.[1];
  const shapeText = /'shape':\s*\(([^)]*)\)/.exec(header)?.[1];
  if (!descr || !fortran || shapeText === undefined) throw bad('header lacks descr/fortran_order/shape');
  if (descr.includes('O')) throw bad('it holds pickled Python objects (e.g. a dict saved with np.savez), not a numeric array');
  const size = descr === '<f4' ? 4 : descr === '<f8' ? 8 : 0;
  if (!size) throw bad(`dtype ${descr} (only little-endian float32/float64)`);
  const shape = shapeText
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s !== '')
    .map(Number);
  if (shape.some((d) => !Number.isInteger(d) || d < 0)) throw bad(`shape (${shapeText})`);
  const count = shape.reduce((a, b) => a * b, 1);
  if (start + count * size > buf.length)
    throw new AdapterError(AdapterErrorCode.TRUNCATED, file, `truncated .npy: ${Math.floor((buf.length - start) / size)} of ${count} values`);
  const data = new Float64Array(count);
  const read = (k: number): number => (size === 4 ? dv.getFloat32(start + k * 4, true) : dv.getFloat64(start + k * 8, true));
  if (fortran === 'False') {
    for (let i = 0; i < count; i++) data[i] = read(i);
  } else {
    // Fortran order (np.asfortranarray, arrays saved from MATLAB/Julia, transposed views): the FIRST
    // index varies fastest. Values are returned in C order, as every caller indexes them.
    const fStride = shape.map((_, d) => shape.slice(0, d).reduce((a, b) => a * b, 1));
    const index = new Array<number>(shape.length).fill(0);
    for (let i = 0; i < count; i++) {
      data[i] = read(index.reduce((o, v, d) => o + v * (fStride[d] ?? 0), 0));
      for (let d = shape.length - 1; d >= 0; d--) {
        index[d] = (index[d] ?? 0) + 1;
        if ((index[d] ?? 0) < (shape[d] ?? 0)) break;
        index[d] = 0;
      }
    }
  }
  return { shape, data };
}

const isPoseShape = (shape: readonly number[]): boolean => shape.length === 3 && shape[1] === 17 && shape[2] === 3;

/**
 * The one (N, 17, 3) array of an .npz archive, or the one named by `array`. Several candidates and no
 * name is refused: picking one (say 2-D keypoints' lifted output vs ground truth) would be a guess.
 */
function fromNpz(file: string, bytes: Uint8Array, array: string | undefined): { name: string; shape: number[]; data: Float64Array } {
  const members = npzMembers(file, bytes);
  const names = [...members.keys()];
  if (array !== undefined) {
    const m = members.get(array);
    if (!m) throw new AdapterError(AdapterErrorCode.MALFORMED, file, `.npz has no array "${array}" (it has ${names.join(', ') || 'none'})`);
    const { shape, data } = parseNpy(file, m);
    if (!isPoseShape(shape)) throw new AdapterError(AdapterErrorCode.MALFORMED, file, `.npz array "${array}" has shape (${shape.join(', ')}), not (N, 17, 3)`);
    return { name: array, shape, data };
  }
  const poses: { name: string; shape: number[]; data: Float64Array }[] = [];
  const others: string[] = [];
  for (const [name, m] of members) {
    let parsed: { shape: number[]; data: Float64Array };
    try {
      parsed = parseNpy(file, m);
    } catch (err) {
      // A member that is no numeric array (pickled objects, strings) cannot be the poses.
      if (err instanceof AdapterError && err.code === AdapterErrorCode.MALFORMED) {
        others.push(`${name} (${err.message.replace(/^.*not a usable \.npy: /, '')})`);
        continue;
      }
      throw err;
    }
    if (isPoseShape(parsed.shape)) poses.push({ name, ...parsed });
    else others.push(`${name} (${parsed.shape.join(', ')})`);
  }
  const [only, ...more] = poses;
  if (!only) throw new AdapterError(AdapterErrorCode.MALFORMED, file, `.npz holds no (N, 17, 3) array: ${others.join('; ') || 'no .npy members'}`);
  if (more.length > 0)
    throw new AdapterError(
      AdapterErrorCode.MALFORMED,
      file,
      `.npz holds ${poses.length} (N, 17, 3) arrays (${poses.map((p) => p.name).join(', ')}): name one with the \`array\` option`,
    );
  return only;
}

function fromJson(file: string, doc: unknown): { data: Float64Array; n: number; fps: number | undefined } {
  const bad = (m: string): AdapterError => new AdapterError(AdapterErrorCode.MALFORMED, file, `not a VideoPose3D JSON: ${m}`);
  const o = doc as { fps?: unknown; keypoints?: unknown };
  const frames = Array.isArray(doc) ? doc : o.keypoints;
  const fps = !Array.isArray(doc) && typeof o.fps === 'number' ? o.fps : undefined;
  if (!Array.isArray(frames)) throw bad('expected an array of frames or {fps, keypoints}');
  const data = new Float64Array(frames.length * 17 * 3);
  frames.forEach((f: unknown, i) => {
    if (!Array.isArray(f) || f.length !== 17) throw bad(`frame ${i} is not 17 joints`);
    f.forEach((p: unknown, j) => {
      if (!Array.isArray(p) || p.length !== 3 || !p.every((v) => typeof v === 'number' || v === null)) throw bad(`frame ${i} joint ${j} is not [x, y, z]`);
      for (let c = 0; c < 3; c++) data[(i * 17 + j) * 3 + c] = (p[c] as number | null) ?? NaN;
    });
  });
  return { data, n: frames.length, fps };
}

export function readVideoPose(source: SourceFile, opts: VideoPoseOptions = {}): Recording {
  let parsed: { data: Float64Array; n: number; fps: number | undefined };
  let member: string | undefined;
  if (ZIP_MAGIC.every((b, i) => source.bytes[i] === b)) {
    const chosen = fromNpz(source.name, source.bytes, opts.array);
    member = chosen.name;
    parsed = { data: chosen.data, n: chosen.shape[0] ?? 0, fps: undefined };
  } else if (source.bytes[0] === 0x93) {
    const { shape, data } = parseNpy(source.name, source.bytes);
    if (!isPoseShape(shape)) throw new AdapterError(AdapterErrorCode.MALFORMED, source.name, `.npy shape (${shape.join(', ')}) is not (N, 17, 3)`);
    parsed = { data, n: shape[0] ?? 0, fps: undefined };
  } else {
    let doc: unknown;
    try {
      doc = JSON.parse(decodeText(source.bytes));
    } catch (err) {
      throw new AdapterError(AdapterErrorCode.MALFORMED, source.name, 'is not valid JSON', { cause: err });
    }
    parsed = fromJson(source.name, doc);
  }
  const fps = parsed.fps ?? opts.sourceFps ?? DEFAULT_VIDEOPOSE_FPS;
  if (!(fps > 0 && fps < 10_000)) throw new AdapterError(AdapterErrorCode.MALFORMED, source.name, `frame rate ${fps} is not usable`);
  const axes = opts.axes ?? 'y-down';
  const units = opts.units ?? 'm';
  const s = UNIT[units] ?? 1;
  const n = parsed.n;
  const joints = nanJoints(n);
  const src = (f: number, j: number): V3 => {
    const o = (f * 17 + j) * 3;
    const x = (parsed.data[o] ?? NaN) * s;
    const y = (parsed.data[o + 1] ?? NaN) * s;
    const z = (parsed.data[o + 2] ?? NaN) * s;
    return axes === 'y-down' ? [x, -y, -z] : [x, y, z];
  };
  for (let f = 0; f < n; f++) {
    for (const [canon, j] of Object.entries(MAP) as [JointName, number][]) put(joints, f * JOINT_COUNT + JOINT_INDEX[canon], src(f, j));
    put(joints, f * JOINT_COUNT + JOINT_INDEX.chest, mid(src(f, 7), src(f, 8)));
  }
  const jointMap: Partial<Record<JointName, string>> = Object.fromEntries(Object.entries(MAP).map(([c, j]) => [c, `H36M ${H36M[j] ?? j}`]));
  jointMap.chest = 'mid-point of H36M Spine and Thorax';
  return buildRecording(
    {
      file: source,
      format: 'videopose3d',
      originalFps: fps,
      units,
      axes: axes === 'y-down' ? 'camera space, y down (converted: (x, −y, −z))' : 'y up, right-handed',
      jointMap,
      notes: [
        parsed.fps === undefined ? `rate ${fps} Hz from options/default (the file has none)` : `rate ${fps} Hz from the file`,
        'no feet below the ankle: heels and toes are unavailable',
        ...(member === undefined ? [] : [`array "${member}" of the .npz archive`]),
      ],
      track: { times: Float64Array.from({ length: n }, (_, i) => i / fps), joints },
    },
    opts,
  );
}
