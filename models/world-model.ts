/**
 * The JEPA world model: encoder x → z, predictor [z; s(Δh)] → ẑ, and the EMA target encoder.
 * Serialisable configuration and plain-array weights are kept apart from the runtime object that owns
 * tf.Variables. Weight matrices are stored in×out row-major (y = x·W + b), so a numpy reader does
 * `x @ W + b` directly.
 */
import * as tf from '@tensorflow/tfjs-core';
import { ModelError, ModelErrorCode } from './errors.js';
import { createRng, uniformArray } from './rng.js';

/** Hidden width of both MLPs (DESIGN.md). */
export const DEFAULT_HIDDEN_DIM = 128;
/** Latent dimension. */
export const DEFAULT_LATENT_DIM = 64;
/** Dropout after the hidden ReLU, in both MLPs. */
export const DEFAULT_DROPOUT = 0.1;
/**
 * Horizon (frames) that maps to s = 1 under log1p scaling (the scaling of checkpoints written before
 * the residual predictor); fixed rather than taken from each dataset's longest horizon, so a base model
 * and its patient fine-tunes see the same input scale for the same Δh.
 */
export const DEFAULT_MAX_HORIZON = 240;
/**
 * Frames per second of the pipeline (features are resampled to 60 Hz). The default scaling is
 * s = Δh / FRAME_RATE = Δt in seconds, so the residual predictor reads ẑ = z + Δt·MLP([z; Δt]): a step
 * along a learned latent velocity. Measured on held-out subjects against log1p/240 as both input and
 * gate: log1p lost to identity at every horizon (Δh = 1: 0.072 vs 0.037), Δt in seconds tied at Δh = 1
 * and won at 5–30 on the treadmill subject.
 */
export const FRAME_RATE = 60;
export const DEFAULT_HORIZON_SCALING: HorizonScaling = { kind: 'linear', maxHorizon: FRAME_RATE };

/**
 * How Δh (frames) enters the predictor. log1p: s = ln(1+Δh)/ln(1+maxHorizon) — compresses long
 * horizons so Δh = 1…10 stay distinguishable while 240 frames still fits in [0, 1].
 * linear: s = Δh / maxHorizon.
 */
export interface HorizonScaling {
  readonly kind: 'log1p' | 'linear';
  readonly maxHorizon: number;
}

export interface WorldModelArgs {
  /** F: number of input features (columns of x). Required. */
  readonly featureDim: number;
  /** Hidden width of encoder and predictor. Default DEFAULT_HIDDEN_DIM. */
  readonly hiddenDim?: number;
  /** Latent width. Default DEFAULT_LATENT_DIM. */
  readonly latentDim?: number;
  /** Dropout probability after the hidden ReLU (training and MC inference). Default DEFAULT_DROPOUT. */
  readonly dropout?: number;
  /** Δh scaling. Default DEFAULT_HORIZON_SCALING (Δt in seconds). */
  readonly horizonScaling?: HorizonScaling;
  /**
   * Residual predictor ẑ = z + s(Δh)·MLP([z; s(Δh)]) (default true for new models; with the default
   * scaling s is Δt in seconds). Without it the MLP
   * must reproduce the whole latent, and at short horizons — where almost nothing changes — it did far
   * worse than copying z on held-out subjects (normalised MSE 1.2–1.4 vs 0.02–0.04 for identity at
   * Δh = 1). Checkpoints written before this flag existed load with residual false (checkpoint.ts).
   */
  readonly residual?: boolean;
}

/** Fully resolved, serialisable model configuration (stored in training_config.model). */
export interface WorldModelConfig {
  readonly featureDim: number;
  readonly hiddenDim: number;
  readonly latentDim: number;
  readonly dropout: number;
  readonly horizonScaling: HorizonScaling;
  readonly residual: boolean;
}

