// BVH (CMU and common variants) → Recording: forward kinematics, units detected from leg length.
import { AdapterError, AdapterErrorCode } from '../errors.js';
import { JOINT_COUNT, JOINT_INDEX, SIDES, type JointName } from '../skeleton.js';
import type { Recording } from '../types.js';
import { parseBvh, type BvhFile } from './bvh-parse.js';
import { buildRecording, nanJoints, type AdapterOptions, type SourceFile } from './common.js';
import { apply, axisRotation, identity, mul, type Mat3 } from './rotation.js';
import { decodeText } from './fields.js';
import { estimateHeel, HEEL_ESTIMATE_NOTE } from './heel.js';
import { add, at, put, scale, type V3 } from './vec.js';

const norm = (s: string): string => s.toLowerCase().replace(/[^a-z0-9]/g, '');

/** Canonical joint → BVH names in order of preference (normalised; L/R variants generated). */
const NAMES: Readonly<Partial<Record<JointName, readonly string[]>>> = {
  root: ['hips', 'hip', 'pelvis', 'root'],
  chest: ['chest', 'spine1', 'spine2', 'upperchest', 'chest2'],
  neck: ['neck', 'neck1', 'lowerneck'],
  head: ['head'],
};
const SIDE_NAMES: Readonly<Record<string, readonly string[]>> = {
  hip: ['upleg', 'hip', 'thigh', 'upperleg'],
  knee: ['leg', 'knee', 'shin', 'lowerleg', 'calf'],
  ankle: ['foot', 'ankle'],
  toe: ['toebase', 'toe', 'toes', 'toe0'],
  // Mixamo's LeftShoulder is the clavicle and LeftArm the upper arm; CMU has LeftCollar + LeftShoulder.
  shoulder: ['arm', 'uparm', 'upperarm', 'shoulder'],
  elbow: ['forearm', 'elbow', 'lowarm', 'lowerarm'],
  wrist: ['wrist', 'hand'],
};

function candidates(joint: JointName): string[] {
  const direct = NAMES[joint];
  if (direct) return [...direct];
  const [side, part] = joint.split('_') as ['left' | 'right', string];
  const s = side === 'left' ? ['left', 'l', 'l_'] : ['right', 'r', 'r_'];
  return (SIDE_NAMES[part] ?? []).flatMap((p) => s.map((pre) => norm(pre + p)));
}

/** Human thigh + shank ≈ 0.8 m; the file unit that makes the rest-pose leg that long. */
const UNITS: readonly { name: string; toMetres: number; leg: [number, number] }[] = [
  { name: 'm', toMetres: 1, leg: [0.4, 1.3] },
  { name: 'CMU units (×0.056444)', toMetres: 0.056444, leg: [7, 23] },
  { name: 'inches', toMetres: 0.0254, leg: [23, 52] },
  { name: 'cm', toMetres: 0.01, leg: [52, 130] },
  { name: 'mm', toMetres: 0.001, leg: [400, 1300] },
];

export function readBvh(source: SourceFile, opts: AdapterOptions = {}): Recording {
  const bvh = parseBvh(source.name, decodeText(source.bytes));
  const index = new Map<string, number>();
  bvh.joints.forEach((j, i) => {
    if (!j.isEndSite && !index.has(norm(j.name))) index.set(norm(j.name), i);
  });
  const jointMap: Partial<Record<JointName, string>> = {};
  const source2canon = new Map<JointName, number>();
  for (const joint of Object.keys(JOINT_INDEX) as JointName[]) {
    const hit = candidates(joint)
      .map((c) => index.get(c))
      .find((i) => i !== undefined);
    if (hit !== undefined) {
      source2canon.set(joint, hit);
      jointMap[joint] = `BVH joint ${bvh.joints[hit]?.name ?? ''} (FK)`;
    }
  }
  const need = ['root', 'left_hip', 'right_hip', 'left_knee', 'right_knee', 'left_ankle', 'right_ankle'] as const;
  const missing = need.filter((j) => !source2canon.has(j));
  if (missing.length > 0)
    throw new AdapterError(
      AdapterErrorCode.MISSING_MARKER,
      source.name,
      `BVH has no joint for ${missing.join(', ')} (joint names: ${bvh.joints
        .filter((j) => !j.isEndSite)
        .map((j) => j.name)
        .join(', ')
        .slice(0, 300)})`,
    );
  const seg = (a: JointName, b: JointName): number => {
    // Rest-pose length from the OFFSETs along the chain between two mapped joints.
    let i = source2canon.get(b) ?? -1;
    const stop = source2canon.get(a) ?? -2;
    let len = 0;
    while (i >= 0 && i !== stop) {
      const o = bvh.joints[i]!.offset;
      len += Math.hypot(o[0], o[1], o[2]);
      i = bvh.joints[i]!.parent;
    }
    return len;
  };
  const leg = (seg('left_hip', 'left_knee') + seg('left_knee', 'left_ankle') + seg('right_hip', 'right_knee') + seg('right_knee', 'right_ankle')) / 2;
  const unit = UNITS.find((u) => leg >= u.leg[0] && leg < u.leg[1]);
  if (!unit)
    throw new AdapterError(
      AdapterErrorCode.IMPLAUSIBLE,
      source.name,
      `implausible scale: rest-pose leg length ${leg.toFixed(3)} matches no known unit (m, CMU, in, cm, mm)`,
    );
  const world = forwardKinematics(bvh, unit.toMetres);
  const n = bvh.frameCount;
  const joints = nanJoints(n);
  for (let f = 0; f < n; f++) {
    for (const [canon, j] of source2canon) put(joints, f * JOINT_COUNT + JOINT_INDEX[canon], at(world, f * bvh.joints.length + j));
  }
  const rate = rateOf(bvh.frameTime);
  const notes = [
    `frame rate ${rate} Hz from Frame Time ${bvh.frameTime}`,
    `units detected from the rest-pose leg length ${leg.toFixed(2)} → ${unit.name}`,
    'y up as in the file (BVH convention)',
  ];
  estimateHeels(joints, n, jointMap, notes);
  return buildRecording(
    {
      file: source,
      format: 'bvh',
      originalFps: rate,
      units: unit.name,
      axes: 'y up, right-handed (BVH)',
      jointMap,
      notes,
      track: { times: Float64Array.from({ length: n }, (_, i) => i / rate), joints },
    },
    opts,
  );
}

