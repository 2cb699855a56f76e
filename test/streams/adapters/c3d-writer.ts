// Minimal C3D writer (Intel, int16 points, POINT + EVENT groups) to test layouts the shared files lack.
export interface C3dWriteInput {
  readonly labels: readonly string[];
  /** frames × points × 3, in mm (NaN = invalid point). */
  readonly points: Float64Array;
  readonly frames: number;
  readonly rate: number;
  /** Positive: int16 storage at this many mm per unit. */
  readonly scale: number;
  readonly events?: readonly { context: string; label: string; t: number }[];
  /** Header word 4 (16-bit first frame); default 1. */
  readonly headerFirstFrame?: number;
  /** TRIAL:ACTUAL_START_FIELD (32-bit first frame as low/high words), written when given. */
  readonly actualStart?: number;
}

type Param = { name: string; group: number; type: -1 | 2 | 4; dims: number[]; bytes: Uint8Array };

const chars = (strings: readonly string[], len: number): Uint8Array => {
  const out = new Uint8Array(len * strings.length).fill(0x20);
  strings.forEach((s, i) => out.set(new TextEncoder().encode(s.slice(0, len)), i * len));
  return out;
};
const floats = (v: readonly number[]): Uint8Array => {
  const out = new Uint8Array(v.length * 4);
  v.forEach((x, i) => new DataView(out.buffer).setFloat32(i * 4, x, true));
  return out;
};

export function writeC3d(input: C3dWriteInput): Uint8Array {
  const n = input.labels.length;
  const params: Param[] = [
    { name: 'LABELS', group: 1, type: -1, dims: [16, n], bytes: chars(input.labels, 16) },
    { name: 'UNITS', group: 1, type: -1, dims: [2], bytes: chars(['mm'], 2) },
    { name: 'RATE', group: 1, type: 4, dims: [], bytes: floats([input.rate]) },
  ];
  const ev = input.events ?? [];
  if (ev.length > 0) {
    params.push({ name: 'TIMES', group: 2, type: 4, dims: [2, ev.length], bytes: floats(ev.flatMap((e) => [0, e.t])) });
    params.push({
      name: 'CONTEXTS',
      group: 2,
      type: -1,
      dims: [5, ev.length],
      bytes: chars(
        ev.map((e) => e.context),
        5,
      ),
    });
    params.push({
      name: 'LABELS',
      group: 2,
      type: -1,
      dims: [11, ev.length],
      bytes: chars(
        ev.map((e) => e.label),
        11,
      ),
    });
  }
  if (input.actualStart !== undefined) {
    const words = new Uint8Array(4);
    new DataView(words.buffer).setUint16(0, input.actualStart % 65536, true);
    new DataView(words.buffer).setUint16(2, Math.floor(input.actualStart / 65536), true);
    params.push({ name: 'ACTUAL_START_FIELD', group: 3, type: 2, dims: [2], bytes: words });
  }
  const records: Uint8Array[] = [];
  const group = (id: number, name: string): Uint8Array => {
    const r = new Uint8Array(2 + name.length + 3);
    r[0] = name.length;
    new DataView(r.buffer).setInt8(1, -id);
    r.set(new TextEncoder().encode(name), 2);
    new DataView(r.buffer).setInt16(2 + name.length, 3, true);
    return r;
  };
  records.push(group(1, 'POINT'), group(2, 'EVENT'), group(3, 'TRIAL'));
  params.forEach((p, k) => {
    const r = new Uint8Array(2 + p.name.length + 2 + 2 + p.dims.length + p.bytes.length + 1);
    const dv = new DataView(r.buffer);
    r[0] = p.name.length;
    r[1] = p.group;
    r.set(new TextEncoder().encode(p.name), 2);
    const o = 2 + p.name.length;
    dv.setInt16(o, k === params.length - 1 ? 0 : r.length - o, true);
    dv.setInt8(o + 2, p.type);
    r[o + 3] = p.dims.length;
    r.set(p.dims, o + 4);
    r.set(p.bytes, o + 4 + p.dims.length);
    records.push(r);
  });
  const paramBytes = 4 + records.reduce((s, r) => s + r.length, 0);
  const paramBlocks = Math.ceil(paramBytes / 512);
  const dataBlock = 2 + paramBlocks;
  const frameBytes = n * 4 * 2;
  const out = new Uint8Array((dataBlock - 1) * 512 + input.frames * frameBytes);
  const dv = new DataView(out.buffer);
  out[0] = 2;
  out[1] = 0x50;
  dv.setUint16(2, n, true);
  dv.setUint16(4, 0, true);
  const first = input.headerFirstFrame ?? 1;
  dv.setUint16(6, first, true);
  dv.setUint16(8, first + input.frames - 1, true);
  dv.setFloat32(12, input.scale, true);
  dv.setUint16(16, dataBlock, true);
  dv.setFloat32(20, input.rate, true);
  out.set([1, 0x50, paramBlocks, 84], 512);
  let pos = 516;
  for (const r of records) {
    out.set(r, pos);
    pos += r.length;
  }
  for (let f = 0; f < input.frames; f++) {
    for (let p = 0; p < n; p++) {
      const o = (dataBlock - 1) * 512 + f * frameBytes + p * 8;
      const x = input.points[(f * n + p) * 3] ?? NaN;
      const ok = Number.isFinite(x);
      for (let c = 0; c < 3; c++) dv.setInt16(o + c * 2, ok ? Math.round((input.points[(f * n + p) * 3 + c] ?? 0) / input.scale) : 0, true);
      dv.setInt16(o + 6, ok ? 0 : -1, true);
    }
  }
  return out;
}
