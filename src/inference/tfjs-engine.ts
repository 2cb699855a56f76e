/**
 * The real engine, run inside each inference worker: selects the tfjs backend for this thread, loads
 * the base checkpoint, and serves batches through models/batched-inference.ts (shared base weights,
 * per-patient low-rank adapters, MC-dropout). Rows arrive as raw feature rows and are normalised here
 * with the base checkpoint's normalisation, the one the adapters were trained against.
 */
import type { BackendPreference } from '../../models/backend.js';
import { selectBackend } from '../../models/backend.js';
import { createBatchedInference } from '../../models/batched-inference.js';
import type { AdapterWeights as ModelAdapterWeights } from '../../models/adapters.js';
import { loadCheckpoint } from '../../models/checkpoint.js';
import { normalizeRows } from '../../models/dataset.js';
import type { BatchEngine, EngineInit } from './engine.js';
import { InferenceError, InferenceErrorCode } from './errors.js';

/** Structured-cloneable options of the tfjs engine (the service's `engine.options`). */
export interface TfjsEngineOptions {
  /** Base checkpoint directory (kind 'base'). */
  readonly checkpointDir: string;
  /** Prediction horizons in frames, ascending (config.horizons: one setting for every consumer). */
  readonly horizons: readonly number[];
  /** MC-dropout passes (config.mcPasses). */
  readonly passes: number;
  /** Seeds the dropout masks of this worker. Default 0. */
  readonly seed?: number;
}

// No default horizons or passes here: they come from the configuration (src/config.ts), so the live
// engine, the retrain gate and the benchmarks cannot silently disagree.
function parseOptions(raw: unknown): TfjsEngineOptions {
  const o = raw as Partial<TfjsEngineOptions> | undefined;
  const bad = (msg: string): never => {
    throw new InferenceError(InferenceErrorCode.INVALID_OPTIONS, `tfjs engine: ${msg}`);
  };
  if (!o || typeof o.checkpointDir !== 'string' || o.checkpointDir === '') return bad('needs options.checkpointDir (a base checkpoint directory)');
  const h = o.horizons;
  if (!Array.isArray(h) || h.length === 0 || h.some((v, i) => !Number.isInteger(v) || v < 1 || (i > 0 && v <= (h[i - 1] as number))))
    return bad(`options.horizons must be ascending integers ≥ 1, got ${JSON.stringify(h)}`);
  if (!Number.isInteger(o.passes) || (o.passes as number) < 1) return bad(`options.passes must be an integer ≥ 1, got ${JSON.stringify(o.passes)}`);
  return o as TfjsEngineOptions;
}

export async function createEngine(init: EngineInit): Promise<BatchEngine> {
  const o = parseOptions(init.options);
  const backend = await selectBackend(init.backend as BackendPreference | undefined);
  const ck = await loadCheckpoint(o.checkpointDir);
  if (ck.kind !== 'base') {
    throw new InferenceError(InferenceErrorCode.INVALID_OPTIONS, `${o.checkpointDir} is a ${ck.kind} checkpoint; the engine serves a base model`);
  }
  const bi = createBatchedInference(ck, {
    horizons: o.horizons,
    passes: o.passes,
    ...(o.seed !== undefined ? { seed: o.seed } : {}),
  });
  const F = bi.config.featureDim;
  const L = bi.config.latentDim;
  const H = bi.horizons.length;
  return {
    backend,
    featureDim: F,
    featureNames: ck.featureNames,
    latentDim: L,
    horizons: bi.horizons,
    setAdapter: (patientId, weights) => bi.setAdapter(patientId, weights as ModelAdapterWeights | null),
    run(batch) {
      const xn = normalizeRows(batch.x.subarray(0, batch.n * F), ck.normalization);
      const rows = batch.patients.map((patient, i) => ({ x: xn.subarray(i * F, (i + 1) * F), patient }));
      const res = bi.run(rows);
      const latent = new Float32Array(batch.n * L);
      const predictions = new Float32Array(batch.n * H * L);
      const uncertainty = new Float32Array(batch.n);
      res.forEach((r, i) => {
        latent.set(r.latent, i * L);
        r.predictions.forEach((p, k) => predictions.set(p, (i * H + k) * L));
        uncertainty[i] = r.uncertainty;
      });
      return { latent, predictions, uncertainty };
    },
    dispose: () => bi.dispose(),
  };
}
