/**
 * Multi-patient MC-dropout inference in one batch: every row goes through the shared base weights
 * (one matmul per layer over all rows, whatever the patient), and each row's own patient's low-rank
 * adapter adds (U·A)·B through one batched matmul over frames (see lowRankTerm). So the per-patient
 * cost is two thin rank-r products, not a separate model call. run() is synchronous, so setAdapter between runs is a
 * swap between batches by construction.
 */
import * as tf from '@tensorflow/tfjs-core';
import { ADAPTER_LAYERS, adapterScale, checkAdapter, type AdapterLayer, type AdapterWeights } from './adapters.js';
import { ModelError, ModelErrorCode } from './errors.js';
import {
  DEFAULT_MASK_BANK_ENTRIES,
  DEFAULT_MC_PASSES,
  checkMcArgs,
  createMaskBank,
  createMcMasks,
  mcCore,
  type LowRankTerm,
  type MaskBank,
} from './mc-dropout.js';
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
}

export interface BatchedRow {
  /** One frame's features, length F, normalised with the base's normalisation. */
  readonly x: Float32Array;
  /** Patient whose adapter applies; null (or a patient without adapter) → the base model. */
  readonly patient: string | null;
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
}

export interface BatchedInference {
  readonly config: WorldModelConfig;
  readonly horizons: readonly number[];
  readonly passes: number;
  /** Installs (or with null removes) a patient's adapter; takes effect from the next run(). */
  setAdapter(patientId: string, adapter: AdapterWeights | null): void;
  hasAdapter(patientId: string): boolean;
  readonly adapterCount: number;
  run(rows: readonly BatchedRow[]): BatchedRowResult[];
  /** Frees the base model and all adapters. */
  dispose(): void;
}

/**
 * Per layer: A of every held adapter stacked [S+1, in, r] and (α/r)·B stacked [S+1, r, out], slot S all
 * zeros, as plain arrays: gathering a batch's slots is then a few contiguous copies (tf.gather on wasm
 * took ~1 ms per layer for 64 frames).
 */
interface LayerStack {
  readonly a: Float32Array;
  readonly b: Float32Array;
  readonly inDim: number;
  readonly outDim: number;
  readonly rank: number;
}
interface Stacks {
  readonly slotOf: ReadonlyMap<string, number>;
  readonly zeroSlot: number;
  readonly layers: Partial<Record<AdapterLayer, LayerStack>>;
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
  const rng = createRng(opts.seed ?? 0);
  const adapters = new Map<string, AdapterWeights>();
  // Rebuilt lazily at the first run() after a change: swaps are rare (after a retrain), batches are not.
  let stacks: Stacks | null = null;

  const dropStacks = (): void => {
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
      const r = Math.max(...present.map((u) => u.rank));
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
      layers[name] = { a, b, inDim, outDim, rank: r };
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

  const run = (rows: readonly BatchedRow[]): BatchedRowResult[] => {
    if (model.isDisposed) throw new ModelError(ModelErrorCode.INVALID_ARGS, 'batched inference is disposed');
    const n = rows.length;
    if (n === 0) return [];
    const { featureDim: F, latentDim: L, hiddenDim: hid } = config;
    const x = new Float32Array(n * F);
    rows.forEach((r, i) => {
      if (r.x.length !== F) throw new ModelError(ModelErrorCode.SHAPE_MISMATCH, `row ${i}: ${r.x.length} features, the model takes ${F}`);
      x.set(r.x, i * F);
    });
    if (adapters.size > 0 && !stacks) stacks = buildStacks();
    const st = stacks;
    const rowSlot = rows.map((r) => (r.patient === null ? undefined : st?.slotOf.get(r.patient)) ?? -1);
    const H = horizons.length;
    const out = tf.tidy(() => {
      const masks = bank?.window(n, passes, H, hid) ?? createMcMasks(rng, n, passes, H, hid, config.dropout);
      const term = st && rowSlot.some((k) => k >= 0) ? lowRankTerm(st, rowSlot) : undefined;
      const r = mcCore({
        encoder: model.encoder,
        predictor: model.predictor,
        config,
        x: tf.tensor2d(x, [n, F]),
        passes,
        horizons,
        masks,
        ...(term ? { term } : {}),
      });
      return [r.latent, r.mean, r.uncertainty];
    });
    try {
      const [latent, mean, unc] = out.map((t) => t.dataSync() as Float32Array) as [Float32Array, Float32Array, Float32Array];
      return rows.map((_, i) => {
        const uph = unc.slice(i * H, (i + 1) * H);
        return {
          latent: latent.slice(i * L, (i + 1) * L),
          predictions: horizons.map((_h, k) => mean.slice((i * H + k) * L, (i * H + k + 1) * L)),
          uncertaintyPerHorizon: uph,
          uncertainty: uph.reduce((a, b) => a + b, 0) / H,
          adapted: rowSlot[i] !== -1,
        };
      });
    } finally {
      tf.dispose(out);
    }
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
    run,
    dispose: () => {
      dropStacks();
      adapters.clear();
      bank?.dispose();
      model.dispose();
    },
  };
}

/**
 * The per-layer term for one batch: each frame's own adapter is gathered from the stacks and applied
 * as a batched matmul over frames, (n, repeats, in)·(n, in, r)·(n, r, out) — rows are frame-major
 * (mcCore), so this is a reshape, no transpose. Its cost does not grow
 * with the number of patients, unlike a block-masked [in, K·r] concatenation (measured 4–5× slower
 * with adapters on all layers). Call inside tf.tidy.
 */
function lowRankTerm(stacks: Stacks, rowSlot: readonly number[]): LowRankTerm {
  const n = rowSlot.length;
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
  return (layer, input, repeats) => {
    if (!gathered.has(layer)) {
      const l = stacks.layers[layer];
      gathered.set(layer, l ? gather(l) : null);
    }
    const c = gathered.get(layer);
    if (!c) return null;
    const inDim = input.shape[1] ?? 0;
    const t = tf.matMul(tf.matMul(tf.reshape(input, [n, repeats, inDim]), c.a), c.b); // (n, repeats, out)
    return tf.reshape(t, [n * repeats, t.shape[2] ?? 0]) as tf.Tensor2D;
  };
}
