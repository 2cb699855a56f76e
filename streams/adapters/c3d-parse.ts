// C3D binary: 512-byte header, parameter section (groups/parameters), then point/analog frames.
// Intel (little-endian IEEE) only; DEC and MIPS files are refused with a coded error.
import { AdapterError, AdapterErrorCode } from '../errors.js';

export type C3dValue = { readonly type: number; readonly dims: readonly number[]; readonly numbers: readonly number[]; readonly strings: readonly string[] };

export interface C3dFile {
  readonly pointCount: number;
  /** First frame number: TRIAL:ACTUAL_START_FIELD (32-bit) when present, else header word 4 (16-bit). */
  readonly firstFrame: number;
  readonly frameCount: number;
  readonly rate: number;
  readonly scale: number;
  /** GROUP:PARAM (upper case) → value. */
  readonly params: ReadonlyMap<string, C3dValue>;
  readonly labels: readonly string[];
  /** frameCount × pointCount × 3, in the file's POINT:UNITS; NaN where residual < 0. */
  readonly points: Float64Array;
}

const PROCESSOR = { INTEL: 84, DEC: 85, MIPS: 86 } as const;

export function parseC3d(file: string, buf: Uint8Array): C3dFile {
  const bad = (msg: string): AdapterError => new AdapterError(AdapterErrorCode.MALFORMED, file, `not a valid C3D: ${msg}`);
  const trunc = (msg: string): AdapterError => new AdapterError(AdapterErrorCode.TRUNCATED, file, `truncated C3D: ${msg}`);
  if (buf.length < 512) throw trunc(`${buf.length} bytes, shorter than the 512-byte header`);
  if (buf[1] !== 0x50) throw bad('header byte 1 is not 0x50');
  const dv = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  const paramStart = ((buf[0] ?? 0) - 1) * 512;
  if (paramStart < 512) throw bad(`parameter block ${buf[0] ?? 0} is inside the header`);
  if (paramStart + 4 > buf.length) throw trunc('the parameter section is missing');
  const processor = buf[paramStart + 3] ?? 0;
  if (processor === PROCESSOR.DEC || processor === PROCESSOR.MIPS) {
    throw new AdapterError(
      AdapterErrorCode.MALFORMED,
      file,
      `C3D from a ${processor === PROCESSOR.DEC ? 'DEC (VAX float)' : 'MIPS (big-endian)'} processor is not supported; re-export it as Intel`,
    );
  }
  if (processor !== PROCESSOR.INTEL) throw bad(`unknown processor type ${processor}`);
  const params = readParams(buf, dv, paramStart, bad, trunc);
  const pointCount = dv.getUint16(2, true);
  // Header words are 1-based 16-bit words: 3 = analog samples per frame, 4/5 = first/last frame.
  const analogPerFrame = dv.getUint16(4, true);
  const firstFrame = dv.getUint16(6, true);
  const lastFrame = dv.getUint16(8, true);
  const scale = dv.getFloat32(12, true);
  const dataBlock = dv.getUint16(16, true);
  const rate = dv.getFloat32(20, true);
  if (!(rate > 0 && rate < 100_000)) throw bad(`frame rate ${rate} is not usable`);
  if (!Number.isFinite(scale) || scale === 0) throw bad(`POINT:SCALE ${scale} is not usable`);
  // The header's 16-bit last frame overflows on long trials; POINT:FRAMES then holds the count.
  let frameCount = lastFrame - firstFrame + 1;
  const pf = params.get('POINT:FRAMES')?.numbers[0];
  if (pf !== undefined && pf > frameCount) frameCount = pf;
  if (frameCount <= 0) throw bad(`frames ${firstFrame}..${lastFrame}`);
  if (dataBlock < 2) throw bad(`data block ${dataBlock}`);
  const isFloat = scale < 0;
  const word = isFloat ? 4 : 2;
  const frameBytes = (pointCount * 4 + analogPerFrame) * word;
  const dataStart = (dataBlock - 1) * 512;
  const needed = dataStart + frameCount * frameBytes;
  if (needed > buf.length) {
    const have = Math.max(0, Math.floor((buf.length - dataStart) / Math.max(1, frameBytes)));
    throw trunc(`${have} of ${frameCount} declared frames present`);
  }
  const points = new Float64Array(frameCount * pointCount * 3);
  const s = isFloat ? 1 : scale;
  for (let f = 0; f < frameCount; f++) {
    const base = dataStart + f * frameBytes;
    for (let p = 0; p < pointCount; p++) {
      const o = base + p * 4 * word;
      const rd = (k: number): number => (isFloat ? dv.getFloat32(o + k * word, true) : dv.getInt16(o + k * word, true));
      const residual = rd(3);
      const out = (f * pointCount + p) * 3;
      if (residual < 0 || !Number.isFinite(residual)) {
        points[out] = points[out + 1] = points[out + 2] = NaN;
      } else {
        points[out] = rd(0) * s;
        points[out + 1] = rd(1) * s;
        points[out + 2] = rd(2) * s;
      }
    }
  }
  // The header's first frame is a 16-bit word: long captures that start after frame 65535 store the true
  // number in TRIAL:ACTUAL_START_FIELD as two unsigned 16-bit words (low, high) — C3D user guide. Event
  // times count from the capture's frame 1, so using the truncated header value would shift every event.
  const actual = params.get('TRIAL:ACTUAL_START_FIELD')?.numbers;
  const actualStart = actual && actual.length >= 2 ? ((actual[0] ?? 0) & 0xffff) + ((actual[1] ?? 0) & 0xffff) * 65536 : 0;
  const labels = [...(params.get('POINT:LABELS')?.strings ?? []), ...(params.get('POINT:LABELS2')?.strings ?? [])].slice(0, pointCount);
  while (labels.length < pointCount) labels.push(`POINT${labels.length + 1}`);
  return { pointCount, firstFrame: actualStart > 0 ? actualStart : firstFrame, frameCount, rate, scale, params, labels, points };
}

