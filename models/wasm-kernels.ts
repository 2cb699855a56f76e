/**
 * Kernels of batched MC-dropout inference that tfjs-wasm lacks, as tfjs ops on the wasm backend. They run
 * models/kernels/mc-kernels.wasm (AssemblyScript, f32x4 SIMD; source in models/kernels/assembly) on
 * tfjs-backend-wasm's own heap:
 *   - JmLowRankAdd: each frame's own adapter term (u·A_s)·B_s added to the layer's base output. tfjs-wasm
 *     runs BatchMatMul with a batch dimension as a naive scalar loop (~1 GFLOP/s: the adapters cost more
 *     than the whole base model), and 2-D GEMMs per patient or over concatenated adapters cost one
 *     dispatch per patient (~14 µs each) or K× the arithmetic.
 *   - JmReluMaskCopies / JmReluAddMask: the ReLU, the dropout masks and (predictor) the broadcast add of
 *     the horizon part in one pass, the masks read in place from the mask bank held in the heap: no
 *     per-batch mask upload (~1.6 MB at 64 frames) and four elementwise passes fewer.
 *   - JmPassMoments: the residual step, mean and std over passes and the mean over dims in one pass
 *     (tfjs: nine ops and four passes over n·H·P·L values).
 *
 * Available only on the single-threaded wasm backend (the module imports its memory); wasmKernels()
 * returns null elsewhere and callers keep the plain tfjs ops.
 */
import { readFileSync } from 'node:fs';
import * as tf from '@tensorflow/tfjs-core';

/** The wasm backend's parts these kernels use (getMemoryOffset and makeOutput are its public methods). */
interface WasmBackend {
  readonly wasm: { readonly asm?: { readonly memory?: unknown } };
  getMemoryOffset(dataId: object): number;
  makeOutput(shape: number[], dtype: tf.DataType): tf.TensorInfo;
}

interface Exports {
  lowRankAdd(
    u: number,
    inDim: number,
    rows: number,
    reps: number,
    slots: number,
    a: number,
    aSlot: number,
    rank: number,
    b: number,
    outDim: number,
    base: number,
    out: number,
  ): void;
  reluMaskCopies(a: number, n: number, passes: number, hid: number, m: number, out: number): void;
  reluAddMask(
    z: number,
    copies: number,
    s: number,
    sPerFrame: number,
    n: number,
    horizons: number,
    passes: number,
    hid: number,
    m: number,
    out: number,
    out0: number,
  ): void;
  passMoments(y: number, z: number, s: number, residual: number, n: number, horizons: number, passes: number, latent: number, mean: number, unc: number): void;
}

export interface LowRankKernelArgs {
  /** rows × inDim layer input, rows frame-major (`reps` consecutive rows per frame). */
  readonly u: tf.Tensor2D;
  readonly reps: number;
  /** int32, one adapter slot per frame; negative = no adapter (the row gets `base` only). */
  readonly slots: tf.Tensor1D;
  /** Stacked A, slot s at s·aSlot floats: (≥ inDim) × rank row-major (only the first inDim rows are read). */
  readonly a: tf.Tensor;
  readonly aSlot: number;
  /** Stacked B (already scaled by α/r), slot s at s·rank·outDim floats: rank × outDim row-major. */
  readonly b: tf.Tensor;
  /** Multiple of 4 (padded with zeros). */
  readonly rank: number;
  /** Multiple of 4. */
  readonly outDim: number;
  /** rows × outDim added to the term (the layer's base output); omitted = zeros. */
  readonly base?: tf.Tensor2D;
}

/** Dropout mask entries read in place: `bank` from entry `offset` on (MaskBank.take). */
export interface BankMasks {
  readonly bank: tf.Tensor1D;
  readonly offset: number;
}

export interface WasmKernels {
  lowRankAdd(args: LowRankKernelArgs): tf.Tensor2D;
  /** a: n × hid pre-activations → n·(P+1) × hid: per frame relu(a), then relu(a) ⊙ P mask rows. */
  reluMaskCopies(a: tf.Tensor2D, passes: number, masks: BankMasks): tf.Tensor2D;
  /**
   * z: n·P × hid, s: H × hid or n·H × hid → n·H·P × hid rows relu(z[f,p] + s[(f,)k]) ⊙ mask, frame-major.
   * With `withCopy0`, z holds P + 1 rows per frame, the first the dropout-off latent's: its rows
   * relu(z[f,0] + s[(f,)k]) come back unmasked as a second tensor, n·H × hid.
   */
  reluAddMask(z: tf.Tensor2D, s: tf.Tensor2D, horizons: number, passes: number, masks: BankMasks, withCopy0?: boolean): tf.Tensor2D[];
  /**
   * y: n·H·P × L pass predictions, z: n·(P+1) × L encoder copies, s: H horizon scales → the mean over passes
   * (n·H × L) and the mean std across passes (n × H) of z[copy 1+p] + s_k·y (residual) or y.
   */
  passMoments(y: tf.Tensor2D, z: tf.Tensor2D, s: tf.Tensor1D, passes: number, residual: boolean): [tf.Tensor2D, tf.Tensor2D];
}

