/**
 * JEPA training: loss = MSE(predictor([encoder(x_t); s(Δh)]), stopgrad(target_encoder(x_{t+Δh}))),
 * AdamW (Adam + decoupled weight decay, written here: tfjs-core has no AdamW), EMA target after every
 * step. Modes: 'full' trains encoder + predictor (from scratch or fine-tuning a given model);
 * 'adapter' freezes the base and trains low-rank adapters only — the base target encoder stays frozen
 * then, so a patient's latents stay in the shared latent space the probe decoder and dashboards use.
 */
import * as tf from '@tensorflow/tfjs-core';
import { normalizeRows } from './dataset.js';
import type { FeatureSequence, Normalization, TransitionSampler } from './types.js';
import { AdapterParams, checkAdapter, initAdapter, type AdapterArgs, type AdapterLayer, type AdapterWeights } from './adapters.js';
import { DEFAULT_EMA_TAU, emaTau, emaUpdate, type EmaSchedule } from './ema.js';
import { ModelError, ModelErrorCode } from './errors.js';
import { ensureGradients } from './gradients.js';
import { createRng, dropoutMask } from './rng.js';
import {
  WorldModel,
  encode,
  encodeTarget,
  initWeights,
  mlpForward,
  predict,
  predictorForward,
  resolveModelConfig,
  scaleHorizon,
  variableFrom,
  type WorldModelArgs,
  type WorldModelConfig,
} from './world-model.js';

export const DEFAULT_EPOCHS = 50;
/** Default adapter layers in mode 'adapter' for a residual model (see trainWorldModel). */
export const RESIDUAL_ADAPTER_LAYERS: readonly AdapterLayer[] = ['predictor.fc1', 'predictor.fc2'];
export const DEFAULT_BATCH_SIZE = 64;
export const DEFAULT_LR = 1e-3;
/** PyTorch AdamW's default decoupled weight decay. */
export const DEFAULT_WEIGHT_DECAY = 1e-2;
export const DEFAULT_BETA1 = 0.9;
export const DEFAULT_BETA2 = 0.999;
export const DEFAULT_EPS = 1e-8;
/**
 * Residual base in training (TrainArgs.residualBase). 'target': measured leave-subject-out
 * (models/bench/lso-quick.ts, held-out gait subjects, 20 epochs, Δh ≤ 60): with 'online' the latents
 * collapsed to effective rank 1.9–4.6 and the model lost to identity at Δh = 30 on 2 of the 3 subjects
 * run; with 'target' rank 9–14 and it won at Δh = 10 and 30 on all 4 (with Δh ≤ 30,
 * DEFAULT_TRAIN_MAX_HORIZON, also at Δh = 5).
 */
export const DEFAULT_RESIDUAL_BASE: 'online' | 'target' = 'target';

export interface TrainArgs {
  /** Passes over the sampler's epoch. Default DEFAULT_EPOCHS. */
  readonly epochs?: number;
  /** Minibatch size handed to the sampler. Default DEFAULT_BATCH_SIZE. */
  readonly batchSize?: number;
  /** AdamW learning rate. Default DEFAULT_LR. */
  readonly lr?: number;
  /** Decoupled weight decay: w ← w − lr·wd·w each step. Default DEFAULT_WEIGHT_DECAY. */
  readonly weightDecay?: number;
  readonly beta1?: number;
  readonly beta2?: number;
  readonly eps?: number;
  /** EMA τ for the target encoder. Default DEFAULT_EMA_TAU. */
  readonly emaTau?: number;
  /** Default 'constant'. */
  readonly emaSchedule?: EmaSchedule;
  /** Seeds weight init (from-scratch) and dropout masks; the sampler has its own seed. Default 0. */
  readonly seed?: number;
  /** 'full' (default) or 'adapter' (needs `init`; trains only low-rank adapters). */
  readonly mode?: 'full' | 'adapter';
  /** Adapter shape for mode 'adapter'. */
  readonly adapter?: AdapterArgs;
  /**
   * Mode 'full': which encoder weights the result serves. 'ema' (default) copies the EMA target encoder
   * into the online encoder at the end (Polyak averaging, the encoder I-JEPA keeps): the online encoder
   * lags nothing then, so ẑ = z + … starts from exactly the latent the targets and the identity baseline
   * use. With 'online' the EMA lag alone cost a normalised MSE of 0.3–0.6 on held-out subjects.
   */
  readonly inferenceEncoder?: 'ema' | 'online';
  /**
   * Residual model: what the predicted change is added to in training. 'online' = the online latent z_t;
   * 'target' (default, DEFAULT_RESIDUAL_BASE) = the target encoder's z̄_t (the space the loss, the identity baseline and — once
   * the EMA encoder is served — inference all use), so the MLP learns only the change, not the
   * online/target gap.
   */
  readonly residualBase?: 'online' | 'target';
}