export function resolveModelConfig(args: WorldModelArgs): WorldModelConfig {
  const c: WorldModelConfig = {
    featureDim: args.featureDim,
    hiddenDim: args.hiddenDim ?? DEFAULT_HIDDEN_DIM,
    latentDim: args.latentDim ?? DEFAULT_LATENT_DIM,
    dropout: args.dropout ?? DEFAULT_DROPOUT,
    horizonScaling: args.horizonScaling ?? DEFAULT_HORIZON_SCALING,
    residual: args.residual ?? true,
  };
  if (typeof c.residual !== 'boolean') throw invalid(`residual must be a boolean`);
  for (const k of ['featureDim', 'hiddenDim', 'latentDim'] as const) {
    if (!Number.isInteger(c[k]) || c[k] < 1) throw invalid(`${k} must be a positive integer, got ${c[k]}`);
  }
  if (!(c.dropout >= 0 && c.dropout < 1)) throw invalid(`dropout must be in [0, 1), got ${c.dropout}`);
  if (!(c.horizonScaling.maxHorizon >= 1)) throw invalid(`horizonScaling.maxHorizon must be ≥ 1`);
  if (c.horizonScaling.kind !== 'log1p' && c.horizonScaling.kind !== 'linear') {
    throw invalid(`horizonScaling.kind must be 'log1p' or 'linear'`);
  }
  return c;
}

/** The predictor's Δh input for a horizon in frames. */
export function scaleHorizon(dh: number, s: HorizonScaling): number {
  return s.kind === 'log1p' ? Math.log1p(dh) / Math.log1p(s.maxHorizon) : dh / s.maxHorizon;
}

/** One linear layer, plain data: w is inDim×outDim row-major. */
export interface LinearWeights {
  readonly w: Float32Array;
  readonly b: Float32Array;
  readonly inDim: number;
  readonly outDim: number;
}
/** Linear → ReLU → Dropout → Linear. */
export interface MlpWeights {
  readonly fc1: LinearWeights;
  readonly fc2: LinearWeights;
}
export interface WorldModelWeights {
  readonly encoder: MlpWeights;
  readonly predictor: MlpWeights;
  readonly targetEncoder: MlpWeights;
}

/** Runtime parameters of one MLP. */
export interface MlpParams {
  readonly w1: tf.Variable;
  readonly b1: tf.Variable;
  readonly w2: tf.Variable;
  readonly b2: tf.Variable;
}

/** A low-rank additive update on one layer: W_eff = W + scale · A·B (A in×r, B r×out). */
export interface LowRankTensors {
  readonly a: tf.Tensor2D;
  readonly b: tf.Tensor2D;
  readonly scale: number;
}
export interface MlpLowRank {
  readonly fc1?: LowRankTensors;
  readonly fc2?: LowRankTensors;
}

/**
 * A residual predictor's last layer starts at this fraction of the default init: training then starts
 * at ẑ ≈ z (the identity baseline) and only learns the change, yet the layer is not exactly zero, so
 * MC-dropout passes differ from the first step.
 */
export const RESIDUAL_LAST_LAYER_SCALE = 1e-2;

/** PyTorch nn.Linear default init: U(−1/√in, 1/√in) for weights and biases (scaled by `gain`). */
export function initWeights(config: WorldModelConfig, seed: number): WorldModelWeights {
  const rng = createRng(seed);
  const linear = (inDim: number, outDim: number, gain = 1): LinearWeights => {
    const k = gain / Math.sqrt(inDim);
    return { w: uniformArray(rng, inDim * outDim, -k, k), b: uniformArray(rng, outDim, -k, k), inDim, outDim };
  };
  const { featureDim: f, hiddenDim: h, latentDim: l } = config;
  const encoder = { fc1: linear(f, h), fc2: linear(h, l) };
  const predictor = { fc1: linear(l + 1, h), fc2: linear(h, l, config.residual ? RESIDUAL_LAST_LAYER_SCALE : 1) };
  return { encoder, predictor, targetEncoder: cloneMlp(encoder) };
}

export function cloneMlp(m: MlpWeights): MlpWeights {
  const c = (l: LinearWeights): LinearWeights => ({ ...l, w: l.w.slice(), b: l.b.slice() });
  return { fc1: c(m.fc1), fc2: c(m.fc2) };
}

/** A variable holding a copy of `init`; the temporary tensor is disposed (a variable keeps its own). */
export function variableFrom(init: tf.Tensor, trainable: boolean): tf.Variable {
  try {
    return tf.variable(init, trainable);
  } finally {
    init.dispose();
  }
}

