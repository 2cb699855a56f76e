/**
 * Per-patient low-rank adapters (LoRA) on a frozen base model: W_eff = W + (α/r)·A·B with A in×r,
 * B r×out. B starts at zero so an untrained adapter reproduces the base exactly. Adapters are what a
 * patient checkpoint stores, and what batched inference applies per row on top of the shared base.
 */
import * as tf from '@tensorflow/tfjs-core';
import { ModelError, ModelErrorCode } from './errors.js';
import { createRng, uniformArray } from './rng.js';
import { variableFrom, type LinearWeights, type MlpLowRank, type MlpWeights, type WorldModelConfig, type WorldModelWeights } from './world-model.js';

/** Rank 4 on all four layers: 4·(F+128 + 128+64 + 65+128 + 128+64) ≈ 3.5k values per patient at F = 160. */
export const DEFAULT_ADAPTER_RANK = 4;
export const ADAPTER_LAYERS = ['encoder.fc1', 'encoder.fc2', 'predictor.fc1', 'predictor.fc2'] as const;
/**
 * All four layers. Measured (fukuchi WBDS19 treadmill walking as the patient, base trained on five
 * other subjects' recordings, 20 epochs, held-out last 800 frames, normalised latent MSE at Δh = 1/10/30):
 * base 0.89/1.35/2.31; encoder.fc1 only 1.16/0.94/1.50; encoder fc1+fc2 0.79/0.81/1.33; predictor only
 * 0.22/0.60/0.96; all four 0.19/0.45/0.89 (full fine-tuning 0.07/0.31/0.70). The target encoder stays the
 * base's in adapter training, so the patient's dynamics are mostly learnt by the predictor adapters.
 * Batched inference costs ~1.2–1.35× the CPU of the encoder.fc1-only variant with the wasm kernels
 * (adapters-all 4.1–5.0 CPU ms per batch of 64 patients vs 9.4–12.0 with plain tfjs ops, `npm run
 * bench:batched`, two runs at load average ≈ 9–11).
 */
export const DEFAULT_ADAPTER_LAYERS: readonly AdapterLayer[] = ADAPTER_LAYERS;

export type AdapterLayer = (typeof ADAPTER_LAYERS)[number];

export interface AdapterArgs {
  /** r. Default DEFAULT_ADAPTER_RANK. */
  readonly rank?: number;
  /** Which layers get an adapter. Default DEFAULT_ADAPTER_LAYERS. */
  readonly layers?: readonly AdapterLayer[];
  /** α; the update is scaled by α/r. Default α = r (scale 1). */
  readonly alpha?: number;
}

export interface LowRankWeights {
  /** inDim×rank row-major. */
  readonly a: Float32Array;
  /** rank×outDim row-major. */
  readonly b: Float32Array;
  readonly inDim: number;
  readonly outDim: number;
}

/** Plain-data adapter (serialisable). */
export interface AdapterWeights {
  readonly rank: number;
  readonly alpha: number;
  readonly layers: Partial<Record<AdapterLayer, LowRankWeights>>;
}

export function adapterScale(a: AdapterWeights): number {
  return a.alpha / a.rank;
}

function layerOf(w: WorldModelWeights, name: AdapterLayer): LinearWeights {
  const [mlp, fc] = name.split('.') as ['encoder' | 'predictor', 'fc1' | 'fc2'];
  return w[mlp][fc];
}

function layerDims(c: WorldModelConfig, name: AdapterLayer): [number, number] {
  switch (name) {
    case 'encoder.fc1':
      return [c.featureDim, c.hiddenDim];
    case 'encoder.fc2':
      return [c.hiddenDim, c.latentDim];
    case 'predictor.fc1':
      return [c.latentDim + 1, c.hiddenDim];
    case 'predictor.fc2':
      return [c.hiddenDim, c.latentDim];
  }
}

/** A fresh adapter: A ~ U(−1/√in, 1/√in) (seeded), B = 0. */
export function initAdapter(config: WorldModelConfig, args: AdapterArgs = {}, seed = 0): AdapterWeights {
  const rank = args.rank ?? DEFAULT_ADAPTER_RANK;
  const alpha = args.alpha ?? rank;
  const names = args.layers ?? DEFAULT_ADAPTER_LAYERS;
  if (!Number.isInteger(rank) || rank < 1) throw new ModelError(ModelErrorCode.INVALID_ARGS, `adapter rank must be a positive integer, got ${rank}`);
  if (names.length === 0) throw new ModelError(ModelErrorCode.INVALID_ARGS, 'adapter needs at least one layer');
  const rng = createRng(seed);
  const layers: Partial<Record<AdapterLayer, LowRankWeights>> = {};
  for (const name of names) {
    if (!ADAPTER_LAYERS.includes(name)) throw new ModelError(ModelErrorCode.INVALID_ARGS, `unknown adapter layer '${name}'`);
    const [inDim, outDim] = layerDims(config, name);
    const k = 1 / Math.sqrt(inDim);
    layers[name] = { a: uniformArray(rng, inDim * rank, -k, k), b: new Float32Array(rank * outDim), inDim, outDim };
  }
  return { rank, alpha, layers };
}

