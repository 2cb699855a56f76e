/**
 * Multi-patient MC-dropout inference in one batch: every row goes through the shared base weights
 * (one matmul per layer over all rows, whatever the patient), and each row's own patient's low-rank
 * adapter adds (U·A)·B, one op per layer over all frames (see lowRankTerm: the SIMD kernel of
 * wasm-kernels.ts on wasm, a batched matmul elsewhere). So the per-patient cost is two thin rank-r
 * products, not a separate model call. run() is synchronous, so setAdapter between runs is a swap between
 * batches by construction.
 *
 * With a probe decoder (probe-decoder.ts) the same tf.tidy also decodes every row's predictions into
 * world poses (decodeWorldPoses): one matmul of the batch's latents by the ridge weights, no per-joint
 * loop in JS.
 */
import * as tf from '@tensorflow/tfjs-core';
import { ADAPTER_LAYERS, adapterScale, checkAdapter, type AdapterLayer, type AdapterWeights } from './adapters.js';
import { ModelError, ModelErrorCode } from './errors.js';
import {
  DEFAULT_MASK_BANK_ENTRIES,
  DEFAULT_MC_PASSES,
  checkMcArgs,
  createMaskBank,
  createMcConstants,
  createMcMasks,
  mcCore,
  createPointPredictor,
  type LowRankTerm,
  type MaskBank,
  type PointPredictor,
} from './mc-dropout.js';
import { wasmKernels, type WasmKernels } from './wasm-kernels.js';
import type { ProbeDecoder } from './probe-decoder.js';
import { POSE_DIM, poseFrame } from './probe-pose.js';
import { createRng } from './rng.js';
import { WorldModel, type WorldModelConfig, type WorldModelWeights } from './world-model.js';

/** Adapters held at once; the inference service's LRU decides which, this is the hard ceiling. */
export const DEFAULT_MAX_ADAPTERS = 1024;

export interface BatchedInferenceOptions {
  /** Horizons in frames, at least one. */
  readonly horizons: readonly number[];
  /** MC-dropout passes. Default DEFAULT_MC_PASSES. */
  readonly passes?: number;
  /** Seeds the dropout masks (advanced every run). Default 0. */
  readonly seed?: number;
  /** setAdapter for a new patient beyond this throws MODEL_CAPACITY. Default DEFAULT_MAX_ADAPTERS. */
  readonly maxAdapters?: number;
  /**
   * Dropout masks come from createMaskBank(seed, maskBankEntries, dropout) (see MaskBank for why that is
   * valid MC-dropout); a batch too large for the bank, or maskBankEntries 0, draws fresh masks from
   * createRng(seed) exactly as mcPredict with rng = seed. Default DEFAULT_MASK_BANK_ENTRIES (8 MB).
   */
  readonly maskBankEntries?: number;
  /**
   * Ridge probe decoder of the base model (its latentDim must match): rows that carry their current
   * world pose get their predictions decoded to world poses (see decodeWorldPoses). Default none.
   */
  readonly probe?: ProbeDecoder;
  /**
   * Use the wasm SIMD kernels (wasm-kernels.ts: adapters' low-rank term, ReLU + masks read in place from
   * the bank) when the backend allows it. Default true; false keeps plain tfjs ops (batched matmul for the
   * adapters, uploaded mask windows): the reference the kernels are tested against.
   */
  readonly wasmKernels?: boolean;
}

export interface BatchedRow {
  /** One frame's features, length F, normalised with the base's normalisation. */
  readonly x: Float32Array;
  /** Patient whose adapter applies; null (or a patient without adapter) → the base model. */
  readonly patient: string | null;
  /** The frame's own world pose (20 canonical joints × xyz, metres): needed to decode its predictions. */
  readonly pose?: Float32Array;
}

/** A batch packed row-major, as the inference engine ships it between threads. */
export interface PackedBatch {
  readonly n: number;
  /** n × F normalised features. */
  readonly x: Float32Array;
  /** Per row: the patient whose adapter applies, or null for the base. */
  readonly patients: readonly (string | null)[];
  /** n × 60 current world poses (NaN rows = none), when predicted poses are wanted. */
  readonly poses?: Float32Array;
}

