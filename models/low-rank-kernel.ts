/**
 * The per-frame low-rank adapter term as one tfjs op on the wasm backend: `JmLowRankAdd` runs
 * models/kernels/low-rank.wasm (AssemblyScript, f32x4 SIMD; source in models/kernels/assembly) on
 * tfjs-backend-wasm's own heap. tfjs-wasm has no fast batched matmul: its BatchMatMul with a batch
 * dimension is a naive scalar loop (the ~1 GFLOP/s that made the adapters cost more than the whole base
 * model), and 2-D GEMMs per patient or over concatenated adapters cost either one dispatch per patient
 * (~15 µs each) or K× the arithmetic. The kernel does the thin products (in·r + r·out multiply-adds per
 * row) at SIMD speed and adds the layer's base output in the same pass.
 *
 * Available only on the non-threaded wasm backend (the module imports its memory); lowRankKernel()
 * returns null elsewhere and callers keep the tfjs path.
 */
import { readFileSync } from 'node:fs';
import * as tf from '@tensorflow/tfjs-core';

const KERNEL = 'JmLowRankAdd';

/** The wasm backend's parts this kernel uses (getMemoryOffset and makeOutput are its public methods). */
interface WasmBackend {
  readonly wasm: { readonly asm?: { readonly memory?: unknown } };
  getMemoryOffset(dataId: object): number;
  makeOutput(shape: number[], dtype: tf.DataType): tf.TensorInfo;
}

type LowRankAdd = (
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
) => void;

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

export type LowRankKernel = (args: LowRankKernelArgs) => tf.Tensor2D;

let fn: LowRankAdd | null = null;
let boundTo: unknown = null;

/**
 * Registers the kernel for the current wasm backend (once per backend instance) and returns a function
 * that runs it, or null when the active backend is not the single-threaded wasm one. Call inside tf.tidy.
 */
export function lowRankKernel(): LowRankKernel | null {
  if (tf.getBackend() !== 'wasm') return null;
  const backend = tf.backend() as unknown as WasmBackend;
  if (boundTo !== backend) {
    fn = instantiate(backend);
    boundTo = backend;
    if (fn && !tf.getKernel(KERNEL, 'wasm')) {
      tf.registerKernel({
        kernelName: KERNEL,
        backendName: 'wasm',
        kernelFunc: ({ inputs, backend: be, attrs }) => run(be as unknown as WasmBackend, inputs, attrs as unknown as Attrs),
      });
    }
  }
  if (!fn) return null;
  return (p) => {
    const inputs: tf.NamedTensorMap = { u: p.u, slots: p.slots, a: p.a, b: p.b, ...(p.base ? { base: p.base } : {}) };
    return tf.engine().runKernel(KERNEL, inputs, { reps: p.reps, aSlot: p.aSlot, rank: p.rank, outDim: p.outDim }) as tf.Tensor2D;
  };
}

interface Attrs {
  readonly reps: number;
  readonly aSlot: number;
  readonly rank: number;
  readonly outDim: number;
}

function instantiate(backend: WasmBackend): LowRankAdd | null {
  const memory = backend.wasm.asm?.memory;
  // A shared (threaded) heap needs a module compiled for shared memory: not this one.
  if (!(memory instanceof WebAssembly.Memory) || !(memory.buffer instanceof ArrayBuffer)) return null;
  const bytes = readFileSync(new URL('./kernels/low-rank.wasm', import.meta.url));
  const instance = new WebAssembly.Instance(new WebAssembly.Module(bytes), { env: { memory } });
  return instance.exports.lowRankAdd as LowRankAdd;
}

function run(be: WasmBackend, inputs: tf.NamedTensorInfoMap, attrs: Attrs): tf.TensorInfo {
  const { u, slots, a, b, base } = inputs as Record<string, tf.TensorInfo>;
  if (!u || !slots || !a || !b || !fn) throw new Error(`${KERNEL}: missing input`);
  const [rows = 0, inDim = 0] = u.shape;
  const { reps, aSlot, rank, outDim } = attrs;
  // The kernel trusts its addresses: every shape is checked here, before it touches the heap.
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
  if (!ok) throw new Error(`${KERNEL}: inconsistent shapes (u ${u.shape}, slots ${slots.shape}, rank ${rank}, out ${outDim}, reps ${reps})`);
  const out = be.makeOutput([rows, outDim], 'float32');
  // Offsets after makeOutput: its allocation may grow the heap (offsets stay valid, views would not).
  const at = (t: tf.TensorInfo) => be.getMemoryOffset(t.dataId);
  fn(at(u), inDim, rows, reps, at(slots), at(a), aSlot, rank, at(b), outDim, base ? at(base) : 0, at(out));
  return out;
}