function mlpParams(m: MlpWeights, trainable: boolean): MlpParams {
  return {
    w1: variableFrom(tf.tensor2d(m.fc1.w, [m.fc1.inDim, m.fc1.outDim]), trainable),
    b1: variableFrom(tf.tensor1d(m.fc1.b), trainable),
    w2: variableFrom(tf.tensor2d(m.fc2.w, [m.fc2.inDim, m.fc2.outDim]), trainable),
    b2: variableFrom(tf.tensor1d(m.fc2.b), trainable),
  };
}

function readMlp(p: MlpParams): MlpWeights {
  const lin = (w: tf.Variable, b: tf.Variable): LinearWeights => ({
    w: w.dataSync() as Float32Array,
    b: b.dataSync() as Float32Array,
    inDim: w.shape[0] ?? 0,
    outDim: w.shape[1] ?? 0,
  });
  // dataSync may return the backend's own buffer; copy so callers own their arrays.
  const m = { fc1: lin(p.w1, p.b1), fc2: lin(p.w2, p.b2) };
  return cloneMlp(m);
}

/** Owns the tf.Variables of one model; call dispose() when done. */
export class WorldModel {
  readonly encoder: MlpParams;
  readonly predictor: MlpParams;
  /** Never trained by gradient: updated only by EMA (see ema.ts). */
  readonly targetEncoder: MlpParams;
  private disposed = false;

  constructor(
    readonly config: WorldModelConfig,
    weights: WorldModelWeights,
  ) {
    checkWeights(config, weights);
    this.encoder = mlpParams(weights.encoder, true);
    this.predictor = mlpParams(weights.predictor, true);
    this.targetEncoder = mlpParams(weights.targetEncoder, false);
  }

  /** A copy of the current weights as plain arrays. */
  getWeights(): WorldModelWeights {
    return { encoder: readMlp(this.encoder), predictor: readMlp(this.predictor), targetEncoder: readMlp(this.targetEncoder) };
  }

  get isDisposed(): boolean {
    return this.disposed;
  }

  dispose(): void {
    if (this.disposed) return;
    this.disposed = true;
    for (const p of [this.encoder, this.predictor, this.targetEncoder]) tf.dispose([p.w1, p.b1, p.w2, p.b2]);
  }
}

/** A fresh model with seeded initial weights. */
export function createWorldModel(args: WorldModelArgs, seed = 0): WorldModel {
  const config = resolveModelConfig(args);
  return new WorldModel(config, initWeights(config, seed));
}

function checkWeights(c: WorldModelConfig, w: WorldModelWeights): void {
  const expect: [string, LinearWeights, number, number][] = [
    ['encoder.fc1', w.encoder.fc1, c.featureDim, c.hiddenDim],
    ['encoder.fc2', w.encoder.fc2, c.hiddenDim, c.latentDim],
    ['predictor.fc1', w.predictor.fc1, c.latentDim + 1, c.hiddenDim],
    ['predictor.fc2', w.predictor.fc2, c.hiddenDim, c.latentDim],
    ['target_encoder.fc1', w.targetEncoder.fc1, c.featureDim, c.hiddenDim],
    ['target_encoder.fc2', w.targetEncoder.fc2, c.hiddenDim, c.latentDim],
  ];
  for (const [name, l, i, o] of expect) {
    if (l.inDim !== i || l.outDim !== o || l.w.length !== i * o || l.b.length !== o) {
      throw new ModelError(
        ModelErrorCode.SHAPE_MISMATCH,
        `${name}: expected weight ${i}×${o} and bias ${o}, got ${l.inDim}×${l.outDim} (${l.w.length} values) and bias ${l.b.length}`,
      );
    }
  }
}

/** x·W (+ scale·(x·A)·B) + b: the low-rank term is never materialised as a full matrix. */
function linear(x: tf.Tensor2D, w: tf.Tensor2D, b: tf.Tensor1D, lr?: LowRankTensors): tf.Tensor2D {
  let y = tf.matMul(x, w);
  if (lr) y = tf.add(y, tf.mul(tf.matMul(tf.matMul(x, lr.a), lr.b), lr.scale));
  return tf.add(y, b);
}

/**
 * Linear → ReLU → (× mask) → Linear. mask is an inverted-dropout mask (entries 0 or 1/(1−p)) of shape
 * rows×hidden; omitted means dropout off. Call inside tf.tidy.
 */