/** Packed results; H = horizons.length, L = latentDim. */
export interface PackedResult {
  /** n × L latents (dropout off). */
  readonly latent: Float32Array;
  /** n × H × L mean predicted latents over the passes, horizon-major within a row. */
  readonly predictions: Float32Array;
  /** n × H: per horizon, mean over dims of the std across passes. */
  readonly horizonUncertainty: Float32Array;
  /** n: horizonUncertainty averaged over the horizons. */
  readonly uncertainty: Float32Array;
  /** n × H × 60 predicted world poses (decodeWorldPoses), when a probe is set and the batch carried poses; NaN for rows without. */
  readonly poses?: Float32Array;
  /** Per row: whether a patient adapter was applied. */
  readonly adapted: readonly boolean[];
}

export interface BatchedRowResult {
  /** Latent (dropout off), length L. */
  readonly latent: Float32Array;
  /** Per horizon (options order): mean predicted latent over passes, length L. */
  readonly predictions: Float32Array[];
  /** Per horizon: mean over dims of the std across passes. */
  readonly uncertaintyPerHorizon: Float32Array;
  /** uncertaintyPerHorizon averaged. */
  readonly uncertainty: number;
  /** Whether a patient adapter was applied to this row. */
  readonly adapted: boolean;
  /** Per horizon: predicted world pose (60), when a probe is set and the row carried its pose. */
  readonly poses?: Float32Array[];
}

export interface BatchedInference {
  readonly config: WorldModelConfig;
  readonly horizons: readonly number[];
  readonly passes: number;
  /** Installs (or with null removes) a patient's adapter; takes effect from the next run(). */
  setAdapter(patientId: string, adapter: AdapterWeights | null): void;
  hasAdapter(patientId: string): boolean;
  readonly adapterCount: number;
  /** Whether predictions are decoded to poses (a probe was given). */
  readonly decodesPoses: boolean;
  run(rows: readonly BatchedRow[]): BatchedRowResult[];
  /** run() on a packed batch with packed results (no per-row arrays): what the live engine calls. */
  runPacked(batch: PackedBatch): PackedResult;
  /** Frees the base model and all adapters. */
  dispose(): void;
}

/**
 * Per layer: A of every held adapter stacked [S+1, in, r] and (α/r)·B stacked [S+1, r, out], slot S all
 * zeros, r the largest rank rounded up to a multiple of 4 (the kernel's f32x4 lanes; zero padding adds
 * nothing). As plain arrays for the matmul path (gathering a batch's slots is a few contiguous copies;
 * tf.gather on wasm took ~1 ms per layer for 64 frames), and as tensors for the kernel, which indexes
 * the stacks itself.
 */
interface LayerStack {
  readonly a: Float32Array;
  readonly b: Float32Array;
  readonly inDim: number;
  readonly outDim: number;
  readonly rank: number;
  readonly tensors: { readonly a: tf.Tensor1D; readonly b: tf.Tensor1D } | null;
}
interface Stacks {
  readonly slotOf: ReadonlyMap<string, number>;
  readonly zeroSlot: number;
  readonly layers: Partial<Record<AdapterLayer, LayerStack>>;
}

function disposeStacks(s: Stacks | null): void {
  for (const l of Object.values(s?.layers ?? {})) if (l?.tensors) tf.dispose([l.tensors.a, l.tensors.b]);
}