/**
 * The frame rate a Frame Time stands for. Exporters print 1/rate rounded: "Frame Time: .0083333" is
 * 1/120, and Blender's "%f" writes 0.016667 for 60 Hz and 0.008333 for 120 Hz, whose reciprocals are
 * 59.9988 and 120.0048. An integer rate whose period rounds to the digits written (and within 1e-4) is
 * the rate meant; otherwise the Frame Time is taken as exact.
 */
export function rateOf(frameTime: number): number {
  const raw = 1 / frameTime;
  const r = Math.round(raw);
  if (r <= 0) return raw;
  if (Math.abs(raw - r) < 1e-3) return r;
  // Digits after the point as written: String() gives the shortest decimal that reads back the same.
  const [mantissa = '', exp = '0'] = String(frameTime).split('e');
  const decimals = (mantissa.split('.')[1]?.length ?? 0) - Number(exp);
  const diff = Math.abs(1 / r - frameTime);
  return diff <= 0.5 * 10 ** -decimals * (1 + 1e-9) && diff / frameTime < 1e-4 ? r : raw;
}

/** World positions (metres) of every BVH joint in every frame: frames × joints × 3. */
export function forwardKinematics(bvh: BvhFile, toMetres: number): Float64Array {
  const J = bvh.joints.length;
  const out = new Float64Array(bvh.frameCount * J * 3);
  // Per joint, decoded once: which channel sets which offset axis, which rotates about which axis.
  const plan = bvh.joints.map((j) => ({
    pos: j.channels.flatMap((c, k) => (c.endsWith('position') ? [[k, 'XYZ'.indexOf(c[0] ?? 'X')] as const] : [])),
    rot: j.channels.flatMap((c, k) => (c.endsWith('rotation') ? [[k, (c[0] ?? 'X') as 'X' | 'Y' | 'Z'] as const] : [])),
  }));
  const rot: Mat3[] = bvh.joints.map(() => identity());
  for (let f = 0; f < bvh.frameCount; f++) {
    const base = f * bvh.channelCount;
    for (let i = 0; i < J; i++) {
      const j = bvh.joints[i]!;
      const { pos, rot: rc } = plan[i]!;
      const offset: V3 = [j.offset[0], j.offset[1], j.offset[2]];
      // Position channels replace the OFFSET; rotations compose in channel order (Rz·Ry·Rx for ZYX).
      for (const [k, axis] of pos) offset[axis] = bvh.values[base + j.channelStart + k] ?? 0;
      let local = identity();
      for (const [k, axis] of rc) local = mul(local, axisRotation(axis, bvh.values[base + j.channelStart + k] ?? 0));
      if (j.parent < 0) {
        rot[i] = local;
        put(out, f * J + i, scale(offset, toMetres));
      } else {
        const pr = rot[j.parent]!;
        rot[i] = mul(pr, local);
        put(out, f * J + i, add(at(out, f * J + j.parent), scale(apply(pr, offset), toMetres)));
      }
    }
  }
  return out;
}

/** BVH skeletons have no heel joint: estimated from ankle/toe geometry and flagged as such. */
function estimateHeels(joints: Float64Array, n: number, jointMap: Partial<Record<JointName, string>>, notes: string[]): void {
  for (const side of SIDES) {
    if (!jointMap[`${side}_toe`]) continue;
    const a = JOINT_INDEX[`${side}_ankle`];
    const t = JOINT_INDEX[`${side}_toe`];
    for (let f = 0; f < n; f++)
      put(joints, f * JOINT_COUNT + JOINT_INDEX[`${side}_heel`], estimateHeel(at(joints, f * JOINT_COUNT + a), at(joints, f * JOINT_COUNT + t)));
    jointMap[`${side}_heel`] = HEEL_ESTIMATE_NOTE;
  }
  notes.push('heels are estimated from ankle/toe geometry (BVH has no heel joint)');
}
