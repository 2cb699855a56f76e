/**
 * MC-dropout inference: the latent (dropout off), the mean predicted latent per horizon over P dropout
 * passes, and the uncertainty (std across passes, averaged over latent dims). Nothing is recomputed
 * that a mask cannot change: x·W1 + b1 and its ReLU are computed once per frame and broadcast across
 * passes; the dropout-off latent rides in the same matmul as the P masked copies; the predictor's first
 * layer is split into its latent and horizon parts so the latent part is computed once per pass, not
 * once per (pass, horizon). No module state: a worker thread calls selectBackend once and then uses
 * these functions with its own models.
 */
import * as tf from '@tensorflow/tfjs-core';
import { checkAdapter, type AdapterLayer, type AdapterParams } from './adapters.js';
import { ModelError, ModelErrorCode } from './errors.js';
import { createRng, dropoutMask, type Rng } from './rng.js';
import type { BankMasks, WasmKernels } from './wasm-kernels.js';
import { scaleHorizon, type MlpParams, type WorldModel, type WorldModelConfig } from './world-model.js';

/** DESIGN.md: 10 passes. */
export const DEFAULT_MC_PASSES = 10;

/**
 * The per-layer low-rank term for each input row, added to `base` (the layer's output without it) when
 * given, or null when the layer has none. Rows are frame-major: the input holds `repeats` consecutive rows
 * per frame (row r belongs to frame floor(r / repeats)), so a per-frame adapter (batched inference) is a
 * reshape to (n, repeats, in) away. An input with fewer columns than the layer's in-dim stands for rows
 * whose missing trailing inputs are zero (the predictor's latent part without the horizon input).
 */
export type LowRankTerm = (layer: AdapterLayer, input: tf.Tensor2D, repeats: number, base?: tf.Tensor2D) => tf.Tensor2D | null;

/**
 * Dropout masks for one MC call, frame-major: m1 is n×P×hidden (frame, pass), m2 is n×H×P×hidden
 * (frame, horizon, pass).
 */
export interface McMasks {
  readonly m1: Float32Array;
  readonly m2: Float32Array;
}

export function createMcMasks(rng: Rng, n: number, passes: number, horizons: number, hidden: number, p: number): McMasks {
  return { m1: dropoutMask(rng, n * passes * hidden, p), m2: dropoutMask(rng, n * horizons * passes * hidden, p) };
}

/** Default size of a MaskBank: 2^21 floats = 8 MB (JS heap); one window covers up to 327 frames at P = 10, H = 4, hidden 128. */
export const DEFAULT_MASK_BANK_ENTRIES = 1 << 21;

/**
 * A bank of i.i.d. inverted-dropout mask entries; each call takes one contiguous window at a random
 * offset (m1 then m2 inside it) and uploads it, so a batch costs a memcpy instead of drawing hundreds of
 * thousands of random numbers (the JS draw was ~11% of the inference worker's time). The bank lives on
 * the JS side on purpose: tf.slice of a backend tensor measured slower on wasm than uploading the
 * subarray. Still valid MC-dropout: inside one window every entry is a distinct bank position, so each
 * frame's P passes (and its encoder vs predictor masks) are independent Bernoulli draws, as with fresh
 * masks — the estimator of each frame's mean and spread is unchanged. What is given up is independence
 * between batches (windows overlap, so frames in different batches may share a mask pattern); each
 * frame's MC estimate uses its own passes only, so that correlation biases nothing.
 */
export interface MaskBank {
  readonly entries: number;
  /** Masks for one call as new tensors (call inside tf.tidy), or null when the call needs more entries than the bank holds. */
  window(n: number, passes: number, horizons: number, hidden: number): McMaskTensors | null;
  /**
   * The same window (same offset sequence as window()) read in place: the bank as one tensor uploaded at
   * the first take() and held until dispose(), and the window's first entry (m1, then m2 right after it).
   * For the wasm kernels (wasm-kernels.ts), which read masks from the heap: no per-batch upload.
   */
  take(n: number, passes: number, horizons: number, hidden: number): BankMasks | null;
  /** Drops the bank's memory; window() returns null afterwards. */
  dispose(): void;
}