export function createBatchedInference(
  base: { readonly modelConfig: WorldModelConfig; readonly weights: WorldModelWeights },
  opts: BatchedInferenceOptions,
): BatchedInference {
  const passes = opts.passes ?? DEFAULT_MC_PASSES;
  checkMcArgs(passes, opts.horizons);
  const horizons = [...opts.horizons];
  const maxAdapters = opts.maxAdapters ?? DEFAULT_MAX_ADAPTERS;
  const bankEntries = opts.maskBankEntries ?? DEFAULT_MASK_BANK_ENTRIES;
  // Validates the weights first (a bad checkpoint should not cost a bank), then the bank; no leak either way.
  const model = new WorldModel(base.modelConfig, base.weights);
  let bank: MaskBank | null;
  try {
    bank = bankEntries > 0 ? createMaskBank(opts.seed ?? 0, bankEntries, model.config.dropout) : null;
  } catch (err) {
    model.dispose();
    throw err;
  }
  const config = model.config;
  let probeT: ProbeTensors | null = null;
  let constants: ReturnType<typeof createMcConstants> | null = null;
  // The dropout-off predictor the decoded poses come from (its constants live as long as the inference).
  let pointT: PointPredictor | null = null;
  try {
    constants = createMcConstants(model.predictor, config, horizons);
    if (opts.probe) {
      probeT = probeTensors(opts.probe, config.latentDim);
      pointT = createPointPredictor(model.predictor, config, horizons);
    }
  } catch (err) {
    if (probeT) tf.dispose([probeT.w, probeT.b, probeT.lo, probeT.hi]);
    constants?.dispose();
    bank?.dispose();
    model.dispose();
    throw err;
  }
  const rng = createRng(opts.seed ?? 0);
  const adapters = new Map<string, AdapterWeights>();
  // Every kernel row is hidden or latent wide: the kernels need multiples of 4 (f32x4).
  const kernels = opts.wasmKernels !== false && config.hiddenDim % 4 === 0 && config.latentDim % 4 === 0 ? wasmKernels() : null;
  // Rebuilt lazily at the first run() after a change: swaps are rare (after a retrain), batches are not.
  let stacks: Stacks | null = null;

  const dropStacks = (): void => {
    disposeStacks(stacks);
    stacks = null;
  };

  const buildStacks = (): Stacks => {
    const ids = [...adapters.keys()];
    const slotOf = new Map(ids.map((id, i) => [id, i]));
    const S = ids.length + 1;
    const layers: Stacks['layers'] = {};
    for (const name of ADAPTER_LAYERS) {
      const users = ids.map((id) => adapters.get(id));
      const present = users.filter((u): u is AdapterWeights => u?.layers[name] !== undefined);
      const first = present[0]?.layers[name];
      if (!first) continue;
      const r = 4 * Math.ceil(Math.max(...present.map((u) => u.rank)) / 4);
      const { inDim, outDim } = first;
      const a = new Float32Array(S * inDim * r);
      const b = new Float32Array(S * r * outDim);
      users.forEach((u, slot) => {
        const l = u?.layers[name];
        if (!u || !l) return;
        const scale = adapterScale(u);
        // Ranks below the largest are zero-padded: the extra columns/rows contribute nothing.
        for (let i = 0; i < inDim; i++) for (let k = 0; k < u.rank; k++) a[(slot * inDim + i) * r + k] = l.a[i * u.rank + k] ?? 0;
        for (let k = 0; k < u.rank; k++) for (let j = 0; j < outDim; j++) b[(slot * r + k) * outDim + j] = scale * (l.b[k * outDim + j] ?? 0);
      });
      layers[name] = { a, b, inDim, outDim, rank: r, tensors: kernels ? { a: tf.tensor1d(a), b: tf.tensor1d(b) } : null };
    }
    return { slotOf, zeroSlot: S - 1, layers };
  };

  const setAdapter = (patientId: string, adapter: AdapterWeights | null): void => {
    if (model.isDisposed) throw new ModelError(ModelErrorCode.INVALID_ARGS, 'batched inference is disposed');
    if (adapter === null) {
      if (adapters.delete(patientId)) dropStacks();
      return;
    }
    checkAdapter(config, adapter);
    if (!adapters.has(patientId) && adapters.size >= maxAdapters) {
      throw new ModelError(ModelErrorCode.CAPACITY, `already holding ${maxAdapters} adapters; remove one before adding '${patientId}'`);
    }
    // Copy: the caller may reuse or mutate its arrays after handing them over.
    const copy: AdapterWeights = {
      rank: adapter.rank,
      alpha: adapter.alpha,
      layers: Object.fromEntries(Object.entries(adapter.layers).map(([k, l]) => [k, l && { ...l, a: l.a.slice(), b: l.b.slice() }])),
    };
    adapters.set(patientId, copy);
    dropStacks();
  };

  const runPacked = (batch: PackedBatch): PackedResult => {
    if (model.isDisposed) throw new ModelError(ModelErrorCode.INVALID_ARGS, 'batched inference is disposed');
    const { n, x } = batch;
    const { featureDim: F, hiddenDim: hid } = config;
    const H = horizons.length;
    if (x.length !== n * F) throw new ModelError(ModelErrorCode.SHAPE_MISMATCH, `x has ${x.length} values, expected ${n}×${F}`);
    if (batch.patients.length !== n) throw new ModelError(ModelErrorCode.SHAPE_MISMATCH, `${batch.patients.length} patients for ${n} rows`);
    const poses = probeT ? batch.poses : undefined;
    if (poses && poses.length !== n * POSE_DIM)
      throw new ModelError(ModelErrorCode.SHAPE_MISMATCH, `poses have ${poses.length} values, expected ${n}×${POSE_DIM}`);
    if (adapters.size > 0 && !stacks) stacks = buildStacks();
    const st = stacks;
    const rowSlot = batch.patients.map((p) => (p === null ? undefined : st?.slotOf.get(p)) ?? -1);
    const out = tf.tidy(() => {
      const masks = (kernels ? bank?.take(n, passes, H, hid) : bank?.window(n, passes, H, hid)) ?? createMcMasks(rng, n, passes, H, hid, config.dropout);
      const term = st && rowSlot.some((k) => k >= 0) ? lowRankTerm(st, rowSlot, kernels) : undefined;
      const r = mcCore({
        encoder: model.encoder,
        predictor: model.predictor,
        config,
        x: tf.tensor2d(x, [n, F]),
        passes,
        horizons,
        masks,
        ...(term ? { term } : {}),
        ...(constants ? { constants } : {}),
        ...(kernels ? { kernels } : {}),
        ...(probeT && poses ? { point: true } : {}),
      });
      const tensors: tf.Tensor[] = [r.latent, r.mean, r.uncertainty];
      // The dropout-off predictions come from mcCore when it could (kernels, bank masks), else a separate run.
      if (probeT && pointT && poses) tensors.push(decodeCanonical(probeT, r.latent, r.point ?? pointT.run(r.latent, term)));
      return tensors;
    });
    try {
      const [latent, predictions, horizonUncertainty, canonical] = out.map((t) => t.dataSync() as Float32Array) as [
        Float32Array,
        Float32Array,
        Float32Array,
        Float32Array?,
      ];
      const decoded = canonical && probeT && poses ? worldChanges(probeT, canonical, poses, n, H) : undefined;
      const uncertainty = new Float32Array(n);
      for (let i = 0; i < n; i++) {
        let u = 0;
        for (let k = 0; k < H; k++) u += horizonUncertainty[i * H + k]!;
        uncertainty[i] = u / H;
      }
      return { latent, predictions, horizonUncertainty, uncertainty, adapted: rowSlot.map((k) => k !== -1), ...(decoded ? { poses: decoded } : {}) };
    } finally {
      tf.dispose(out);
    }
  };

  const run = (rows: readonly BatchedRow[]): BatchedRowResult[] => {
    if (model.isDisposed) throw new ModelError(ModelErrorCode.INVALID_ARGS, 'batched inference is disposed');
    const n = rows.length;
    if (n === 0) return [];
    const { featureDim: F, latentDim: L } = config;
    const x = new Float32Array(n * F);
    rows.forEach((r, i) => {
      if (r.x.length !== F) throw new ModelError(ModelErrorCode.SHAPE_MISMATCH, `row ${i}: ${r.x.length} features, the model takes ${F}`);
      x.set(r.x, i * F);
    });
    const withPose = rows.map((r) => r.pose !== undefined);
    let poses: Float32Array | undefined;
    if (probeT && withPose.some(Boolean)) {
      poses = new Float32Array(n * POSE_DIM).fill(Number.NaN);
      rows.forEach((r, i) => {
        if (!r.pose) return;
        if (r.pose.length !== POSE_DIM) throw new ModelError(ModelErrorCode.SHAPE_MISMATCH, `row ${i}: pose has ${r.pose.length} values, expected ${POSE_DIM}`);
        poses?.set(r.pose, i * POSE_DIM);
      });
    }
    const res = runPacked({ n, x, patients: rows.map((r) => r.patient), ...(poses ? { poses } : {}) });
    const H = horizons.length;
    return rows.map((_, i) => ({
      latent: res.latent.slice(i * L, (i + 1) * L),
      predictions: horizons.map((_h, k) => res.predictions.slice((i * H + k) * L, (i * H + k + 1) * L)),
      uncertaintyPerHorizon: res.horizonUncertainty.slice(i * H, (i + 1) * H),
      uncertainty: res.uncertainty[i]!,
      adapted: res.adapted[i]!,
      ...(res.poses && withPose[i] ? { poses: horizons.map((_h, k) => res.poses!.slice((i * H + k) * POSE_DIM, (i * H + k + 1) * POSE_DIM)) } : {}),
    }));
  };

  return {
    config,
    horizons,
    passes,
    setAdapter,
    hasAdapter: (id) => adapters.has(id),
    get adapterCount() {
      return adapters.size;
    },
    decodesPoses: probeT !== null,
    run,
    runPacked,
    dispose: () => {
      dropStacks();
      adapters.clear();
      bank?.dispose();
      if (probeT) tf.dispose([probeT.w, probeT.b, probeT.lo, probeT.hi]);
      pointT?.dispose();
      constants?.dispose();
      model.dispose();
    },
  };
}

