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
}

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
  | { readonly type: 'batch-error'; readonly id: number; readonly message: string };
