// BVH: HIERARCHY (joints, offsets, channels in any order) + MOTION (one line of channel values per frame).
import { AdapterError, AdapterErrorCode } from '../errors.js';

export interface BvhJoint {
  readonly name: string;
  readonly parent: number;
  readonly offset: readonly [number, number, number];
  readonly channels: readonly string[];
  /** Index of this joint's first channel in a frame's values. */
  readonly channelStart: number;
  readonly isEndSite: boolean;
}

export interface BvhFile {
  readonly joints: readonly BvhJoint[];
  readonly frameTime: number;
  /** frames × channelCount values. */
  readonly values: Float64Array;
  readonly frameCount: number;
  readonly channelCount: number;
}

const CHANNELS = new Set(['Xposition', 'Yposition', 'Zposition', 'Xrotation', 'Yrotation', 'Zrotation']);
const MAX_JOINTS = 1000;

export function parseBvh(file: string, text: string): BvhFile {
  const bad = (msg: string): AdapterError => new AdapterError(AdapterErrorCode.MALFORMED, file, `not a valid BVH: ${msg}`);
  const truncated = (msg: string): AdapterError => new AdapterError(AdapterErrorCode.TRUNCATED, file, `truncated BVH: ${msg}`);
  const motionAt = text.search(/^\s*MOTION\b/m);
  if (!/^\s*HIERARCHY\b/.test(text)) throw bad('does not start with HIERARCHY');
  if (motionAt < 0) throw truncated('no MOTION section');
  const tokens = text
    .slice(0, motionAt)
    .split(/\s+/)
    .filter((t) => t !== '');
  let pos = 1; // after HIERARCHY
  const joints: BvhJoint[] = [];
  const stack: number[] = [];
  let channelCount = 0;
  const num = (): number => {
    const v = Number(tokens[pos++]);
    if (!Number.isFinite(v)) throw bad(`expected a number near token ${pos}`);
    return v;
  };
  while (pos < tokens.length) {
    const tok = tokens[pos++];
    if (tok === 'ROOT' || tok === 'JOINT' || tok === 'End') {
      const isEndSite = tok === 'End';
      const name = isEndSite ? `${joints[stack.at(-1) ?? -1]?.name ?? ''}_End` : (tokens[pos] ?? '');
      pos++; // name, or "Site"
      if (tokens[pos++] !== '{') throw bad(`expected { after ${tok} ${name}`);
      if (tokens[pos++] !== 'OFFSET') throw bad(`expected OFFSET in ${name}`);
      const offset: [number, number, number] = [num(), num(), num()];
      const channels: string[] = [];
      if (!isEndSite && tokens[pos] === 'CHANNELS') {
        pos++;
        const n = num();
        if (!Number.isInteger(n) || n < 0 || n > 6) throw bad(`${name} declares ${n} channels`);
        for (let k = 0; k < n; k++) {
          const c = tokens[pos++] ?? '';
          if (!CHANNELS.has(c)) throw bad(`${name}: unknown channel "${c.slice(0, 20)}"`);
          channels.push(c);
        }
      }
      if (tok !== 'ROOT' && stack.length === 0) throw bad(`${name} has no parent`);
      joints.push({ name, parent: tok === 'ROOT' ? -1 : (stack.at(-1) ?? -1), offset, channels, channelStart: channelCount, isEndSite });
      if (joints.length > MAX_JOINTS) throw bad(`more than ${MAX_JOINTS} joints`);
      channelCount += channels.length;
      stack.push(joints.length - 1);
    } else if (tok === '}') {
      if (stack.pop() === undefined) throw bad('unbalanced }');
    } else {
      throw bad(`unexpected "${(tok ?? '').slice(0, 20)}" in HIERARCHY`);
    }
  }
  if (stack.length !== 0) throw bad('unbalanced { in HIERARCHY');
  if (joints.length === 0) throw bad('no joints');
  const lines = text.slice(motionAt).replace(/^\s+/, '').split(/\r?\n/);
  const frames = /^\s*Frames:\s*(\d+)\s*$/.exec(lines[1] ?? '');
  const ft = /^\s*Frame Time:\s*([0-9.eE+-]+)\s*$/.exec(lines[2] ?? '');
  if (!frames || !ft) throw (lines.length < 4 ? truncated : bad)('missing Frames:/Frame Time: lines after MOTION');
  const frameCount = Number(frames[1]);
  const frameTime = Number(ft[1]);
  if (!(frameTime > 0 && frameTime < 10)) throw bad(`Frame Time ${ft[1] ?? ''} is not usable`);
  if (frameCount === 0) throw new AdapterError(AdapterErrorCode.EMPTY, file, 'BVH declares 0 frames');
  // Every value takes at least two characters ("0 "): a declaration the text cannot hold is a
  // truncated file, caught before allocating for it.
  if (frameCount * channelCount > (text.length - motionAt) / 2)
    throw truncated(`declares ${frameCount} frames × ${channelCount} channels, more than the file holds`);
  const values = new Float64Array(frameCount * channelCount);
  let f = 0;
  for (let li = 3; li < lines.length && f < frameCount; li++) {
    const line = (lines[li] ?? '').trim();
    if (line === '') continue;
    const parts = line.split(/\s+/);
    if (parts.length !== channelCount) {
      const isLast = lines.slice(li + 1).every((l) => l.trim() === '');
      if (isLast && parts.length < channelCount) throw truncated(`frame ${f + 1} has ${parts.length} of ${channelCount} values`);
      throw bad(`frame ${f + 1} has ${parts.length} values, expected ${channelCount}`);
    }
    for (let c = 0; c < channelCount; c++) {
      const v = Number(parts[c]);
      if (!Number.isFinite(v)) throw bad(`frame ${f + 1} value ${c + 1} "${(parts[c] ?? '').slice(0, 20)}" is not a number`);
      values[f * channelCount + c] = v;
    }
    f++;
  }
  if (f < frameCount) throw truncated(`${f} of ${frameCount} declared frames`);
  return { joints, frameTime, values, frameCount, channelCount };
}