function readParams(buf: Uint8Array, dv: DataView, start: number, bad: (m: string) => AdapterError, trunc: (m: string) => AdapterError): Map<string, C3dValue> {
  const groups = new Map<number, string>();
  const pending: { gid: number; name: string; value: C3dValue }[] = [];
  const blocks = buf[start + 2] ?? 0;
  const end = Math.min(buf.length, start + Math.max(1, blocks) * 512);
  if (start + blocks * 512 > buf.length) throw trunc('the parameter section is cut short');
  let pos = start + 4;
  const text = (a: number, len: number): string => String.fromCharCode(...buf.subarray(a, a + len));
  for (let guard = 0; guard < 100_000; guard++) {
    if (pos + 2 > end) break;
    const nameLen = Math.abs(dv.getInt8(pos));
    const id = dv.getInt8(pos + 1);
    if (nameLen === 0 || id === 0) break;
    if (pos + 2 + nameLen + 2 > end) throw bad(`parameter record at byte ${pos} runs past the section`);
    const name = text(pos + 2, nameLen)
      .trim()
      .toUpperCase();
    const offPos = pos + 2 + nameLen;
    const next = dv.getInt16(offPos, true);
    let p = offPos + 2;
    if (id < 0) {
      groups.set(-id, name);
    } else {
      if (p + 2 > end) throw bad(`parameter ${name} runs past the section`);
      const type = dv.getInt8(p);
      const nd = buf[p + 1] ?? 0;
      p += 2;
      if (p + nd > end) throw bad(`parameter ${name} dimensions run past the section`);
      const dims = Array.from(buf.subarray(p, p + nd));
      p += nd;
      const size = Math.abs(type);
      if (![1, 2, 4].includes(size)) throw bad(`parameter ${name} has type ${type}`);
      const count = dims.reduce((a, b) => a * b, 1);
      if (p + count * size > end) throw bad(`parameter ${name} data run past the section`);
      const numbers: number[] = [];
      const strings: string[] = [];
      if (type === -1) {
        // Character arrays: first dimension is the string length, the rest index the strings.
        const len = dims[0] ?? 0;
        const nStr = nd <= 1 ? 1 : count / Math.max(1, len);
        for (let k = 0; k < nStr && len > 0; k++)
          strings.push(
            text(p + k * len, len)
              .replace(/\0/g, ' ')
              .trim(),
          );
      } else {
        for (let k = 0; k < count; k++) {
          const o = p + k * size;
          numbers.push(type === 1 ? (buf[o] ?? 0) : type === 2 ? dv.getInt16(o, true) : dv.getFloat32(o, true));
        }
      }
      pending.push({ gid: id, name, value: { type, dims, numbers, strings } });
    }
    if (next <= 0) break;
    pos = offPos + next;
  }
  const params = new Map<string, C3dValue>();
  for (const { gid, name, value } of pending) {
    const key = `${groups.get(gid) ?? `GROUP${gid}`}:${name}`;
    if (!params.has(key)) params.set(key, value);
  }
  return params;
}