/** Deterministic for (seed, entries, p): two banks built alike hand out the same windows in the same order. */
export function createMaskBank(seed: number, entries: number, p: number): MaskBank {
  if (!Number.isInteger(entries) || entries < 1)
    throw new ModelError(ModelErrorCode.INVALID_ARGS, `mask bank entries must be a positive integer, got ${entries}`);
  const rng = createRng(seed);
  let data: Float32Array | null = dropoutMask(rng.fork(), entries, p);
  let held: tf.Tensor1D | null = null;
  const offsets = rng.fork();
  const offset = (n: number, passes: number, horizons: number, hidden: number): number | null => {
    const need = n * passes * hidden * (1 + horizons);
    return data && need <= entries ? Math.floor(offsets.next() * (entries - need + 1)) : null;
  };
  return {
    entries,
    window: (n, passes, horizons, hidden) => {
      const o = offset(n, passes, horizons, hidden);
      if (o === null || !data) return null;
      const n1 = n * passes * hidden;
      return { m1: tf.tensor1d(data.subarray(o, o + n1)), m2: tf.tensor1d(data.subarray(o + n1, o + n1 * (1 + horizons))) };
    },
    take: (n, passes, horizons, hidden) => {
      const o = offset(n, passes, horizons, hidden);
      if (o === null || !data) return null;
      held ??= tf.keep(tf.tensor1d(data));
      return { bank: held, offset: o };
    },
    dispose: () => {
      data = null;
      held?.dispose();
      held = null;
    },
  };
}

/** Masks as tensors (a MaskBank window); any shape holding the same number of entries. */
export interface McMaskTensors {
  readonly m1: tf.Tensor;
  readonly m2: tf.Tensor;
}

/** Masks read in place by the wasm kernels (MaskBank.take): m1 from `offset`, m2 right after it. */
export type { BankMasks };

export interface McCoreInput {
  readonly encoder: MlpParams;
  readonly predictor: MlpParams;
  readonly config: WorldModelConfig;
  /** n×F, normalised. */
  readonly x: tf.Tensor2D;
  readonly passes: number;
  readonly horizons: readonly number[];
  /** BankMasks only with `kernels` (the masks stay in the heap). */
  readonly masks: McMasks | McMaskTensors | BankMasks;
  readonly term?: LowRankTerm;
  /** The wasm kernels (wasm-kernels.ts): needed for BankMasks; used for the pass moments whenever given. */
  readonly kernels?: WasmKernels;
  /**
   * Also return the dropout-off predictions (McCoreOutput.point) — with BankMasks and the kernels only: they
   * ride along as copy 0 of the predictor's rows (the encoder's dropout-off copy), no separate predictor run.
   */
  readonly point?: boolean;
  /** The predictor's horizon-only parts (createMcConstants) for these horizons; computed inline when omitted. */
  readonly constants?: McConstants;
}

/**
 * What mcCore derives from the predictor weights and the horizons alone: W1's latent rows, the horizon
 * part s(Δh)·W1[L] + b1 per horizon [1, H, 1, hid], and s(Δh) as [1, H, 1, 1]. Held across batches by
 * the live engine, so a batch neither recomputes them nor hands XNNPACK a new weight tensor (it packs
 * weights per tensor: a per-batch W1 slice meant a new operator every batch).
 */
export interface McConstants {
  readonly w1z: tf.Tensor2D;
  readonly sPre: tf.Tensor;
  readonly sMul: tf.Tensor;
  /** s(Δh) per horizon, [H] (the passMoments kernel). */
  readonly sH: tf.Tensor1D;
}

function mcConstants(q: MlpParams, config: WorldModelConfig, horizons: readonly number[]): McConstants {
  const L = config.latentDim;
  const H = horizons.length;
  const hid = q.w1.shape[1] ?? 0;
  const sH = Float32Array.from(horizons, (h) => scaleHorizon(h, config.horizonScaling));
  return {
    w1z: tf.slice(q.w1, [0, 0], [L, hid]) as tf.Tensor2D,
    sPre: tf.reshape(tf.add(tf.matMul(tf.tensor2d(sH, [H, 1]), tf.slice(q.w1, [L, 0], [1, hid])), q.b1), [1, H, 1, hid]),
    sMul: tf.tensor4d(sH, [1, H, 1, 1]),
    sH: tf.tensor1d(sH),
  };
}