/** Serialisable, fully resolved training settings (stored as training_config). */
export interface TrainingConfig {
  readonly model: WorldModelConfig;
  readonly epochs: number;
  readonly batchSize: number;
  readonly optimizer: {
    readonly name: 'adamw';
    readonly lr: number;
    readonly weightDecay: number;
    readonly beta1: number;
    readonly beta2: number;
    readonly eps: number;
  };
  readonly ema: { readonly tau: number; readonly schedule: EmaSchedule };
  readonly seed: number;
  readonly mode: 'full' | 'adapter';
  readonly adapter?: { readonly rank: number; readonly alpha: number; readonly layers: readonly string[] };
  /** Whether this run started from an existing model (fine-tuning). */
  readonly fineTuned: boolean;
  readonly loss: 'mse(predictor([z_t; s(dh)]), stopgrad(target_encoder(x_{t+dh})))';
  /** residual: ẑ = z_t + s(dh)·MLP([z_t; s(dh)]) (also in model.residual), repeated for readers of this record. */
  readonly predictor: { readonly residual: boolean };
  /** Mode 'full': 'ema' = the served encoder is the EMA target encoder (copied at the end of training). */
  readonly inferenceEncoder: 'ema' | 'online';
  /** How Δh enters the predictor (also in model.horizonScaling), repeated for readers of this record. */
  readonly horizonInput: string;
  /** What the sampler said about itself (featureDim and, when it exposes them, samplesPerEpoch, maxHorizon, horizonLaw). */
  readonly sampler: Readonly<Record<string, number | string>>;
  /** Residual model: what the predicted change is added to in training (TrainArgs.residualBase). */
  readonly residualBase: 'online' | 'target';
}

export interface TrainOptions {
  readonly sampler: TransitionSampler;
  /** Model shape for from-scratch training; featureDim must equal sampler.featureDim. */
  readonly model?: Omit<WorldModelArgs, 'featureDim'>;
  /** Start from this model (fine-tuning). It is not modified: training works on a copy. */
  readonly init?: WorldModel;
  /** Mode 'adapter': continue from this adapter (e.g. the patient's previous one) instead of a fresh one; not modified. */
  readonly initAdapter?: AdapterWeights;
  /** Called after every epoch with the mean loss; may await (yields the event loop). */
  readonly onEpoch?: (epoch: number, loss: number) => void | Promise<void>;
  /** Called after every step; may await (a background trainer paces itself here). */
  readonly onStep?: () => void | Promise<void>;
  /** Aborts between steps with the signal's reason. */
  readonly signal?: AbortSignal;
}

export interface TrainResult {
  /** Trained model (in adapter mode: a copy of the frozen base). Caller disposes. */
  readonly model: WorldModel;
  /** Trained adapter in mode 'adapter'. */
  readonly adapter?: AdapterWeights;
  /** Mean minibatch loss per epoch. */
  readonly lossCurve: number[];
  readonly trainingConfig: TrainingConfig;
  readonly steps: number;
  readonly seconds: number;
}