/**
 * The per-layer term for one batch, each frame through its own adapter; rows are frame-major (mcCore).
 * With the kernel: one op per layer that reads the stacks in place and adds the layer's base output
 * (rows without adapter get the base only). Otherwise each frame's slots are gathered and applied as a
 * batched matmul over frames, (n, repeats, in)·(n, in, r)·(n, r, out), a reshape away, no transpose.
 * Either way the cost does not grow with the number of patients, unlike one GEMM per patient (a
 * dispatch each) or a block-masked [in, K·r] concatenation (K× the arithmetic; measured 4–5× slower).
 * Call inside tf.tidy.
 */
function lowRankTerm(stacks: Stacks, rowSlot: readonly number[], kernels: WasmKernels | null): LowRankTerm {
  const n = rowSlot.length;
  if (kernels) {
    const slots = tf.tensor1d(Int32Array.from(rowSlot), 'int32');
    return (layer, input, repeats, base) => {
      const l = stacks.layers[layer];
      if (!l?.tensors) return null;
      const { a, b } = l.tensors;
      return kernels.lowRankAdd({ u: input, reps: repeats, slots, a, aSlot: l.inDim * l.rank, b, rank: l.rank, outDim: l.outDim, ...(base ? { base } : {}) });
    };
  }
  const slots = rowSlot.map((k) => (k < 0 ? stacks.zeroSlot : k));
  const gathered = new Map<AdapterLayer, { a: tf.Tensor3D; b: tf.Tensor3D } | null>();
  const gather = (l: LayerStack) => {
    const sa = l.inDim * l.rank;
    const sb = l.rank * l.outDim;
    const a = new Float32Array(n * sa);
    const b = new Float32Array(n * sb);
    slots.forEach((slot, i) => {
      a.set(l.a.subarray(slot * sa, (slot + 1) * sa), i * sa);
      b.set(l.b.subarray(slot * sb, (slot + 1) * sb), i * sb);
    });
    return { a: tf.tensor3d(a, [n, l.inDim, l.rank]), b: tf.tensor3d(b, [n, l.rank, l.outDim]) };
  };
  return (layer, input, repeats, base) => {
    if (!gathered.has(layer)) {
      const l = stacks.layers[layer];
      gathered.set(layer, l ? gather(l) : null);
    }
    const c = gathered.get(layer);
    if (!c) return null;
    const inDim = input.shape[1] ?? 0;
    // Fewer input columns than the layer's in-dim: the missing trailing inputs are zeros (LowRankTerm).
    const a = inDim === c.a.shape[1] ? c.a : tf.slice(c.a, [0, 0, 0], [n, inDim, c.a.shape[2]]);
    const t = tf.matMul(tf.matMul(tf.reshape(input, [n, repeats, inDim]), a), c.b); // (n, repeats, out)
    const term = tf.reshape(t, [n * repeats, t.shape[2] ?? 0]) as tf.Tensor2D;
    return base ? (tf.add(base, term) as tf.Tensor2D) : term;
  };
}

