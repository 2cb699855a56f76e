/**
 * The contract between the inference service and the math that runs inside each worker thread.
 * A worker imports an engine module (by URL) that exports `createEngine(init)`; the real one is
 * ./tfjs-engine.ts (models/batched-inference.ts on a tfjs backend), tests use a tiny pure engine.
 * Everything crossing the thread boundary is structured-cloneable; big arrays are transferred.
 */

/** Per-patient adapter weights, engine-defined and structured-cloneable (models/adapters.ts AdapterWeights for the real engine). */
export type AdapterWeights = object;

/** What a worker passes to `createEngine`. */
export interface EngineInit {
  /** Backend preference for models/backend.ts `selectBackend` (undefined = default order). */
  readonly backend: 'tensorflow' | 'wasm' | 'cpu' | undefined;
  /** Engine-specific, structured-cloneable options (e.g. the base checkpoint directory). */
  readonly options: unknown;
}

/** One batch as the engine sees it: n rows packed row-major. */
export interface EngineBatch {
  readonly n: number;
  /** n × featureDim */
  readonly x: Float32Array;
  /** Per row: the patient whose adapter applies, or null for the shared base model. */
  readonly patients: readonly (string | null)[];
  /**
   * n × 60 world poses of the rows' own frames (20 canonical joints × xyz, metres; a NaN row = none),
   * sent only to an engine that decodesPoses: its predictions are decoded relative to them.
   */
  readonly poses?: Float32Array;
}

/** Packed engine output for a batch of n rows; H = horizons.length, D = latentDim. */
export interface EngineOutput {
  /** n × D latents (dropout off). */
  readonly latent: Float32Array;
  /** n × H × D mean predicted latents, horizon-major within a row. */
  readonly predictions: Float32Array;
  /** n uncertainties (mean std across MC passes, averaged over the horizons). */
  readonly uncertainty: Float32Array;
  /** n × H uncertainties per horizon (mean std across MC passes). */
  readonly horizonUncertainty: Float32Array;
  /** n × H × 60 predicted world poses, horizon-major within a row, when the batch carried poses (NaN rows where it had none). */
  readonly poses?: Float32Array;
}

export interface BatchEngine {
  /** Active backend name as reported by selectBackend (or 'js' for pure engines). */
  readonly backend: string;
  readonly featureDim: number;
  /** Column names the model was trained on (checkpoint feature_names), when the engine knows them. */
  readonly featureNames?: readonly string[];
  readonly latentDim: number;
  /** Prediction horizons in frames, ascending. */
  readonly horizons: readonly number[];
  /** Whether run() decodes predictions to world poses (it then wants EngineBatch.poses). */
  readonly decodesPoses?: boolean;
  /** Installs (or with null removes) a patient's adapter; called only between batches. */
  setAdapter(patientId: string, weights: AdapterWeights | null): void;
  run(batch: EngineBatch): EngineOutput | Promise<EngineOutput>;
  dispose?(): void;
}

/** The shape of an engine module's exports. */
export interface EngineModule {
  createEngine(init: EngineInit): BatchEngine | Promise<BatchEngine>;
}

/** Floats per decoded pose: 20 canonical joints × xyz (models/probe-pose.ts POSE_DIM). */
export const POSE_FLOATS = 60;

/** Checks an engine's output against the batch; returns a message for the first problem, else null. */
export function engineOutputProblem(e: Pick<BatchEngine, 'latentDim' | 'horizons'>, n: number, out: EngineOutput, posesWanted = false): string | null {
  const d = e.latentDim;
  const H = e.horizons.length;
  if (out.latent.length !== n * d) return `latent has ${out.latent.length} values, expected ${n}×${d}`;
  const p = n * H * d;
  if (out.predictions.length !== p) return `predictions have ${out.predictions.length} values, expected ${p}`;
  if (out.uncertainty.length !== n) return `uncertainty has ${out.uncertainty.length} values, expected ${n}`;
  if (out.horizonUncertainty.length !== n * H) return `horizonUncertainty has ${out.horizonUncertainty.length} values, expected ${n}×${H}`;
  if (posesWanted && out.poses === undefined) return 'poses are missing (the batch carried poses to decode)';
  if (out.poses !== undefined && out.poses.length !== n * H * POSE_FLOATS) return `poses have ${out.poses.length} values, expected ${n}×${H}×${POSE_FLOATS}`;
  return null;
}

/**
 * The adapters an engine holds, as batch messages installed and removed them, so that a failed batch
 * can drop them all. After a failure the service forgets what the engine holds and resends what its
 * next batches need; an adapter left behind would be one it no longer tracks, never removed when its
 * patient is evicted, and enough of them would reach the engine's capacity.
 */
export class HeldAdapters {
  private readonly held = new Set<string>();

  constructor(private readonly engine: Pick<BatchEngine, 'setAdapter'>) {}

  get size(): number {
    return this.held.size;
  }

  /** Applies a batch's removals, then its installs (an install counts as held before it is tried: a throw may leave part of it). */
  apply(msg: {
    readonly remove: readonly string[];
    readonly install: readonly { readonly patientId: string; readonly adapter: AdapterWeights | null }[];
  }): void {
    for (const p of msg.remove) {
      this.engine.setAdapter(p, null);
      this.held.delete(p);
    }
    for (const { patientId, adapter } of msg.install) {
      if (adapter) this.held.add(patientId);
      this.engine.setAdapter(patientId, adapter);
      if (!adapter) this.held.delete(patientId);
    }
  }

  /** Removes every adapter it installed; one that cannot be removed is left (the engine is failing anyway). */
  dropAll(): void {
    for (const p of this.held) {
      try {
        this.engine.setAdapter(p, null);
      } catch {
        // nothing better to do: the next batch's installs replace it if its patient comes back
      }
    }
    this.held.clear();
  }
}
