// Writes a parsed BVH back out the ways other exporters do: another Euler channel order per joint,
// position channels on every joint, CRLF, scientific notation, Frame Time printed with "%f".
import type { BvhFile } from '../../../streams/adapters/bvh-parse.js';
import { axisRotation, identity, mul, type Mat3 } from '../../../streams/adapters/rotation.js';

type Axis = 'X' | 'Y' | 'Z';
export type EulerOrder = `${Axis}${Axis}${Axis}`;

export interface BvhWriteOptions {
  /** Rotation channel order for each joint (default: as in the source). */
  readonly order?: (joint: string) => EulerOrder | undefined;
  /** Give non-root joints Xposition Yposition Zposition channels too (values = their OFFSET). */
  readonly positionsOnAllJoints?: boolean;
  readonly eol?: string;
  readonly number?: (v: number) => string;
  readonly frameTime?: string;
}

/** Angles (degrees) a, b, c with M = R_A(a)·R_B(b)·R_C(c) for a Tait–Bryan order ABC. */
export function decompose(m: Mat3, order: EulerOrder): [number, number, number] {
  const [i, j, k] = [...order].map((c) => 'XYZ'.indexOf(c)) as [number, number, number];
  const at = (r: number, c: number): number => m[r * 3 + c] ?? NaN;
  const parity = (j - i + 3) % 3 === 1 ? 1 : -1; // XYZ, YZX, ZXY are even
  const deg = 180 / Math.PI;
  const b = Math.asin(Math.max(-1, Math.min(1, parity * at(i, k))));
  const a = Math.atan2(-parity * at(j, k), at(k, k));
  const c = Math.atan2(-parity * at(i, j), at(i, i));
  return [a * deg, b * deg, c * deg];
}

export function writeBvh(bvh: BvhFile, opts: BvhWriteOptions = {}): string {
  const eol = opts.eol ?? '\n';
  const num = opts.number ?? ((v: number) => String(v));
  const plan = bvh.joints.map((j) => {
    const rot = j.channels.filter((c) => c.endsWith('rotation')).map((c) => c[0] as Axis);
    const order = rot.length === 3 ? (opts.order?.(j.name) ?? (rot.join('') as EulerOrder)) : undefined;
    const positions = j.channels.some((c) => c.endsWith('position')) || (opts.positionsOnAllJoints === true && !j.isEndSite && j.parent >= 0);
    const channels = [...(positions ? ['Xposition', 'Yposition', 'Zposition'] : []), ...(order ? [...order].map((a) => `${a}rotation`) : [])];
    return { rot, order, positions, channels };
  });
  const lines = ['HIERARCHY'];
  const children = (p: number): number[] => bvh.joints.flatMap((j, i) => (j.parent === p ? [i] : []));
  const emit = (i: number, depth: number): void => {
    const j = bvh.joints[i]!;
    const pad = '\t'.repeat(depth);
    lines.push(pad + (j.isEndSite ? 'End Site' : `${j.parent < 0 ? 'ROOT' : 'JOINT'} ${j.name}`), `${pad}{`);
    lines.push(`${pad}\tOFFSET ${j.offset.map(num).join(' ')}`);
    if (!j.isEndSite) lines.push(`${pad}\tCHANNELS ${plan[i]!.channels.length} ${plan[i]!.channels.join(' ')}`);
    for (const c of children(i)) emit(c, depth + 1);
    lines.push(`${pad}}`);
  };
  bvh.joints.forEach((j, i) => j.parent < 0 && emit(i, 0));
  lines.push('MOTION', `Frames: ${bvh.frameCount}`, `Frame Time: ${opts.frameTime ?? String(bvh.frameTime)}`);
  for (let f = 0; f < bvh.frameCount; f++) {
    const row: number[] = [];
    const value = (j: number, k: number): number => bvh.values[f * bvh.channelCount + bvh.joints[j]!.channelStart + k] ?? NaN;
    bvh.joints.forEach((j, i) => {
      const p = plan[i]!;
      if (p.positions) {
        const pos = [...j.offset];
        j.channels.forEach((c, k) => c.endsWith('position') && (pos['XYZ'.indexOf(c[0] ?? 'X')] = value(i, k)));
        row.push(...pos);
      }
      if (!p.order) return;
      let m: Mat3 = identity();
      j.channels.forEach((c, k) => c.endsWith('rotation') && (m = mul(m, axisRotation(c[0] as Axis, value(i, k)))));
      row.push(...(p.order === p.rot.join('') ? j.channels.flatMap((c, k) => (c.endsWith('rotation') ? [value(i, k)] : [])) : decompose(m, p.order)));
    });
    lines.push(row.map(num).join(' '));
  }
  return lines.join(eol) + eol;
}