function resolveTraining(args: TrainArgs, model: WorldModelConfig, fineTuned: boolean): TrainingConfig {
  const c: TrainingConfig = {
    model,
    epochs: args.epochs ?? DEFAULT_EPOCHS,
    batchSize: args.batchSize ?? DEFAULT_BATCH_SIZE,
    optimizer: {
      name: 'adamw',
      lr: args.lr ?? DEFAULT_LR,
      weightDecay: args.weightDecay ?? DEFAULT_WEIGHT_DECAY,
      beta1: args.beta1 ?? DEFAULT_BETA1,
      beta2: args.beta2 ?? DEFAULT_BETA2,
      eps: args.eps ?? DEFAULT_EPS,
    },
    ema: { tau: args.emaTau ?? DEFAULT_EMA_TAU, schedule: args.emaSchedule ?? 'constant' },
    seed: args.seed ?? 0,
    mode: args.mode ?? 'full',
    fineTuned,
    loss: 'mse(predictor([z_t; s(dh)]), stopgrad(target_encoder(x_{t+dh})))',
    predictor: { residual: model.residual },
    inferenceEncoder: args.inferenceEncoder ?? 'ema',
    sampler: {},
    residualBase: args.residualBase ?? DEFAULT_RESIDUAL_BASE,
    horizonInput: model.horizonScaling.kind === 'log1p' ? `s = ln(1+dh)/ln(1+${model.horizonScaling.maxHorizon})` : `s = dh/${model.horizonScaling.maxHorizon}`,
  };
  if (!Number.isInteger(c.epochs) || c.epochs < 1) throw invalid(`epochs must be a positive integer, got ${c.epochs}`);
  if (!Number.isInteger(c.batchSize) || c.batchSize < 1) throw invalid(`batchSize must be a positive integer, got ${c.batchSize}`);
  if (!(c.optimizer.lr > 0)) throw invalid(`lr must be > 0, got ${c.optimizer.lr}`);
  if (!(c.optimizer.weightDecay >= 0)) throw invalid(`weightDecay must be ≥ 0`);
  if (c.residualBase !== 'online' && c.residualBase !== 'target') throw invalid(`residualBase must be 'online' or 'target', got ${String(c.residualBase)}`);
  return c;
}

/** AdamW state for one variable. */
interface Slot {
  readonly v: tf.Variable;
  readonly m: tf.Variable;
  readonly s: tf.Variable;
}

