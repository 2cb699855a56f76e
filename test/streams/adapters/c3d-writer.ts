// Minimal C3D writer to test layouts the shared files lack: any processor (Intel, DEC, MIPS), int16 or
// float storage, a parameter section anywhere, > 255 labels (LABELS2, LABELS3…), analog samples and any
// extra parameters copied from a real file.
export type C3dProcessor = 'intel' | 'dec' | 'mips';

/** One parameter as it goes into the file: strings for type −1, numbers otherwise. */
export interface C3dParamInput {
  readonly group: string;
  readonly name: string;
  readonly type: -1 | 1 | 2 | 4;
  readonly dims: readonly number[];
  readonly numbers?: readonly number[];
  readonly strings?: readonly string[];
}

export interface C3dWriteInput {
  readonly labels: readonly string[];
  /** frames × points × 3, in the file's units (NaN = invalid point). */
  readonly points: Float64Array;
  readonly frames: number;
  readonly rate: number;
  /** Positive: int16 storage at this many units per count. Negative: float32 storage. */
  readonly scale: number;
  readonly events?: readonly { context: string; label: string; t: number }[];
  /** Header word 4 (16-bit first frame); default 1. */
  readonly headerFirstFrame?: number;
  /** Header word 5 (16-bit last frame); default first + frames − 1, saturated at 65535. */
  readonly headerLastFrame?: number;
  /** TRIAL:ACTUAL_START_FIELD (32-bit first frame as low/high words), written when given. */
  readonly actualStart?: number;
  /** TRIAL:ACTUAL_END_FIELD (32-bit last frame as low/high words), written when given. */
  readonly actualEnd?: number;
  /** Default 'intel'. */
  readonly processor?: C3dProcessor;
  /** 512-byte block holding the parameter section (header byte 0); default 2. */
  readonly paramBlock?: number;
  /** POINT:UNITS; default 'mm'. */
  readonly units?: string;
  /** Analog samples per point frame (header word 3), written after each frame's points. */
  readonly analogPerFrame?: number;
  /** Further parameters (e.g. every non-POINT parameter of a real file). */
  readonly extraParams?: readonly C3dParamInput[];
}

/** Number encodings of one processor: Intel and DEC words are little-endian, MIPS big-endian. */
function encoder(dv: DataView, processor: C3dProcessor) {
  const little = processor !== 'mips';
  const bits = new DataView(new ArrayBuffer(4));
  return {
    i16: (o: number, v: number): void => dv.setInt16(o, v, little),
    u16: (o: number, v: number): void => dv.setUint16(o, v, little),
    f32: (o: number, v: number): void => {
      if (processor !== 'dec') return dv.setFloat32(o, v, little);
      if (v === 0) return dv.setUint32(o, 0);
      // VAX F: the IEEE bits of 4·v with the two 16-bit halves swapped, each half little-endian.
      bits.setFloat32(0, v * 4);
      dv.setUint16(o, bits.getUint16(0), true);
      dv.setUint16(o + 2, bits.getUint16(2), true);
    },
  };
}

const LABELS_PER_PARAM = 255; // a dimension is one byte

function pointParams(input: C3dWriteInput): C3dParamInput[] {
  const out: C3dParamInput[] = [];
  const width = Math.max(16, ...input.labels.map((l) => l.length));
  for (let k = 0; k * LABELS_PER_PARAM < input.labels.length || k === 0; k++) {
    const chunk = input.labels.slice(k * LABELS_PER_PARAM, (k + 1) * LABELS_PER_PARAM);
    out.push({ group: 'POINT', name: k === 0 ? 'LABELS' : `LABELS${k + 1}`, type: -1, dims: [width, chunk.length], strings: chunk });
  }
  const units = input.units ?? 'mm';
  out.push({ group: 'POINT', name: 'UNITS', type: -1, dims: [units.length], strings: [units] });
  out.push({ group: 'POINT', name: 'RATE', type: 4, dims: [], numbers: [input.rate] });
  out.push({ group: 'POINT', name: 'SCALE', type: 4, dims: [], numbers: [input.scale] });
  out.push({ group: 'POINT', name: 'USED', type: 2, dims: [], numbers: [input.labels.length] });
  // Like Vicon: the frame count in a signed word, which wraps past 32767.
  out.push({ group: 'POINT', name: 'FRAMES', type: 2, dims: [], numbers: [((input.frames & 0xffff) << 16) >> 16] });
  const ev = input.events ?? [];
  if (ev.length > 0) {
    out.push({ group: 'EVENT', name: 'TIMES', type: 4, dims: [2, ev.length], numbers: ev.flatMap((e) => [0, e.t]) });
    out.push({ group: 'EVENT', name: 'CONTEXTS', type: -1, dims: [5, ev.length], strings: ev.map((e) => e.context) });
    out.push({ group: 'EVENT', name: 'LABELS', type: -1, dims: [11, ev.length], strings: ev.map((e) => e.label) });
  }
  const words = (v: number): number[] => [((v & 0xffff) << 16) >> 16, ((Math.floor(v / 65536) & 0xffff) << 16) >> 16];
  if (input.actualStart !== undefined) out.push({ group: 'TRIAL', name: 'ACTUAL_START_FIELD', type: 2, dims: [2], numbers: words(input.actualStart) });
  if (input.actualEnd !== undefined) out.push({ group: 'TRIAL', name: 'ACTUAL_END_FIELD', type: 2, dims: [2], numbers: words(input.actualEnd) });
  return [...out, ...(input.extraParams ?? [])];
}

