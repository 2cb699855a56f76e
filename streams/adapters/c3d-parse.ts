// C3D binary: 512-byte header, parameter section (groups/parameters), then point/analog frames.
// All three processor types are read: Intel (little-endian IEEE), DEC (little-endian words, VAX F
// floats) and MIPS/SGI (big-endian IEEE). The processor byte sets the encoding of every 16-bit word
// and float in the file — header, parameters and data alike.
import { AdapterError, AdapterErrorCode } from '../errors.js';

export type C3dValue = { readonly type: number; readonly dims: readonly number[]; readonly numbers: readonly number[]; readonly strings: readonly string[] };

export interface C3dFile {
  readonly pointCount: number;
  /** First frame number: TRIAL:ACTUAL_START_FIELD (32-bit) when present, else header word 4 (16-bit). */
  readonly firstFrame: number;
  readonly frameCount: number;
  readonly rate: number;
  readonly scale: number;
  /** Which processor wrote the file: it decides byte order and float format. */
  readonly processor: 'intel' | 'dec' | 'mips';
  /** GROUP:PARAM (upper case) → value. */
  readonly params: ReadonlyMap<string, C3dValue>;
  readonly labels: readonly string[];
  /** frameCount × pointCount × 3, in the file's POINT:UNITS; NaN where residual < 0. */
  readonly points: Float64Array;
}

const PROCESSOR = { INTEL: 84, DEC: 85, MIPS: 86 } as const;

/** The file's number encodings, chosen once from the processor byte. */
interface Words {
  readonly i16: (o: number) => number;
  readonly u16: (o: number) => number;
  readonly f32: (o: number) => number;
}

function wordsFor(dv: DataView, processor: number): Words {
  const little = processor !== PROCESSOR.MIPS;
  const ieee = (o: number): number => dv.getFloat32(o, little);
  const scratch = new DataView(new ArrayBuffer(4));
  // VAX F float: two little-endian 16-bit words, the first holding sign, 8-bit exponent (bias 128) and the
  // high fraction bits. Swapping the words gives IEEE single layout; VAX's hidden bit is 0.1 (not 1.)
  // and its bias 128 (not 127), so the IEEE reading is 4× the value. Exponent 0 is zero (or, with the
  // sign bit, the VAX "reserved operand", which is no number).
  const vax = (o: number): number => {
    const hi = dv.getUint16(o, true);
    const lo = dv.getUint16(o + 2, true);
    if ((hi & 0x7f80) === 0) return hi & 0x8000 ? NaN : 0;
    scratch.setUint16(0, hi);
    scratch.setUint16(2, lo);
    return scratch.getFloat32(0) / 4;
  };
  return {
    i16: (o) => dv.getInt16(o, little),
    u16: (o) => dv.getUint16(o, little),
    f32: processor === PROCESSOR.DEC ? vax : ieee,
  };
}

/** An integer parameter read as unsigned 16-bit when it was stored in a signed word (counts > 32767). */
const unsigned16 = (v: C3dValue | undefined): number | undefined => {
  const x = v?.numbers[0];
  if (x === undefined) return undefined;
  return v?.type === 2 && x < 0 ? x + 65536 : x;
};