/** McConstants kept outside any tidy; dispose() when the model or the horizons go. */
export function createMcConstants(q: MlpParams, config: WorldModelConfig, horizons: readonly number[]): McConstants & { dispose(): void } {
  const c = tf.tidy(() => {
    const k = mcConstants(q, config, horizons);
    return [k.w1z, k.sPre, k.sMul, k.sH];
  }) as [tf.Tensor2D, tf.Tensor, tf.Tensor, tf.Tensor1D];
  return { w1z: c[0], sPre: c[1], sMul: c[2], sH: c[3], dispose: () => tf.dispose(c) };
}

export interface McCoreOutput {
  /** n×L */
  readonly latent: tf.Tensor2D;
  /** n×H×L dropout-off predictions (PointPredictor.run's), when asked for with `point` and the kernels. */
  readonly point?: tf.Tensor3D;
  /** n×H×L mean over passes */
  readonly mean: tf.Tensor3D;
  /** n×H: mean over dims of the std across passes */
  readonly uncertainty: tf.Tensor2D;
}

/** x·W + b (one fused op), plus the layer's low-rank term when there is one. */
function dense(x: tf.Tensor2D, w: tf.Tensor2D, b: tf.Tensor, term: LowRankTerm | undefined, layer: AdapterLayer, repeats: number): tf.Tensor2D {
  const y = tf.fused.matMul({ a: x, b: w, bias: b }) as tf.Tensor2D;
  return term?.(layer, x, repeats, y) ?? y;
}

const maskTensor = (m: Float32Array | tf.Tensor, shape: number[]): tf.Tensor => (m instanceof Float32Array ? tf.tensor(m, shape) : tf.reshape(m, shape));

/**
 * The tensor math, for callers that manage tidy themselves (mcPredict, batched inference). Rows are
 * kept frame-major throughout so per-frame adapters need no transposes. Call inside tf.tidy.
 */
