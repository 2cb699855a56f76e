// AssemblyScript source of models/kernels/mc-kernels.wasm, the kernels of batched MC-dropout inference
// that tfjs-wasm lacks (`npm run build:kernels`; a test recompiles it and compares the bytes). The module
// imports tfjs-backend-wasm's own memory, so it reads input tensors, the adapter stacks and the dropout
// mask bank, and writes the output tensor, in place: no copies. It never allocates (runtime stub, no data
// segment); every address comes from the caller (models/wasm-kernels.ts checks the shapes). Addresses in
// bytes; hidden widths are multiples of 4 (f32x4 lanes).

/**
 * Per-row low-rank adapter term, added to a base: out[r] = base[r] + (u[r]·A_s)·B_s with s = slots[r / reps]
 * (the row's frame's adapter slot; s < 0: no adapter, out[r] = base[r]). u is rows × inDim, A slot s
 * starts at a + s·aSlot floats and is (≥ inDim) × rank row-major, B slot s is rank × outDim at
 * b + s·rank·outDim. rank and outDim are multiples of 4 (f32x4 lanes); base 0 means zeros. Addresses in bytes.
 * A frame's rows share its slot, so they run four at a time: each load of A serves four rows (the
 * predictor's 40 rows per frame are most of the work).
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
  const uBytes = (<usize>inDim) << 2;
  const frames = rows / reps;
  for (let f = 0; f < frames; f++) {
    const s = load<i32>(slots + ((<usize>f) << 2));
    const first = f * reps;
    const oFirst = out + <usize>first * rowBytes;
    const frameBytes = <usize>reps * rowBytes;
    if (base != 0) memory.copy(oFirst, base + <usize>first * rowBytes, frameBytes);
    else memory.fill(oFirst, 0, frameBytes);
    if (s < 0) continue;
    const aS = a + ((<usize>s * <usize>aSlot) << 2);
    const bS = b + <usize>s * <usize>rank * rowBytes;
    let r = 0;
    for (; r + 4 <= reps; r += 4) {
      const u0 = u + <usize>(first + r) * uBytes;
      lowRankRows4(u0, uBytes, inDim, aS, rank, bS, rowBytes, oFirst + <usize>r * rowBytes);
    }
    for (; r < reps; r++) lowRankRow(u + <usize>(first + r) * uBytes, inDim, aS, rank, bS, rowBytes, oFirst + <usize>r * rowBytes);
  }
}

/** out[j] += (u[j]·A)·B for the four consecutive rows j of u (stride uBytes) and out (stride rowBytes). */
// @ts-ignore: decorator
@inline
function lowRankRows4(u0: usize, uBytes: usize, inDim: i32, aS: usize, rank: i32, bS: usize, rowBytes: usize, o0: usize): void {
  const aStep = (<usize>rank) << 2;
  const u1 = u0 + uBytes;
  const u2 = u1 + uBytes;
  const u3 = u2 + uBytes;
  for (let q = 0; q < rank; q += 4) {
    // Four rank components (one per lane) of each row's u·A.
    let t0 = f32x4.splat(0);
    let t1 = f32x4.splat(0);
    let t2 = f32x4.splat(0);
    let t3 = f32x4.splat(0);
    let ai = aS + ((<usize>q) << 2);
    for (let i: usize = 0; i < (<usize>inDim) << 2; i += 4) {
      const av = v128.load(ai);
      t0 = f32x4.add(t0, f32x4.mul(v128.load32_splat(u0 + i), av));
      t1 = f32x4.add(t1, f32x4.mul(v128.load32_splat(u1 + i), av));
      t2 = f32x4.add(t2, f32x4.mul(v128.load32_splat(u2 + i), av));
      t3 = f32x4.add(t3, f32x4.mul(v128.load32_splat(u3 + i), av));
      ai += aStep;
    }
    const bq = bS + <usize>q * rowBytes;
    addRankTerm(t0, bq, rowBytes, o0);
    addRankTerm(t1, bq, rowBytes, o0 + rowBytes);
    addRankTerm(t2, bq, rowBytes, o0 + 2 * rowBytes);
    addRankTerm(t3, bq, rowBytes, o0 + 3 * rowBytes);
  }
}

/** out += (u·A)·B for one row. */
// @ts-ignore: decorator
@inline
function lowRankRow(uRow: usize, inDim: i32, aS: usize, rank: i32, bS: usize, rowBytes: usize, oRow: usize): void {
  const aStep = (<usize>rank) << 2;
  for (let q = 0; q < rank; q += 4) {
    let t = f32x4.splat(0);
    let ai = aS + ((<usize>q) << 2);
    for (let i: usize = 0; i < (<usize>inDim) << 2; i += 4) {
      t = f32x4.add(t, f32x4.mul(v128.load32_splat(uRow + i), v128.load(ai)));
      ai += aStep;
    }
    addRankTerm(t, bS + <usize>q * rowBytes, rowBytes, oRow);
  }
}