export function mlpForward(p: MlpParams, x: tf.Tensor2D, mask?: tf.Tensor2D, lowRank?: MlpLowRank): tf.Tensor2D {
  let h = tf.relu(linear(x, p.w1 as tf.Tensor2D, p.b1 as tf.Tensor1D, lowRank?.fc1));
  if (mask) h = tf.mul(h, mask);
  return linear(h, p.w2 as tf.Tensor2D, p.b2 as tf.Tensor1D, lowRank?.fc2);
}

/**
 * Predictor: MLP([z; s(Δh)]) with s already scaled (rows×1); when `residual` (pass the model's
 * config.residual) ẑ = z + s·MLP([z; s]) — the change vanishes as Δh → 0 (like a step z + Δt·v(z)),
 * so an MLP that generalises poorly to an unseen subject cannot spoil short horizons. Call inside tf.tidy.
 */
export function predictorForward(p: MlpParams, z: tf.Tensor2D, s: tf.Tensor2D, mask?: tf.Tensor2D, lowRank?: MlpLowRank, residual = false): tf.Tensor2D {
  const d = mlpForward(p, tf.concat([z, s], 1), mask, lowRank);
  return residual ? tf.add(z, tf.mul(d, s)) : d;
}

function checkRows(data: Float32Array, width: number, what: string): number {
  if (data.length % width !== 0 || data.length === 0) {
    throw new ModelError(ModelErrorCode.SHAPE_MISMATCH, `${what}: length ${data.length} is not a positive multiple of ${width}`);
  }
  return data.length / width;
}

function runToArray(fn: () => tf.Tensor): Float32Array {
  const out = tf.tidy(fn);
  try {
    return out.dataSync() as Float32Array;
  } finally {
    out.dispose();
  }
}

/** z = encoder(x), dropout off. x is n×F row-major (already normalised); returns n×latentDim. */
export function encode(model: WorldModel, x: Float32Array): Float32Array {
  const n = checkRows(x, model.config.featureDim, 'encode x');
  return runToArray(() => mlpForward(model.encoder, tf.tensor2d(x, [n, model.config.featureDim])));
}

/** Target-encoder latents (the prediction targets), dropout off. */
export function encodeTarget(model: WorldModel, x: Float32Array): Float32Array {
  const n = checkRows(x, model.config.featureDim, 'encodeTarget x');
  return runToArray(() => mlpForward(model.targetEncoder, tf.tensor2d(x, [n, model.config.featureDim])));
}

/** ẑ = predictor([z; s(Δh)]) per row (z + s·predictor(…) for a residual model), dropout off. z is n×latentDim, dh has n horizons in frames. */
export function predict(model: WorldModel, z: Float32Array, dh: Float32Array): Float32Array {
  const { latentDim, horizonScaling } = model.config;
  const n = checkRows(z, latentDim, 'predict z');
  if (dh.length !== n) throw new ModelError(ModelErrorCode.SHAPE_MISMATCH, `predict: ${n} latents but ${dh.length} horizons`);
  const s = Float32Array.from(dh, (h) => scaleHorizon(h, horizonScaling));
  return runToArray(() =>
    predictorForward(model.predictor, tf.tensor2d(z, [n, latentDim]), tf.tensor2d(s, [n, 1]), undefined, undefined, model.config.residual),
  );
}

const invalid = (msg: string): ModelError => new ModelError(ModelErrorCode.INVALID_ARGS, msg);

/**
 * A copy of a residual model whose predicted change is multiplied by `alpha`: ẑ = z + α·s·MLP([z; s]).
 * Folded into the predictor's last layer (α·(h·W2 + b2) = h·(α·W2) + α·b2), so checkpoints, MC-dropout
 * and adapters need no new field. Used to shrink a change that does not transfer to unseen subjects
 * (fitResidualScale in train.ts fits α on a validation subject). The caller disposes the copy.
 */
export function withResidualScale(model: WorldModel, alpha: number): WorldModel {
  if (!model.config.residual) throw invalid('withResidualScale needs a residual model');
  if (!(Number.isFinite(alpha) && alpha >= 0)) throw invalid(`residual scale must be a finite number ≥ 0, got ${alpha}`);
  const w = model.getWeights();
  const fc2 = w.predictor.fc2;
  const scaled = { ...fc2, w: fc2.w.map((v) => v * alpha), b: fc2.b.map((v) => v * alpha) };
  return new WorldModel(model.config, { ...w, predictor: { fc1: w.predictor.fc1, fc2: scaled } });
}
