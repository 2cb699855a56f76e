// A .npy writer for the VideoPose3D tests: the bytes numpy's np.save writes.

/** A .npy (version 1.0) as np.save writes it; `values` in C order, laid out in the requested order. */
export function npy(shape: number[], values: readonly number[], opts: { dtype?: '<f4' | '<f8' | '|O'; fortran?: boolean } = {}): Uint8Array {
  const dtype = opts.dtype ?? '<f8';
  let header = `{'descr': '${dtype}', 'fortran_order': ${opts.fortran ? 'True' : 'False'}, 'shape': (${shape.join(', ')}), }`;
  while ((10 + header.length + 1) % 64 !== 0) header += ' ';
  header += '\n';
  const size = dtype === '<f4' ? 4 : 8;
  const out = new Uint8Array(10 + header.length + values.length * size);
  out.set([0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59, 1, 0]);
  new DataView(out.buffer).setUint16(8, header.length, true);
  out.set(new TextEncoder().encode(header), 10);
  const dv = new DataView(out.buffer, 10 + header.length);
  const cStride = shape.map((_, d) => shape.slice(d + 1).reduce((a, b) => a * b, 1));
  const fStride = shape.map((_, d) => shape.slice(0, d).reduce((a, b) => a * b, 1));
  values.forEach((v, i) => {
    const at = opts.fortran ? shape.reduce((o, len, d) => o + (Math.floor(i / cStride[d]!) % len) * fStride[d]!, 0) : i;
    if (size === 4) dv.setFloat32(at * 4, v, true);
    else dv.setFloat64(at * 8, v, true);
  });
  return out;
}
