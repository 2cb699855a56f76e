// AssemblyScript source of models/kernels/low-rank.wasm (`npm run build:kernels`; a test recompiles
// it and compares the bytes). The module imports tfjs-backend-wasm's own memory, so it reads the
// layer input and the adapter stacks, and writes the output tensor, in place: no copies. It never
// allocates (runtime stub, no data segment); every address comes from the caller.

/**
 * Per-row low-rank adapter term, added to a base: out[r] = base[r] + (u[r]·A_s)·B_s with s = slots[r / reps]
 * (the row's frame's adapter slot; s < 0: no adapter, out[r] = base[r]). u is rows × inDim, A slot s
 * starts at a + s·aSlot floats and is (≥ inDim) × rank row-major, B slot s is rank × outDim at
 * b + s·rank·outDim. rank and outDim are multiples of 4 (f32x4 lanes); base 0 means zeros. Addresses in bytes.
 */
export function lowRankAdd(
  u: usize,
  inDim: i32,
  rows: i32,
  reps: i32,
  slots: usize,
  a: usize,
  aSlot: i32,
  rank: i32,
  b: usize,
  outDim: i32,
  base: usize,
  out: usize,
): void {
  const rowBytes = (<usize>outDim) << 2;
  for (let r = 0; r < rows; r++) {
    const s = load<i32>(slots + ((<usize>(r / reps)) << 2));
    const uRow = u + ((<usize>r * <usize>inDim) << 2);
    const oRow = out + <usize>r * rowBytes;
    if (base != 0) memory.copy(oRow, base + <usize>r * rowBytes, rowBytes);
    else memory.fill(oRow, 0, rowBytes);
    if (s < 0) continue;
    const aS = a + ((<usize>s * <usize>aSlot) << 2);
    const bS = b + <usize>s * <usize>rank * rowBytes;
    for (let q = 0; q < rank; q += 4) {
      // Four rank components of u[r]·A_s at once (one f32x4 lane each).
      let t = f32x4.splat(0);
      let ai = aS + ((<usize>q) << 2);
      const aStep = (<usize>rank) << 2;
      for (let i = 0; i < inDim; i++) {
        t = f32x4.add(t, f32x4.mul(f32x4.splat(load<f32>(uRow + ((<usize>i) << 2))), v128.load(ai)));
        ai += aStep;
      }
      const t0 = f32x4.splat(f32x4.extract_lane(t, 0));
      const t1 = f32x4.splat(f32x4.extract_lane(t, 1));
      const t2 = f32x4.splat(f32x4.extract_lane(t, 2));
      const t3 = f32x4.splat(f32x4.extract_lane(t, 3));
      const b0 = bS + <usize>q * rowBytes;
      const b1 = b0 + rowBytes;
      const b2 = b1 + rowBytes;
      const b3 = b2 + rowBytes;
      for (let o: usize = 0; o < rowBytes; o += 16) {
        let v = v128.load(oRow + o);
        v = f32x4.add(v, f32x4.mul(t0, v128.load(b0 + o)));
        v = f32x4.add(v, f32x4.mul(t1, v128.load(b1 + o)));
        v = f32x4.add(v, f32x4.mul(t2, v128.load(b2 + o)));
        v = f32x4.add(v, f32x4.mul(t3, v128.load(b3 + o)));
        v128.store(oRow + o, v);
      }
    }
  }
}