/** The probe's parameters as tensors, held for the inference's life, plus which coordinates it never learned. */
interface ProbeTensors {
  /** L × 60 ridge weights. */
  readonly w: tf.Tensor2D;
  /** Bias, lo and hi (60 each) with untrained joints' NaN replaced (0, −∞, +∞): clamping never sees NaN. */
  readonly b: tf.Tensor1D;
  readonly lo: tf.Tensor1D;
  readonly hi: tf.Tensor1D;
  /** 60: the coordinates of joints the probe never learned (they decode to NaN, as decodePoses). */
  readonly untrained: readonly boolean[];
}

function probeTensors(probe: ProbeDecoder, latentDim: number): ProbeTensors {
  if (probe.latentDim !== latentDim) throw new ModelError(ModelErrorCode.SHAPE_MISMATCH, `probe latent ${probe.latentDim} ≠ model latent ${latentDim}`);
  const orIf = (a: Float32Array, v: number) => a.map((x) => (Number.isFinite(x) ? x : v));
  return {
    w: tf.tensor2d(probe.weights, [latentDim, POSE_DIM]),
    b: tf.tensor1d(orIf(probe.bias, 0)),
    lo: tf.tensor1d(orIf(probe.lo, -Infinity)),
    hi: tf.tensor1d(orIf(probe.hi, Infinity)),
    untrained: Array.from({ length: POSE_DIM }, (_, k) => !probe.trained[Math.floor(k / 3)] || !Number.isFinite(probe.bias[k]!)),
  };
}

