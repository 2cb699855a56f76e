/**
 * The real engine, run inside each inference worker: selects the tfjs backend for this thread, loads
 * the base checkpoint, and serves batches through models/batched-inference.ts (shared base weights,
 * per-patient low-rank adapters, MC-dropout). Rows arrive as raw feature rows and are normalised here
 * with the base checkpoint's normalisation, the one the adapters were trained against. With `poses`,
 * the probe decoder stored beside the checkpoint (probe.npz, written by `jepa-motion train` and
 * build:pretrained) decodes every prediction to a world pose in the same batch.
 */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { BackendPreference } from '../../models/backend.js';
import { selectBackend } from '../../models/backend.js';
import { createBatchedInference } from '../../models/batched-inference.js';
import type { AdapterWeights as ModelAdapterWeights } from '../../models/adapters.js';
import { loadCheckpoint } from '../../models/checkpoint.js';
import { normalizeRows } from '../../models/dataset.js';
import { probeFromNpz, type ProbeDecoder } from '../../models/probe-decoder.js';
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
  /** Decode predictions to world poses with `<checkpointDir>/probe.npz` (required then). Default false. */
  readonly poses?: boolean;
}

/** The probe decoder beside a checkpoint; INVALID_OPTIONS naming the file when it is missing or unreadable. */
export async function loadProbe(checkpointDir: string): Promise<ProbeDecoder> {
  const file = join(checkpointDir, 'probe.npz');
  try {
    return probeFromNpz(await readFile(file));
  } catch (cause) {
    const why =
      (cause as { code?: unknown }).code === 'ENOENT' ? 'does not exist' : `is unreadable (${cause instanceof Error ? cause.message : String(cause)})`;
    throw new InferenceError(
      InferenceErrorCode.INVALID_OPTIONS,
      `${file} ${why}: live predicted poses need the model's probe decoder (written by jepa-motion train); set LIVE_POSES=0 to serve without them`,
      { cause },
    );
  }
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
  const probe = o.poses === true ? await loadProbe(o.checkpointDir) : undefined;
  const bi = createBatchedInference(ck, {
    horizons: o.horizons,
    passes: o.passes,
    ...(o.seed !== undefined ? { seed: o.seed } : {}),
    ...(probe ? { probe } : {}),
  });
  const F = bi.config.featureDim;
  return {
    backend,
    featureDim: F,
    featureNames: ck.featureNames,
    latentDim: bi.config.latentDim,
    horizons: bi.horizons,
    decodesPoses: bi.decodesPoses,
    setAdapter: (patientId, weights) => bi.setAdapter(patientId, weights as ModelAdapterWeights | null),
    run(batch) {
      const x = normalizeRows(batch.x.subarray(0, batch.n * F), ck.normalization);
      const { latent, predictions, uncertainty, horizonUncertainty, poses } = bi.runPacked({
        n: batch.n,
        x,
        patients: batch.patients,
        ...(batch.poses ? { poses: batch.poses } : {}),
      });
      return { latent, predictions, uncertainty, horizonUncertainty, ...(poses ? { poses } : {}) };
    },
    dispose: () => bi.dispose(),
  };
}