/** Trains a world model on the sampler's transitions. Deterministic for (seed, sampler seed, backend). */
export async function trainWorldModel(opts: TrainOptions, args: TrainArgs = {}): Promise<TrainResult> {
  ensureGradients();
  const { sampler, init } = opts;
  const modelConfig = init ? init.config : resolveModelConfig({ ...opts.model, featureDim: sampler.featureDim });
  if (modelConfig.featureDim !== sampler.featureDim) {
    throw new ModelError(ModelErrorCode.FEATURE_MISMATCH, `model expects ${modelConfig.featureDim} features but the sampler yields ${sampler.featureDim}`);
  }
  const cfg = { ...resolveTraining(args, modelConfig, init !== undefined), sampler: describeSampler(sampler) };
  if (cfg.mode === 'adapter' && !init) throw invalid(`mode 'adapter' needs a base model (opts.init)`);
  if (opts.initAdapter && cfg.mode !== 'adapter') throw invalid(`initAdapter needs mode 'adapter'`);

  const rng = createRng(cfg.seed);
  const initRng = rng.fork();
  const maskRng = rng.fork();
  const model = new WorldModel(modelConfig, init ? init.getWeights() : initWeights(modelConfig, Math.floor(initRng.next() * 2 ** 32)));
  let adapter: AdapterParams | undefined;
  let trainingConfig = cfg;
  if (cfg.mode === 'adapter') {
    // A residual model predicts ẑ = z + …: an encoder adapter would move z away from the frozen base
    // target encoder the targets (and the identity baseline) come from, so by default a residual
    // model's patient adapters sit on the predictor only (measured: with all four layers the retrain
    // gate rejected the patient model at short horizons).
    const layers = args.adapter?.layers ?? (modelConfig.residual ? RESIDUAL_ADAPTER_LAYERS : undefined);
    const fresh = initAdapter(modelConfig, { ...args.adapter, ...(layers ? { layers } : {}) }, Math.floor(initRng.next() * 2 ** 32));
    if (opts.initAdapter) checkAdapter(modelConfig, opts.initAdapter);
    const w = opts.initAdapter ?? fresh;
    adapter = new AdapterParams(w, true);
    trainingConfig = { ...cfg, adapter: { rank: w.rank, alpha: w.alpha, layers: Object.keys(w.layers) } };
  }
  const trainable: tf.Variable[] = adapter ? adapter.trainableVariables() : [model.encoder, model.predictor].flatMap((p) => [p.w1, p.b1, p.w2, p.b2]);
  const slots: Slot[] = trainable.map((v) => ({
    v,
    m: variableFrom(tf.zerosLike(v), false),
    s: variableFrom(tf.zerosLike(v), false),
  }));
  const { lr, weightDecay, beta1, beta2, eps } = cfg.optimizer;
  const { hiddenDim: hid, featureDim: F, horizonScaling } = modelConfig;
  const encLR = adapter?.lowRank('encoder');
  const targetBase = modelConfig.residual && cfg.residualBase === 'target';
  const predLR = adapter?.lowRank('predictor');

  const lossCurve: number[] = [];
  const started = performance.now();
  let step = 0;
  // Total steps for the cosine EMA schedule: known only after the first epoch (sampler decides).
  let stepsPerEpoch = 0;
  try {
    for (let epoch = 0; epoch < cfg.epochs; epoch++) {
      let sum = 0;
      let batches = 0;
      for (const batch of sampler.epoch(epoch, cfg.batchSize)) {
        opts.signal?.throwIfAborted();
        const n = batch.size;
        if (batch.x.length !== n * F || batch.y.length !== n * F || batch.dh.length !== n) {
          throw new ModelError(ModelErrorCode.SHAPE_MISMATCH, `sampler batch of ${n} rows does not have ${F} features per row`);
        }
        const s = Float32Array.from(batch.dh, (h) => scaleHorizon(h, horizonScaling));
        const m1 = dropoutMask(maskRng, n * hid, modelConfig.dropout);
        const m2 = dropoutMask(maskRng, n * hid, modelConfig.dropout);
        step++;
        const t = step;
        const lossValue = tf.tidy(() => {
          const x = tf.tensor2d(batch.x, [n, F]);
          const y = tf.tensor2d(batch.y, [n, F]);
          const sT = tf.tensor2d(s, [n, 1]);
          const mask1 = tf.tensor2d(m1, [n, hid]);
          const mask2 = tf.tensor2d(m2, [n, hid]);
          // The target is computed outside the gradient tape's reach: it is a constant for the step.
          const target = mlpForward(model.targetEncoder, y);
          const targetNow = targetBase ? mlpForward(model.targetEncoder, x) : undefined;
          const { value, grads } = tf.variableGrads(() => {
            const z = mlpForward(model.encoder, x, mask1, encLR);
            const zHat = targetBase
              ? tf.add(targetNow!, tf.mul(predictorForward(model.predictor, z, sT, mask2, predLR, false), sT))
              : predictorForward(model.predictor, z, sT, mask2, predLR, modelConfig.residual);
            return tf.mean(tf.square(tf.sub(zHat, target))) as tf.Scalar;
          }, trainable);
          const bc1 = 1 - beta1 ** t;
          const bc2 = 1 - beta2 ** t;
          for (const slot of slots) {
            const g = grads[slot.v.name];
            if (!g) continue;
            slot.m.assign(tf.add(tf.mul(slot.m, beta1), tf.mul(g, 1 - beta1)));
            slot.s.assign(tf.add(tf.mul(slot.s, beta2), tf.mul(tf.square(g), 1 - beta2)));
            const update = tf.div(tf.div(slot.m, bc1), tf.add(tf.sqrt(tf.div(slot.s, bc2)), eps));
            // AdamW: decay is decoupled from the gradient (Loshchilov & Hutter), applied to the weights.
            slot.v.assign(tf.sub(tf.mul(slot.v, 1 - lr * weightDecay), tf.mul(update, lr)));
          }
          return value.dataSync()[0] ?? NaN;
        });
        if (!Number.isFinite(lossValue)) {
          throw new ModelError(ModelErrorCode.TRAINING_DIVERGED, `loss became ${lossValue} at epoch ${epoch}, step ${step}`);
        }
        if (!adapter) {
          const total = stepsPerEpoch > 0 ? stepsPerEpoch * cfg.epochs : 0;
          emaUpdate(model.targetEncoder, model.encoder, emaTau(cfg.ema.tau, cfg.ema.schedule, step, total));
        }
        sum += lossValue;
        batches++;
        await opts.onStep?.();
      }
      if (batches === 0) throw new ModelError(ModelErrorCode.EMPTY_EPOCH, `sampler yielded no batch in epoch ${epoch}`);
      if (epoch === 0) stepsPerEpoch = batches;
      lossCurve.push(sum / batches);
      await opts.onEpoch?.(epoch, sum / batches);
    }
    if (!adapter && cfg.inferenceEncoder === 'ema') {
      const e = model.encoder;
      const t = model.targetEncoder;
      e.w1.assign(t.w1);
      e.b1.assign(t.b1);
      e.w2.assign(t.w2);
      e.b2.assign(t.b2);
    }
    const adapterWeights = adapter?.getWeights();
    return {
      model,
      ...(adapterWeights ? { adapter: adapterWeights } : {}),
      lossCurve,
      trainingConfig,
      steps: step,
      seconds: (performance.now() - started) / 1000,
    };
  } catch (err) {
    model.dispose();
    throw err;
  } finally {
    tf.dispose(slots.flatMap((s) => [s.m, s.s]));
    adapter?.dispose();
  }
}