export function mcCore(inp: McCoreInput): McCoreOutput {
  const { encoder: e, predictor: q, config, x, passes: P, horizons, masks, term } = inp;
  const n = x.shape[0];
  const H = horizons.length;
  const { hiddenDim: hid, latentDim: L } = config;
  // Layer 1 once per frame: dropout acts after the ReLU, so this part is identical in every pass; the
  // masks broadcast over it (no tile). Per frame: copy 0 is the dropout-off latent, copies 1..P the masked
  // passes — one matmul for all.
  const a1 = dense(x, e.w1 as tf.Tensor2D, e.b1, term, 'encoder.fc1', 1);
  const bank = 'bank' in masks ? masks : null;
  const k = bank ? inp.kernels : undefined;
  if (bank && !k) throw new ModelError(ModelErrorCode.INVALID_ARGS, 'masks read in place from the bank need the wasm kernels');
  let h1s: tf.Tensor2D;
  if (bank && k) h1s = k.reluMaskCopies(a1, P, bank);
  else {
    const h1 = tf.reshape(tf.relu(a1), [n, 1, hid]);
    const m1 = maskTensor((masks as McMasks | McMaskTensors).m1, [n, P, hid]);
    h1s = tf.reshape(tf.concat([h1, tf.mul(h1, m1)], 1), [n * (P + 1), hid]) as tf.Tensor2D;
  }
  const z2 = dense(h1s, e.w2 as tf.Tensor2D, e.b2, term, 'encoder.fc2', P + 1);
  const zAll = tf.reshape(z2, [n, P + 1, L]);
  const latent = tf.reshape(tf.slice(zAll, [0, 0, 0], [n, 1, L]), [n, L]) as tf.Tensor2D;
  // With the point predictions, the predictor's first layer runs on all P + 1 copies (copy 0 = dropout off).
  const withPoint = inp.point === true && bank !== null && k !== undefined;
  const zIn = withPoint ? z2 : (tf.reshape(tf.slice(zAll, [0, 1, 0], [n, P, L]), [n * P, L]) as tf.Tensor2D);
  // Predictor layer 1 split by linearity: [z; s]·W1 = z·W1[:L] + s·W1[L]. The z part is computed once per
  // (frame, pass) and the s part once per horizon, then broadcast to (frame, horizon, pass) — H times
  // fewer multiply-adds than stacking [z; s] rows for every horizon, and no tile/concat of latents.
  const c = inp.constants ?? mcConstants(q, config, horizons);
  // The adapter's term is linear in the input too: its z part per (frame, pass) on the z rows, its s part
  // per (frame, horizon) from rows [0…0; s_k].
  const zPre = tf.matMul(zIn, c.w1z) as tf.Tensor2D;
  const zRows = term?.('predictor.fc1', zIn, withPoint ? P + 1 : P, zPre) ?? zPre;
  // The s parts (and the adapter's, per frame) are summed while small, [n, H, 1, hid], before the one
  // broadcast add over (frame, horizon, pass).
  let sPart = c.sPre;
  if (term) {
    const sH = Float32Array.from(horizons, (h) => scaleHorizon(h, config.horizonScaling));
    const sRows = new Float32Array(n * H * (L + 1));
    for (let i = 0; i < n * H; i++) sRows[i * (L + 1) + L] = sH[i % H] ?? 0;
    const sTerm = term('predictor.fc1', tf.tensor2d(sRows, [n * H, L + 1]), H);
    if (sTerm) sPart = tf.add(c.sPre, tf.reshape(sTerm, [n, H, 1, hid]));
  }
  let h2: tf.Tensor2D;
  let point: tf.Tensor3D | undefined;
  if (bank && k) {
    // ReLU, horizon part and masks in one pass, m2 right after m1 in the bank; copy 0 unmasked beside.
    const s2 = tf.reshape(sPart, [sPart.size / hid, hid]) as tf.Tensor2D;
    const [masked, h0] = k.reluAddMask(zRows, s2, H, P, { bank: bank.bank, offset: bank.offset + n * P * hid }, withPoint) as [tf.Tensor2D, tf.Tensor2D?];
    h2 = masked;
    if (h0) {
      const y0 = tf.reshape(dense(h0, q.w2 as tf.Tensor2D, q.b2, term, 'predictor.fc2', H), [n, H, L]) as tf.Tensor3D;
      point = config.residual ? (tf.add(tf.reshape(latent, [n, 1, L]), tf.mul(y0, tf.reshape(c.sMul, [1, H, 1]))) as tf.Tensor3D) : y0;
    }
  } else {
    const pre = tf.add(tf.reshape(zRows, [n, 1, P, hid]), sPart);
    const m2 = maskTensor((masks as McMasks | McMaskTensors).m2, [n, H, P, hid]);
    h2 = tf.reshape(tf.mul(tf.relu(pre), m2), [n * H * P, hid]) as tf.Tensor2D;
  }
  const y2 = dense(h2, q.w2 as tf.Tensor2D, q.b2, term, 'predictor.fc2', H * P);
  if (inp.kernels) {
    // Residual step, mean, std over passes and mean over dims in one kernel pass.
    const [mean, uncertainty] = inp.kernels.passMoments(y2, z2, c.sH, P, config.residual);
    return { latent, mean: tf.reshape(mean, [n, H, L]) as tf.Tensor3D, uncertainty, ...(point ? { point } : {}) };
  }
  let y = tf.reshape(y2, [n, H, P, L]);
  // Residual predictor: each pass predicts its own (masked-encoder) latent plus s(Δh) × the learned change.
  if (config.residual) y = tf.add(tf.reshape(zIn, [n, 1, P, L]), tf.mul(y, c.sMul));
  // Mean and (population) variance over the passes, as tf.moments but without its float32 cast and reshapes.
  const mean = tf.mean(y, 2, true);
  const variance = tf.mean(tf.square(tf.sub(y, mean)), 2);
  const uncertainty = tf.mean(tf.sqrt(variance), -1) as tf.Tensor2D;
  return { latent, mean: tf.reshape(mean, [n, H, L]) as tf.Tensor3D, uncertainty };
}