const NAMES = { lowRankAdd: 'JmLowRankAdd', reluMaskCopies: 'JmReluMaskCopies', reluAddMask: 'JmReluAddMask', passMoments: 'JmPassMoments' } as const;

let bound: { backend: unknown; kernels: WasmKernels | null } | null = null;

/**
 * Registers the kernels for the current wasm backend (once per backend instance) and returns them, or null
 * when the active backend is not the single-threaded wasm one. The functions are to be called inside tf.tidy.
 */
export function wasmKernels(): WasmKernels | null {
  if (tf.getBackend() !== 'wasm') return null;
  const backend = tf.backend() as unknown as WasmBackend;
  if (bound?.backend !== backend) bound = { backend, kernels: bind(backend) };
  return bound.kernels;
}

function bind(backend: WasmBackend): WasmKernels | null {
  const memory = backend.wasm.asm?.memory;
  // A shared (threaded) heap needs a module compiled for shared memory: not this one.
  if (!(memory instanceof WebAssembly.Memory) || !(memory.buffer instanceof ArrayBuffer)) return null;
  const bytes = readFileSync(new URL('./kernels/mc-kernels.wasm', import.meta.url));
  const wasm = new WebAssembly.Instance(new WebAssembly.Module(bytes), { env: { memory } }).exports as unknown as Exports;
  const register = (
    name: string,
    run: (be: WasmBackend, inputs: Record<string, tf.TensorInfo | undefined>, attrs: Record<string, number>) => tf.TensorInfo | tf.TensorInfo[],
  ) => {
    tf.registerKernel({
      kernelName: name,
      backendName: 'wasm',
      kernelFunc: ({ inputs, backend: be, attrs }) =>
        run(be as unknown as WasmBackend, inputs as Record<string, tf.TensorInfo>, attrs as Record<string, number>),
    });
  };
  // Registration is global per kernel name: a new backend instance (tf.removeBackend, tests) rebinds them to its module.
  const isRegistered = (name: string) => tf.getKernelsForBackend('wasm').some((k) => k.kernelName === name);
  for (const name of Object.values(NAMES)) if (isRegistered(name)) tf.unregisterKernel(name, 'wasm');
  // The kernels trust their addresses: every shape is checked here, before they touch the heap.
  const fail = (name: string, what: string): never => {
    throw new Error(`${name}: ${what}`);
  };
  const size = (t: tf.TensorInfo) => t.shape.reduce((p, d) => p * d, 1);
  const checkBank = (name: string, bank: tf.TensorInfo, offset: number, need: number) => {
    if (bank.dtype !== 'float32' || !Number.isInteger(offset) || offset < 0 || offset + need > size(bank))
      fail(name, `mask window [${offset}, +${need}) outside the bank`);
  };
  register(NAMES.lowRankAdd, (be, { u, slots, a, b, base }, { reps = 0, aSlot = 0, rank = 0, outDim = 0 }) => {
    if (!u || !slots || !a || !b) return fail(NAMES.lowRankAdd, 'missing input');
    const [rows = 0, inDim = 0] = u.shape;
    const ok =
      u.dtype === 'float32' &&
      slots.dtype === 'int32' &&
      rank % 4 === 0 &&
      outDim % 4 === 0 &&
      reps > 0 &&
      rows % reps === 0 &&
      slots.shape[0] === rows / reps &&
      inDim * rank <= aSlot &&
      (!base || (base.shape[0] === rows && base.shape[1] === outDim));
    if (!ok) fail(NAMES.lowRankAdd, `inconsistent shapes (u ${u.shape}, slots ${slots.shape}, rank ${rank}, out ${outDim}, reps ${reps})`);
    const out = be.makeOutput([rows, outDim], 'float32');
    // Offsets after makeOutput: its allocation may grow the heap (offsets stay valid, views would not).
    const at = (t: tf.TensorInfo) => be.getMemoryOffset(t.dataId);
    wasm.lowRankAdd(at(u), inDim, rows, reps, at(slots), at(a), aSlot, rank, at(b), outDim, base ? at(base) : 0, at(out));
    return out;
  });
  register(NAMES.reluMaskCopies, (be, { a, bank }, { passes = 0, offset = -1 }) => {
    if (!a || !bank) return fail(NAMES.reluMaskCopies, 'missing input');
    const [n = 0, hid = 0] = a.shape;
    if (a.dtype !== 'float32' || a.shape.length !== 2 || hid % 4 !== 0 || passes < 1) fail(NAMES.reluMaskCopies, `bad shapes (a ${a.shape}, passes ${passes})`);
    checkBank(NAMES.reluMaskCopies, bank, offset, n * passes * hid);
    const out = be.makeOutput([n * (passes + 1), hid], 'float32');
    const at = (t: tf.TensorInfo) => be.getMemoryOffset(t.dataId);
    wasm.reluMaskCopies(at(a), n, passes, hid, at(bank) + 4 * offset, at(out));
    return out;
  });
  register(NAMES.reluAddMask, (be, { z, s, bank }, { horizons = 0, passes = 0, offset = -1, copy0 = 0 }) => {
    if (!z || !s || !bank) return fail(NAMES.reluAddMask, 'missing input');
    const [rows = 0, hid = 0] = z.shape;
    const copies = passes + (copy0 ? 1 : 0);
    const n = passes > 0 ? rows / copies : 0;
    const sRows = s.shape[0] ?? 0;
    const ok =
      z.dtype === 'float32' &&
      s.dtype === 'float32' &&
      hid % 4 === 0 &&
      Number.isInteger(n) &&
      n > 0 &&
      horizons > 0 &&
      s.shape[1] === hid &&
      (sRows === horizons || sRows === n * horizons);
    if (!ok) fail(NAMES.reluAddMask, `bad shapes (z ${z.shape}, s ${s.shape}, horizons ${horizons}, passes ${passes})`);
    checkBank(NAMES.reluAddMask, bank, offset, n * horizons * passes * hid);
    const out = be.makeOutput([n * horizons * passes, hid], 'float32');
    const out0 = copy0 ? be.makeOutput([n * horizons, hid], 'float32') : null;
    const at = (t: tf.TensorInfo) => be.getMemoryOffset(t.dataId);
    wasm.reluAddMask(at(z), copies, at(s), sRows === horizons ? 0 : 1, n, horizons, passes, hid, at(bank) + 4 * offset, at(out), out0 ? at(out0) : 0);
    return out0 ? [out, out0] : [out];
  });
  register(NAMES.passMoments, (be, { y, z, s }, { passes = 0, residual = 0 }) => {
    if (!y || !z || !s) return fail(NAMES.passMoments, 'missing input');
    const [rows = 0, L = 0] = y.shape;
    const H = s.shape[0] ?? 0;
    const n = passes > 0 && H > 0 ? rows / (H * passes) : 0;
    const ok =
      y.dtype === 'float32' &&
      z.dtype === 'float32' &&
      s.dtype === 'float32' &&
      s.shape.length === 1 &&
      L % 4 === 0 &&
      Number.isInteger(n) &&
      n > 0 &&
      z.shape[0] === n * (passes + 1) &&
      z.shape[1] === L;
    if (!ok) fail(NAMES.passMoments, `bad shapes (y ${y.shape}, z ${z.shape}, s ${s.shape}, passes ${passes})`);
    const mean = be.makeOutput([n * H, L], 'float32');
    const unc = be.makeOutput([n, H], 'float32');
    const at = (t: tf.TensorInfo) => be.getMemoryOffset(t.dataId);
    wasm.passMoments(at(y), at(z), at(s), residual ? 1 : 0, n, H, passes, L, at(mean), at(unc));
    return [mean, unc];
  });
  const run = (name: string, inputs: tf.NamedTensorMap, attrs: Record<string, number>) => tf.engine().runKernel(name, inputs, attrs) as tf.Tensor2D;
  return {
    lowRankAdd: (p) =>
      run(
        NAMES.lowRankAdd,
        { u: p.u, slots: p.slots, a: p.a, b: p.b, ...(p.base ? { base: p.base } : {}) },
        { reps: p.reps, aSlot: p.aSlot, rank: p.rank, outDim: p.outDim },
      ),
    reluMaskCopies: (a, passes, m) => run(NAMES.reluMaskCopies, { a, bank: m.bank }, { passes, offset: m.offset }),
    reluAddMask: (z, s, horizons, passes, m, withCopy0 = false) =>
      tf
        .engine()
        .runKernel(NAMES.reluAddMask, { z, s, bank: m.bank }, { horizons, passes, offset: m.offset, copy0: withCopy0 ? 1 : 0 }) as unknown as tf.Tensor2D[],
    passMoments: (y, z, s, passes, residual) =>
      tf.engine().runKernel(NAMES.passMoments, { y, z, s }, { passes, residual: residual ? 1 : 0 }) as unknown as [tf.Tensor2D, tf.Tensor2D],
  };
}
