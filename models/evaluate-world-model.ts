/**
 * Binds a WorldModel (models/world-model.ts + mc-dropout.ts) to the evaluation's EvaluableModel interface,
 * so evaluate.ts stays plain math testable with exact fakes. A patient model (base + adapter) is evaluated
 * as its merged WorldModel (adapters.ts mergeAdapter): the same numbers the merged export serves.
 */
import type { EvaluableModel } from './evaluate.js';
import { DEFAULT_MC_PASSES, mcPredict } from './mc-dropout.js';
import { encode, encodeTarget, predict, type WorldModel } from './world-model.js';

/** Rows per MC call: bounds the P×rows hidden activations (10 × 1024 × 128 floats ≈ 5 MB). */
export const MC_EVAL_CHUNK = 1024;

export interface WorldModelEvalOptions {
  readonly backend: string;
  readonly passes?: number;
  /** Seed of the MC masks; every call starts from it, so an evaluation is reproducible. Default 0. */
  readonly seed?: number;
}

export function evaluableWorldModel(model: WorldModel, opts: WorldModelEvalOptions): EvaluableModel {
  const L = model.config.latentDim;
  const F = model.config.featureDim;
  return {
    backend: opts.backend,
    latentDim: L,
    encode: (x) => encode(model, x),
    encodeTarget: (x) => encodeTarget(model, x),
    predict: (z, dh) => predict(model, z, dh),
    mcPredict: (x, h) => chunkedMc(model, x, h, F, L, opts),
  };
}

function chunkedMc(model: WorldModel, x: Float32Array, h: number, F: number, L: number, opts: WorldModelEvalOptions) {
  const n = x.length / F;
  const mean = new Float32Array(n * L);
  const uncertainty = new Float32Array(n);
  for (let s = 0; s < n; s += MC_EVAL_CHUNK) {
    const e = Math.min(n, s + MC_EVAL_CHUNK);
    const r = mcPredict(model, x.subarray(s * F, e * F), {
      horizons: [h],
      passes: opts.passes ?? DEFAULT_MC_PASSES,
      rng: (opts.seed ?? 0) + s,
    });
    mean.set(r.predictions[0]!, s * L);
    uncertainty.set(r.uncertainty[0]!, s);
  }
  return { mean, uncertainty };
}