/** The horizon-only parts of pointPrediction, computed once per model and horizon list (createPointPredictor). */
export interface PointPredictor {
  /**
   * The dropout-off prediction ẑ_h = predictor([z; s(h)]) of every frame at every horizon, n×H×L, from the
   * dropout-off latent (McCoreOutput.latent, adapters included) — what WorldModel predict() computes and
   * `jepa-motion eval` decodes for pose_mm. Unlike the mean of P passes it carries no sampling noise, which
   * at short horizons is larger than the motion itself. Rows are frame-major (repeats = H) so a per-frame
   * adapter term applies as in mcCore. Call inside tf.tidy.
   */
  run(latent: tf.Tensor2D, term?: LowRankTerm): tf.Tensor3D;
  dispose(): void;
}

export function createPointPredictor(q: MlpParams, config: WorldModelConfig, horizons: readonly number[]): PointPredictor {
  const L = config.latentDim;
  const H = horizons.length;
  const hid = q.w1.shape[1] ?? 0;
  const sH = Float32Array.from(horizons, (h) => scaleHorizon(h, config.horizonScaling));
  // Layer 1 split by linearity as in mcCore: z·W1[:L] per frame, s·W1[L] + b1 per horizon (constant here),
  // broadcast to (frame, horizon) — no tile of latents, and the per-batch op count stays small.
  const [w1z, sPre, sMul] = tf.tidy(() => [
    tf.slice(q.w1, [0, 0], [L, hid]) as tf.Tensor2D,
    tf.reshape(tf.add(tf.matMul(tf.tensor2d(sH, [H, 1]), tf.slice(q.w1, [L, 0], [1, hid])), q.b1), [1, H, hid]),
    tf.tensor3d(sH, [1, H, 1]),
  ]) as [tf.Tensor2D, tf.Tensor, tf.Tensor];
  return {
    run(latent, term) {
      const n = latent.shape[0];
      const zPre = tf.matMul(latent, w1z) as tf.Tensor2D;
      let pre = tf.add(tf.reshape(term?.('predictor.fc1', latent, 1, zPre) ?? zPre, [n, 1, hid]), sPre);
      if (term) {
        const sRows = new Float32Array(n * H * (L + 1));
        for (let i = 0; i < n * H; i++) sRows[i * (L + 1) + L] = sH[i % H] ?? 0;
        const sTerm = term('predictor.fc1', tf.tensor2d(sRows, [n * H, L + 1]), H);
        if (sTerm) pre = tf.add(pre, tf.reshape(sTerm, [n, H, hid]));
      }
      const h = tf.reshape(tf.relu(pre), [n * H, hid]) as tf.Tensor2D;
      const y = tf.reshape(dense(h, q.w2 as tf.Tensor2D, q.b2, term, 'predictor.fc2', H), [n, H, L]) as tf.Tensor3D;
      return config.residual ? tf.add(tf.reshape(latent, [n, 1, L]), tf.mul(y, sMul)) : y;
    },
    dispose: () => tf.dispose([w1z, sPre, sMul]),
  };
}

export interface McOptions {
  /** Horizons in frames. Required, at least one. */
  readonly horizons: readonly number[];
  /** Dropout passes P. Default DEFAULT_MC_PASSES. */
  readonly passes?: number;
  /** Dropout probability for the passes. Default the model's. 0 makes every pass identical. */
  readonly dropout?: number;
  /** Mask source: an Rng (advanced per call) or a seed. Default seed 0. */
  readonly rng?: Rng | number;
  /** Explicit masks (tests, reproducing a call); overrides rng and dropout. */
  readonly masks?: McMasks;
  /** A patient adapter on top of the model. */
  readonly adapter?: AdapterParams;
}

export interface McResult {
  readonly n: number;
  readonly horizons: readonly number[];
  /** n×L latents, dropout off. */
  readonly latent: Float32Array;
  /** Per horizon: n×L mean predicted latents. */
  readonly predictions: Float32Array[];
  /** Per horizon: n uncertainties (mean over dims of the std across passes, population std). */
  readonly uncertainty: Float32Array[];
  /** Per frame: uncertainty averaged over horizons. */
  readonly frameUncertainty: Float32Array;
}

export function checkMcArgs(passes: number, horizons: readonly number[]): void {
  if (!Number.isInteger(passes) || passes < 1) throw new ModelError(ModelErrorCode.INVALID_ARGS, `passes must be a positive integer, got ${passes}`);
  if (horizons.length === 0 || horizons.some((h) => !(Number.isFinite(h) && h >= 1))) {
    throw new ModelError(ModelErrorCode.INVALID_ARGS, `horizons must be a non-empty list of numbers ≥ 1, got [${horizons.join(', ')}]`);
  }
}