/** Checks an adapter fits a model configuration; throws a coded ModelError naming the layer otherwise. */
export function checkAdapter(config: WorldModelConfig, adapter: AdapterWeights): void {
  if (!Number.isInteger(adapter.rank) || adapter.rank < 1 || !Number.isFinite(adapter.alpha)) {
    throw new ModelError(ModelErrorCode.INVALID_ARGS, `adapter rank must be a positive integer and alpha finite, got ${adapter.rank}, ${adapter.alpha}`);
  }
  for (const name of Object.keys(adapter.layers)) {
    if (!(ADAPTER_LAYERS as readonly string[]).includes(name)) throw new ModelError(ModelErrorCode.INVALID_ARGS, `unknown adapter layer '${name}'`);
    const l = adapter.layers[name as AdapterLayer];
    if (!l) continue;
    const [i, o] = layerDims(config, name as AdapterLayer);
    if (l.inDim !== i || l.outDim !== o || l.a.length !== i * adapter.rank || l.b.length !== adapter.rank * o) {
      throw new ModelError(ModelErrorCode.SHAPE_MISMATCH, `adapter ${name}: expected ${i}×${adapter.rank} and ${adapter.rank}×${o}`);
    }
  }
}

/**
 * Base weights with the adapter folded in (W + (α/r)·A·B), for export in the standard fields. The
 * target encoder is left as the base's: adapter training keeps the base target frozen.
 */
export function mergeAdapter(base: WorldModelWeights, adapter: AdapterWeights): WorldModelWeights {
  const scale = adapterScale(adapter);
  const merged = (name: AdapterLayer): LinearWeights => {
    const l = layerOf(base, name);
    const ad = adapter.layers[name];
    if (!ad) return { ...l, w: l.w.slice(), b: l.b.slice() };
    const w = new Float32Array(l.w.length);
    const r = adapter.rank;
    for (let i = 0; i < l.inDim; i++) {
      for (let j = 0; j < l.outDim; j++) {
        let s = 0;
        for (let k = 0; k < r; k++) s += (ad.a[i * r + k] ?? 0) * (ad.b[k * l.outDim + j] ?? 0);
        w[i * l.outDim + j] = (l.w[i * l.outDim + j] ?? 0) + scale * s;
      }
    }
    return { ...l, w, b: l.b.slice() };
  };
  const mlp = (m: 'encoder' | 'predictor'): MlpWeights => ({ fc1: merged(`${m}.fc1`), fc2: merged(`${m}.fc2`) });
  const t = base.targetEncoder;
  return {
    encoder: mlp('encoder'),
    predictor: mlp('predictor'),
    targetEncoder: { fc1: { ...t.fc1, w: t.fc1.w.slice(), b: t.fc1.b.slice() }, fc2: { ...t.fc2, w: t.fc2.w.slice(), b: t.fc2.b.slice() } },
  };
}

/** Runtime adapter: tf.Variables for A and B of each adapted layer. dispose() when done. */
export class AdapterParams {
  readonly vars: Partial<Record<AdapterLayer, { a: tf.Variable; b: tf.Variable }>> = {};

  constructor(
    readonly weights: AdapterWeights,
    trainable = true,
  ) {
    for (const name of Object.keys(weights.layers) as AdapterLayer[]) {
      const l = weights.layers[name];
      if (!l) continue;
      this.vars[name] = {
        a: variableFrom(tf.tensor2d(l.a, [l.inDim, weights.rank]), trainable),
        b: variableFrom(tf.tensor2d(l.b, [weights.rank, l.outDim]), trainable),
      };
    }
  }

  trainableVariables(): tf.Variable[] {
    return Object.values(this.vars).flatMap((v) => (v ? [v.a, v.b] : []));
  }

  /** Low-rank terms for mlpForward/predictorForward. */
  lowRank(mlp: 'encoder' | 'predictor'): MlpLowRank {
    const scale = adapterScale(this.weights);
    const get = (fc: 'fc1' | 'fc2') => {
      const v = this.vars[`${mlp}.${fc}`];
      return v ? { a: v.a as tf.Tensor2D, b: v.b as tf.Tensor2D, scale } : undefined;
    };
    const fc1 = get('fc1');
    const fc2 = get('fc2');
    return { ...(fc1 ? { fc1 } : {}), ...(fc2 ? { fc2 } : {}) };
  }

  /** Current values as plain arrays (copies). */
  getWeights(): AdapterWeights {
    const layers: Partial<Record<AdapterLayer, LowRankWeights>> = {};
    for (const name of Object.keys(this.vars) as AdapterLayer[]) {
      const v = this.vars[name];
      const l = this.weights.layers[name];
      if (!v || !l) continue;
      layers[name] = { a: (v.a.dataSync() as Float32Array).slice(), b: (v.b.dataSync() as Float32Array).slice(), inDim: l.inDim, outDim: l.outDim };
    }
    return { rank: this.weights.rank, alpha: this.weights.alpha, layers };
  }

  dispose(): void {
    tf.dispose(this.trainableVariables());
  }
}