/**
 * The probe's canonical decode of the batch's latents (first n rows) and of their dropout-off predictions
 * (then n × H rows, frame-major): clamp(z·W + b), one fused GEMM over all rows. Call inside tf.tidy.
 */
function decodeCanonical(p: ProbeTensors, latent: tf.Tensor2D, point: tf.Tensor3D): tf.Tensor2D {
  const [n, H, L] = point.shape;
  const z = tf.concat([latent, tf.reshape(point, [n * H, L])], 0) as tf.Tensor2D;
  return tf.minimum(tf.maximum(tf.fused.matMul({ a: z, b: p.w, bias: p.b }), p.lo), p.hi) as tf.Tensor2D;
}

/**
 * Predicted world poses of a batch, n × H × 60, the way `jepa-motion eval` scores them (evaluate.ts
 * pose_mm): ẑ_h is the dropout-off prediction (createPointPredictor: the MC mean of 10 passes carries
 * sampling noise that, decoded, is larger than one frame of motion), and the probe decodes the
 * predicted CHANGE, decode(ẑ_h) − decode(z), which is added to the frame's own pose — the probe's
 * absolute reading on a body it never saw is off by ~10 cm, its reading of a change is not. The change
 * lives in the frame's canonical space (root-relative, heading-aligned), so it is rotated back by the
 * frame's heading (probe-pose.ts worldPose without translation) and added to the frame's world pose: the
 * ghost stands on the patient, facing where the patient faces. The root's decoded change is 0 by
 * construction (canonical roots are 0), so the predicted root is the current one: features carry no
 * position in the room, so no latent can predict where the patient will be, only how the body will move.
 * Rows without a pose (NaN root) come out NaN; untrained joints are NaN. Done here in JS on the decoded
 * rows (decodeCanonical): ~n·H·60 multiply-adds, where the same in tfjs took ~20 op dispatches per batch.
 */
function worldChanges(p: ProbeTensors, canonical: Float32Array, poses: Float32Array, n: number, H: number): Float32Array {
  const out = new Float32Array(n * H * POSE_DIM);
  for (let i = 0; i < n; i++) {
    const f = poseFrame(poses, i * POSE_DIM);
    const c = f?.c ?? 1;
    const s = f?.s ?? 0;
    const now = i * POSE_DIM;
    for (let k = 0; k < H; k++) {
      const ahead = (n + i * H + k) * POSE_DIM;
      const o = (i * H + k) * POSE_DIM;
      for (let j = 0; j < POSE_DIM; j += 3) {
        const dx = canonical[ahead + j]! - canonical[now + j]!;
        const dy = canonical[ahead + j + 1]! - canonical[now + j + 1]!;
        const dz = canonical[ahead + j + 2]! - canonical[now + j + 2]!;
        out[o + j] = p.untrained[j] ? Number.NaN : poses[now + j]! + c * dx + s * dz;
        out[o + j + 1] = p.untrained[j + 1] ? Number.NaN : poses[now + j + 1]! + dy;
        out[o + j + 2] = p.untrained[j + 2] ? Number.NaN : poses[now + j + 2]! - s * dx + c * dz;
      }
    }
  }
  return out;
}