/** TRIAL:ACTUAL_START_FIELD / ACTUAL_END_FIELD: a 32-bit frame number as two unsigned words (low, high). */
const field32 = (v: C3dValue | undefined): number | undefined => {
  const w = v?.numbers;
  if (!w || w.length < 2) return undefined;
  return v?.type === 4 ? (w[0] ?? 0) + (w[1] ?? 0) * 65536 : ((w[0] ?? 0) & 0xffff) + ((w[1] ?? 0) & 0xffff) * 65536;
};

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
  if (processor !== PROCESSOR.INTEL && processor !== PROCESSOR.DEC && processor !== PROCESSOR.MIPS)
    throw bad(`unknown processor type ${processor} (84 Intel, 85 DEC, 86 MIPS)`);
  const w = wordsFor(dv, processor);
  const proc = processor === PROCESSOR.DEC ? 'dec' : processor === PROCESSOR.MIPS ? 'mips' : 'intel';
  const params = readParams(buf, dv, w, paramStart, bad, trunc);
  const pointCount = w.u16(2);
  // Header words are 1-based 16-bit words: 3 = analog samples per frame, 4/5 = first/last frame.
  const analogPerFrame = w.u16(4);
  const firstFrame = w.u16(6);
  const lastFrame = w.u16(8);
  const scale = w.f32(12);
  const dataBlock = w.u16(16);
  const rate = w.f32(20);
  if (!(rate > 0 && rate < 100_000)) throw bad(`frame rate ${rate} is not usable (read as a ${proc} file)`);
  if (!Number.isFinite(scale) || scale === 0) throw bad(`POINT:SCALE ${scale} is not usable (read as a ${proc} file)`);
  // The header's 16-bit first/last frame overflow on long trials (> 65535 frames): writers then keep
  // the true numbers in TRIAL:ACTUAL_START_FIELD/END_FIELD (32-bit, as two words) and the count in
  // POINT:FRAMES (a signed word that reads negative past 32767, or a float). The largest count wins.
  const actualStart = field32(params.get('TRIAL:ACTUAL_START_FIELD')) ?? 0;
  const actualEnd = field32(params.get('TRIAL:ACTUAL_END_FIELD')) ?? 0;
  const counts = [
    lastFrame - firstFrame + 1,
    unsigned16(params.get('POINT:FRAMES')) ?? 0,
    actualStart > 0 && actualEnd >= actualStart ? actualEnd - actualStart + 1 : 0,
  ];
  const frameCount = Math.max(...counts);
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
  const rd = isFloat ? w.f32 : w.i16;
  for (let f = 0; f < frameCount; f++) {
    const base = dataStart + f * frameBytes;
    for (let p = 0; p < pointCount; p++) {
      const o = base + p * 4 * word;
      // Residual word: a negative value (or, in float files, no number at all) marks an invalid point.
      const residual = rd(o + 3 * word);
      const out = (f * pointCount + p) * 3;
      if (residual < 0 || !Number.isFinite(residual)) {
        points[out] = points[out + 1] = points[out + 2] = NaN;
      } else {
        points[out] = rd(o) * s;
        points[out + 1] = rd(o + word) * s;
        points[out + 2] = rd(o + 2 * word) * s;
      }
    }
  }
  const labels = pointLabels(params).slice(0, pointCount);
  while (labels.length < pointCount) labels.push(`POINT${labels.length + 1}`);
  // Event times count from the capture's frame 1, so the first frame must be the true (32-bit) one.
  return { pointCount, firstFrame: actualStart > 0 ? actualStart : firstFrame, frameCount, rate, scale, processor: proc, params, labels, points };
}

/**
 * POINT:LABELS holds at most 255 names (a dimension is one byte); writers put the rest in LABELS2,
 * LABELS3, … in order (C3D user guide), so a 600-marker file names its points across three parameters.
 */
function pointLabels(params: ReadonlyMap<string, C3dValue>): string[] {
  const out = [...(params.get('POINT:LABELS')?.strings ?? [])];
  for (let k = 2; params.has(`POINT:LABELS${k}`); k++) out.push(...(params.get(`POINT:LABELS${k}`)?.strings ?? []));
  return out;
}

function readParams(
  buf: Uint8Array,
  dv: DataView,
  w: Words,
  start: number,
  bad: (m: string) => AdapterError,
  trunc: (m: string) => AdapterError,
): Map<string, C3dValue> {
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
    const next = w.i16(offPos);
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
          numbers.push(type === 1 ? (buf[o] ?? 0) : type === 2 ? w.i16(o) : w.f32(o));
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