/** MC-dropout prediction for n frames (x: n×F row-major, normalised) with one model. */
export function mcPredict(model: WorldModel, x: Float32Array, opts: McOptions): McResult {
  const { featureDim: F, hiddenDim: hid, latentDim: L } = model.config;
  const passes = opts.passes ?? DEFAULT_MC_PASSES;
  checkMcArgs(passes, opts.horizons);
  if (x.length === 0 || x.length % F !== 0) throw new ModelError(ModelErrorCode.SHAPE_MISMATCH, `x length ${x.length} is not a positive multiple of ${F}`);
  const n = x.length / F;
  const H = opts.horizons.length;
  const rng = typeof opts.rng === 'object' ? opts.rng : createRng(opts.rng ?? 0);
  const masks = opts.masks ?? createMcMasks(rng, n, passes, H, hid, opts.dropout ?? model.config.dropout);
  if (masks.m1.length !== n * passes * hid || masks.m2.length !== n * H * passes * hid) {
    throw new ModelError(ModelErrorCode.SHAPE_MISMATCH, 'masks do not match n, passes, horizons and hidden size');
  }
  const adapter = opts.adapter;
  if (adapter) checkAdapter(model.config, adapter.weights);
  const term: LowRankTerm | undefined = adapter
    ? (layer, input, _repeats, base) => {
        const v = adapter.vars[layer];
        if (!v) return null;
        const cols = input.shape[1];
        const a = cols === v.a.shape[0] ? (v.a as tf.Tensor2D) : tf.slice(v.a as tf.Tensor2D, [0, 0], [cols, adapter.weights.rank]);
        const t = tf.mul(tf.matMul(tf.matMul(input, a), v.b as tf.Tensor2D), adapter.weights.alpha / adapter.weights.rank) as tf.Tensor2D;
        return base ? (tf.add(base, t) as tf.Tensor2D) : t;
      }
    : undefined;
  const out = tf.tidy(() => {
    const r = mcCore({
      encoder: model.encoder,
      predictor: model.predictor,
      config: model.config,
      x: tf.tensor2d(x, [n, F]),
      passes,
      horizons: opts.horizons,
      masks,
      ...(term ? { term } : {}),
    });
    return [r.latent, r.mean, r.uncertainty] as const;
  });
  try {
    const latent = out[0].dataSync() as Float32Array;
    const mean = out[1].dataSync() as Float32Array;
    const unc = out[2].dataSync() as Float32Array;
    const frameUncertainty = new Float32Array(n);
    const predictions = opts.horizons.map(() => new Float32Array(n * L));
    const uncertainty = opts.horizons.map(() => new Float32Array(n));
    for (let i = 0; i < n; i++) {
      for (let k = 0; k < H; k++) {
        predictions[k]?.set(mean.subarray((i * H + k) * L, (i * H + k + 1) * L), i * L);
        const u = unc[i * H + k] ?? NaN;
        (uncertainty[k] as Float32Array)[i] = u;
        frameUncertainty[i] = (frameUncertainty[i] ?? 0) + u / H;
      }
    }
    return { n, horizons: [...opts.horizons], latent: latent.slice(), predictions, uncertainty, frameUncertainty };
  } finally {
    tf.dispose(out as unknown as tf.Tensor[]);
  }
}

/**
 * Surprise: RMS distance between the latent that arrived at time t and the latent predicted for t
 * earlier, sqrt(mean_d (z_d − ẑ_d)²) — on the same per-dimension scale as the uncertainty, so
 * surprise / uncertainty reads as "how many predicted standard deviations off".
 */
export function surprise(arrived: Float32Array, predicted: Float32Array): number {
  if (arrived.length !== predicted.length || arrived.length === 0) {
    throw new ModelError(ModelErrorCode.SHAPE_MISMATCH, `surprise: latents of length ${arrived.length} and ${predicted.length}`);
  }
  let s = 0;
  for (let i = 0; i < arrived.length; i++) s += ((arrived[i] ?? 0) - (predicted[i] ?? 0)) ** 2;
  return Math.sqrt(s / arrived.length);
}