export function writeC3d(input: C3dWriteInput): Uint8Array {
  const n = input.labels.length;
  const processor = input.processor ?? 'intel';
  const params = pointParams(input);
  const groups = [...new Set(params.map((p) => p.group))];
  // Records are laid out first (sizes only), then encoded once the processor's DataView exists.
  const recordSize = (name: string, dataBytes: number, dims: number): number => 2 + name.length + 2 + (dataBytes < 0 ? 0 : 2 + dims + dataBytes) + 1;
  const size = (p: C3dParamInput): number => Math.abs(p.type) * p.dims.reduce((a, b) => a * b, 1);
  const paramBytes = 4 + groups.reduce((s, g) => s + recordSize(g, -1, 0), 0) + params.reduce((s, p) => s + recordSize(p.name, size(p), p.dims.length), 0);
  const paramBlocks = Math.ceil(paramBytes / 512);
  const paramBlock = input.paramBlock ?? 2;
  const dataBlock = paramBlock + paramBlocks;
  const isFloat = input.scale < 0;
  const word = isFloat ? 4 : 2;
  const analog = input.analogPerFrame ?? 0;
  const frameBytes = (n * 4 + analog) * word;
  const out = new Uint8Array((dataBlock - 1) * 512 + input.frames * frameBytes);
  const dv = new DataView(out.buffer);
  const enc = encoder(dv, processor);
  out[0] = paramBlock;
  out[1] = 0x50;
  enc.u16(2, n);
  enc.u16(4, analog);
  const first = input.headerFirstFrame ?? 1;
  enc.u16(6, first);
  enc.u16(8, input.headerLastFrame ?? Math.min(65535, first + input.frames - 1));
  enc.f32(12, input.scale);
  enc.u16(16, dataBlock);
  enc.f32(20, input.rate);
  const ps = (paramBlock - 1) * 512;
  out.set([1, 0x50, paramBlocks, { intel: 84, dec: 85, mips: 86 }[processor]], ps);
  let pos = ps + 4;
  const ascii = (s: string, at: number, len: number): void => {
    out.fill(0x20, at, at + len);
    out.set(new TextEncoder().encode(s.slice(0, len)), at);
  };
  const total = groups.length + params.length;
  let written = 0;
  const header = (name: string, id: number, bytes: number): number => {
    out[pos] = name.length;
    dv.setInt8(pos + 1, id);
    ascii(name, pos + 2, name.length);
    const o = pos + 2 + name.length;
    // Offset to the next record; 0 marks the last one.
    enc.i16(o, ++written === total ? 0 : bytes - (2 + name.length));
    return o + 2;
  };
  groups.forEach((g, i) => {
    header(g, -(i + 1), recordSize(g, -1, 0));
    pos += recordSize(g, -1, 0);
  });
  for (const p of params) {
    const bytes = recordSize(p.name, size(p), p.dims.length);
    let o = header(p.name, groups.indexOf(p.group) + 1, bytes);
    dv.setInt8(o, p.type);
    out[o + 1] = p.dims.length;
    out.set(p.dims, o + 2);
    o += 2 + p.dims.length;
    if (p.type === -1) {
      const len = p.dims[0] ?? 1;
      (p.strings ?? []).forEach((s, k) => ascii(s, o + k * len, len));
    } else {
      (p.numbers ?? []).forEach((v, k) => {
        const at = o + k * Math.abs(p.type);
        if (p.type === 1) out[at] = v;
        else if (p.type === 2) enc.i16(at, v);
        else enc.f32(at, v);
      });
    }
    pos += bytes;
  }
  const dataStart = (dataBlock - 1) * 512;
  for (let f = 0; f < input.frames; f++) {
    const frame = dataStart + f * frameBytes;
    for (let p = 0; p < n; p++) {
      const o = frame + p * 4 * word;
      const v = [0, 1, 2].map((c) => input.points[(f * n + p) * 3 + c] ?? NaN);
      const ok = v.every(Number.isFinite);
      for (let c = 0; c < 3; c++) {
        if (isFloat) enc.f32(o + c * word, ok ? v[c]! : 0);
        else enc.i16(o + c * word, ok ? Math.round(v[c]! / input.scale) : 0);
      }
      if (isFloat) enc.f32(o + 3 * word, ok ? 0 : -1);
      else enc.i16(o + 3 * word, ok ? 0 : -1);
    }
    // Analog samples: a ramp, so a reader that strides frames wrongly sees them as coordinates.
    for (let a = 0; a < analog; a++) {
      const at = frame + (n * 4 + a) * word;
      if (isFloat) enc.f32(at, 1000 + a + f);
      else enc.i16(at, (1000 + a + f) % 30000);
    }
  }
  return out;
}
