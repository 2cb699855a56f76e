/** Messages between the inference service and its worker threads (structured clone; arrays transferred). */
import type { AdapterWeights } from './engine.js';

export interface WorkerInit {
  /** URL (file:) of the engine module the worker imports. */
  readonly engineModule: string;
  readonly backend: 'tensorflow' | 'wasm' | 'cpu' | undefined;
  readonly engineOptions: unknown;
}

export interface BatchMessage {
  readonly type: 'batch';
  readonly id: number;
  readonly n: number;
  /** n × featureDim, transferred. */
  readonly x: Float32Array;
  readonly patients: readonly (string | null)[];
  /** n × 60 world poses of the rows' frames (NaN rows = none), transferred; only to an engine that decodes poses. */
  readonly poses?: Float32Array;
  /** Adapters this worker must install before running (new or newer than its copy). */
  readonly install: readonly { readonly patientId: string; readonly adapter: AdapterWeights | null }[];
  /** Patients whose adapters this worker must drop (evicted from the service's cache). */
  readonly remove: readonly string[];
  /**
   * Failed batches of this worker the service had been told of when it built this one. Fewer than the
   * worker has had: the batch was queued behind one that failed, and its install list assumed that one's
   * installs went through, so the worker answers it `stale` instead of running it on missing adapters.
   */
  readonly failuresSeen: number;
}

/** A batch as the service builds it; the pool adds what the worker it goes to needs (failuresSeen). */
export type BatchRequest = Omit<BatchMessage, 'failuresSeen'>;

export type WorkerReply =
  | {
      readonly type: 'ready';
      readonly backend: string;
      readonly featureDim: number;
      readonly featureNames: readonly string[] | null;
      readonly latentDim: number;
      readonly horizons: readonly number[];
      /** The engine decodes predicted poses (BatchMessage.poses wanted). */
      readonly decodesPoses: boolean;
    }
  | { readonly type: 'init-error'; readonly message: string }
  | {
      readonly type: 'result';
      readonly id: number;
      readonly latent: Float32Array;
      readonly predictions: Float32Array;
      readonly uncertainty: Float32Array;
      readonly horizonUncertainty: Float32Array;
      /** n × H × 60 predicted world poses, when the batch carried poses. */
      readonly poses?: Float32Array;
      /** Engine time inside the worker, ms. */
      readonly ms: number;
    }
  /** `stale`: not run (see BatchMessage.failuresSeen); the worker's adapters are as they were. */
  | { readonly type: 'batch-error'; readonly id: number; readonly message: string; readonly stale?: boolean };