/** out += Σ_lane t[lane]·B[lane]: four rank components' contribution, B rows rowBytes apart from b0. */
// @ts-ignore: decorator
@inline
function addRankTerm(t: v128, b0: usize, rowBytes: usize, oRow: usize): void {
  const t0 = f32x4.splat(f32x4.extract_lane(t, 0));
  const t1 = f32x4.splat(f32x4.extract_lane(t, 1));
  const t2 = f32x4.splat(f32x4.extract_lane(t, 2));
  const t3 = f32x4.splat(f32x4.extract_lane(t, 3));
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

/**
 * Encoder layer 1 after its pre-activation a (n × hid): per frame, copy 0 = relu(a) (dropout off) and
 * copies 1..P = relu(a) ⊙ the next P·hid mask entries at m, out n × (P+1) × hid.
 */
export function reluMaskCopies(a: usize, n: i32, passes: i32, hid: i32, m: usize, out: usize): void {
  const rowBytes = (<usize>hid) << 2;
  const zero = f32x4.splat(0);
  let mp = m;
  let op = out;
  for (let f = 0; f < n; f++) {
    const aRow = a + <usize>f * rowBytes;
    for (let o: usize = 0; o < rowBytes; o += 16) v128.store(op + o, f32x4.max(v128.load(aRow + o), zero));
    const h = op;
    op += rowBytes;
    for (let p = 0; p < passes; p++) {
      for (let o: usize = 0; o < rowBytes; o += 16) v128.store(op + o, f32x4.mul(v128.load(h + o), v128.load(mp + o)));
      op += rowBytes;
      mp += rowBytes;
    }
  }
}

/**
 * Predictor layer 1's activation with dropout: out[f, k, p] = relu(z[f, c0 + p] + s[k or (f, k)]) ⊙ mask,
 * for frame f < n, horizon k < H, pass p < P, each row hid wide; z holds `copies` rows per frame (P: the
 * passes; P + 1: copy 0 is the dropout-off latent's, c0 = 1, and out0[f, k] = relu(z[f, 0] + s[k]) gets
 * it unmasked: the point prediction's layer), s is H × hid (sPerFrame 0) or n × H × hid (1: adapters add
 * a per-frame horizon part), the mask entries run on from m in output order. out is n × H × P × hid.
 */
export function reluAddMask(
  z: usize,
  copies: i32,
  s: usize,
  sPerFrame: i32,
  n: i32,
  horizons: i32,
  passes: i32,
  hid: i32,
  m: usize,
  out: usize,
  out0: usize,
): void {
  const rowBytes = (<usize>hid) << 2;
  const zero = f32x4.splat(0);
  const c0 = <usize>(copies - passes);
  let mp = m;
  let op = out;
  let op0 = out0;
  for (let f = 0; f < n; f++) {
    const zFrame = z + <usize>f * <usize>copies * rowBytes;
    const sFrame = sPerFrame != 0 ? s + <usize>f * <usize>horizons * rowBytes : s;
    for (let k = 0; k < horizons; k++) {
      const sRow = sFrame + <usize>k * rowBytes;
      if (c0 != 0) {
        for (let o: usize = 0; o < rowBytes; o += 16) v128.store(op0 + o, f32x4.max(f32x4.add(v128.load(zFrame + o), v128.load(sRow + o)), zero));
        op0 += rowBytes;
      }
      for (let p = 0; p < passes; p++) {
        const zRow = zFrame + (c0 + <usize>p) * rowBytes;
        for (let o: usize = 0; o < rowBytes; o += 16) {
          const v = f32x4.max(f32x4.add(v128.load(zRow + o), v128.load(sRow + o)), zero);
          v128.store(op + o, f32x4.mul(v, v128.load(mp + o)));
        }
        op += rowBytes;
        mp += rowBytes;
      }
    }
  }
}

/**
 * The MC estimate per (frame f, horizon k) from the P pass predictions y[f, k, p] (n × H × P × L, the
 * predictor's output): with `residual`, pass p's prediction is z[f, 1 + p] + s[k]·y[f, k, p] (z: the
 * encoder's copies n × (P+1) × L, copy 0 the dropout-off one, skipped; s: H floats), else y itself.
 * Writes the mean over passes (n × H × L) and the mean over dims of the population std across passes (n × H).
 */
export function passMoments(y: usize, z: usize, s: usize, residual: i32, n: i32, horizons: i32, passes: i32, latent: i32, mean: usize, unc: usize): void {
  const rowBytes = (<usize>latent) << 2;
  const count = f32x4.splat(<f32>passes);
  for (let f = 0; f < n; f++) {
    const zFrame = z + (<usize>f * <usize>(passes + 1) + 1) * rowBytes;
    for (let k = 0; k < horizons; k++) {
      const fk = <usize>f * <usize>horizons + <usize>k;
      const yRows = y + fk * <usize>passes * rowBytes;
      const sk = f32x4.splat(residual != 0 ? load<f32>(s + ((<usize>k) << 2)) : 1);
      let stds = f32x4.splat(0);
      for (let o: usize = 0; o < rowBytes; o += 16) {
        let sum = f32x4.splat(0);
        for (let p = 0; p < passes; p++) {
          const yv = v128.load(yRows + <usize>p * rowBytes + o);
          sum = f32x4.add(sum, residual != 0 ? f32x4.add(v128.load(zFrame + <usize>p * rowBytes + o), f32x4.mul(yv, sk)) : yv);
        }
        const m = f32x4.div(sum, count);
        v128.store(mean + fk * rowBytes + o, m);
        let sq = f32x4.splat(0);
        for (let p = 0; p < passes; p++) {
          const yv = v128.load(yRows + <usize>p * rowBytes + o);
          const d = f32x4.sub(residual != 0 ? f32x4.add(v128.load(zFrame + <usize>p * rowBytes + o), f32x4.mul(yv, sk)) : yv, m);
          sq = f32x4.add(sq, f32x4.mul(d, d));
        }
        stds = f32x4.add(stds, f32x4.sqrt(f32x4.div(sq, count)));
      }
      const total = f32x4.extract_lane(stds, 0) + f32x4.extract_lane(stds, 1) + f32x4.extract_lane(stds, 2) + f32x4.extract_lane(stds, 3);
      store<f32>(unc + (fk << 2), total / <f32>latent);
    }
  }
}