/** Serialisable facts a sampler exposes beyond the contract (models/dataset.ts's sampler has these). */
function describeSampler(s: TransitionSampler): Record<string, number | string> {
  const out: Record<string, number | string> = { featureDim: s.featureDim };
  const extra = s as unknown as Record<string, unknown>;
  for (const k of ['samplesPerEpoch', 'maxHorizon', 'horizonLaw', 'headingAugment']) {
    const v = extra[k];
    if (typeof v === 'number' || typeof v === 'string') out[k] = v;
    else if (typeof v === 'boolean') out[k] = String(v);
  }
  return out;
}

/** Horizons (frames) the residual scale is fitted on: the evaluation's horizons (models/evaluate.ts). */
export const RESIDUAL_SCALE_HORIZONS: readonly number[] = [1, 5, 10, 30];

export interface ResidualScaleFit {
  /** The fitted α, clamped to [0, 1] (never amplifies the learned change, never reverses it). */
  readonly alpha: number;
  /** Unclamped least-squares α. */
  readonly raw: number;
  /** Per horizon: the validation's normalised-by-identity error ratio at α = 1 and at the fitted α. */
  readonly perHorizon: readonly { readonly h: number; readonly ratioAt1: number; readonly ratioAtAlpha: number }[];
}

/**
 * Fits the scale α of a residual model's predicted change on VALIDATION sequences (a subject neither the
 * training nor the test set contains): with d = ẑ − z̄_t and r = z̄_{t+h} − z̄_t (z̄ = target encoder, as in
 * the evaluation), α minimises Σ_h Σ‖α·d − r‖² / Σ‖r‖², i.e. the sum over horizons of the error relative
 * to the identity baseline, so Δh = 1 counts as much as Δh = 30. Closed form:
 * α = Σ_h (Σ d·r)/E_h ÷ Σ_h (Σ d·d)/E_h with E_h = Σ‖r‖². Why: the learned latent velocity field
 * overshoots on bodies it never saw (it lost to identity at Δh = 30 on 4 of 6 held-out subjects); a
 * shrunk step keeps its direction and cannot do worse than identity on the validation subject.
 */
export function fitResidualScale(
  model: WorldModel,
  validation: readonly FeatureSequence[],
  norm: Normalization,
  horizons: readonly number[] = RESIDUAL_SCALE_HORIZONS,
): ResidualScaleFit {
  if (!model.config.residual) throw invalid('fitResidualScale needs a residual model');
  const L = model.config.latentDim;
  const per = validation.map((s) => {
    const x = normalizeRows(s.x, norm);
    return { T: s.t.length, z: encode(model, x), zt: encodeTarget(model, x) };
  });
  let num = 0;
  let den = 0;
  const stats: { h: number; dr: number; dd: number; rr: number }[] = [];
  for (const h of horizons) {
    let dr = 0;
    let dd = 0;
    let rr = 0;
    for (const p of per) {
      const n = p.T - h;
      if (n <= 0) continue;
      const zhat = predict(model, p.z.subarray(0, n * L), new Float32Array(n).fill(h));
      for (let i = 0; i < n * L; i++) {
        const base = p.zt[i]!;
        const d = zhat[i]! - base;
        const r = p.zt[i + h * L]! - base;
        dr += d * r;
        dd += d * d;
        rr += r * r;
      }
    }
    if (rr <= 0) continue;
    stats.push({ h, dr, dd, rr });
    num += dr / rr;
    den += dd / rr;
  }
  if (stats.length === 0 || !(den > 0)) throw invalid('validation sequences are too short (or static) to fit a residual scale');
  const raw = num / den;
  const alpha = Math.min(1, Math.max(0, raw));
  const ratio = (s: { dr: number; dd: number; rr: number }, a: number): number => (a * a * s.dd - 2 * a * s.dr + s.rr) / s.rr;
  return { alpha, raw, perHorizon: stats.map((s) => ({ h: s.h, ratioAt1: ratio(s, 1), ratioAtAlpha: ratio(s, alpha) })) };
}

const invalid = (msg: string): ModelError => new ModelError(ModelErrorCode.INVALID_ARGS, msg);
