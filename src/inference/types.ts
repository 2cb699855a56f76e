/** Public types of the inference service (what src/sessions and /metrics use). */
import type { SchedulerLike } from 'rxjs';
import type { HistogramData } from './inference-stats.js';
import type { PatientModel } from './model-cache.js';

export interface InferenceRequest {
  readonly sessionId: string;
  readonly patientId: string;
  /** Frame sequence number within the session (integer ≥ 0); horizons count in seq steps. */
  readonly seq: number;
  /** One feature row, length = the engine's featureDim, finite values. Copied at submit. */
  readonly x: Float32Array;
  /**
   * The frame's world pose (20 canonical joints × xyz, metres, NaN = joint missing), when the caller wants
   * its predictions decoded to poses (an engine that decodesPoses). Copied at submit.
   */
  readonly pose?: Float32Array;
}

export interface HorizonPrediction {
  /** Frames ahead. */
  readonly horizon: number;
  /** Mean predicted latent over the MC-dropout passes. */
  readonly latent: Float32Array;
  /** This horizon's MC-dropout uncertainty (mean over dims of the std across passes). */
  readonly uncertainty: number;
  /**
   * Predicted world pose at this horizon (20 × 3, metres; models/batched-inference.ts decodeWorldPoses:
   * the frame's pose plus the probe-decoded predicted change), when the request carried its pose and the
   * engine decodes poses.
   */
  readonly pose?: Float32Array;
}

export interface InferenceResult {
  readonly shed: false;
  readonly sessionId: string;
  readonly seq: number;
  readonly latent: Float32Array;
  readonly predictions: readonly HorizonPrediction[];
  /** Mean std of the predicted latents across MC-dropout passes. */
  readonly uncertainty: number;
  /** Distance from this latent to what an earlier frame predicted for it; null when none was. */
  readonly surprise: number | null;
  /** Horizon of the prediction surprise was measured against; null with surprise. */
  readonly surpriseHorizon: number | null;
  /** Ref of the model that served the row ('base' when the patient had none loaded yet). */
  readonly model: string;
  /** Rows in the batch this row ran in. */
  readonly batchSize: number;
  /** Submit to result, scheduler clock, ms. */
  readonly latencyMs: number;
}

/** Why a row was not inferred. Every shed row resolves (never rejects), so the session can answer it. */
export const ShedReason = {
  /** Queue full: dropped the oldest row of the session with the most queued rows. */
  QUEUE_FULL: 'queue_full',
  /** Waited longer than maxQueueAgeMs: its answer would be too late to be live feedback. */
  STALE: 'stale',
  /** The engine failed on the batch, or its worker died with the batch in flight. */
  ENGINE_ERROR: 'engine_error',
  /** Every worker is gone and none can be restarted. */
  NO_WORKERS: 'no_workers',
  /** The service is closing or closed. */
  SHUTDOWN: 'shutdown',
} as const;
export type ShedReason = (typeof ShedReason)[keyof typeof ShedReason];

export interface Shed {
  readonly shed: true;
  readonly reason: ShedReason;
  readonly sessionId: string;
  readonly seq: number;
}

export interface InferenceServiceOptions {
  /** Worker threads; each runs one batch at a time. Default 1. */
  readonly workers?: number;
  /** Rows per batch at most; a full batch dispatches at once. Default 64. */
  readonly maxBatch?: number;
  /** Longest the first queued row waits for a batch to fill. Default 5 ms. */
  readonly maxWaitMs?: number;
  /**
   * Queued rows at most (≥ maxBatch); beyond it rows are shed. Default 512: roughly maxQueueAgeMs of
   * work for one wasm worker, so under overload frames are shed at once rather than after going stale.
   */
  readonly queueLimit?: number;
  /** Rows older than this when a batch is formed are shed as stale. Default 250 ms. */
  readonly maxQueueAgeMs?: number;
  /** Patient models held at once (LRU). Default 256. */
  readonly modelCacheSize?: number;
  /** Backend preference passed to each worker's selectBackend. */
  readonly backend?: 'tensorflow' | 'wasm' | 'cpu';
  /** Engine module (exports createEngine) and its options. Default: ./tfjs-engine.ts. */
  readonly engine?: { readonly module: URL; readonly options: unknown };
  /** Worker replacements over the service's life before giving up. Default 5. */
  readonly maxWorkerRestarts?: number;
  /** A failed background model load is not retried for this long. Default 10 000 ms. */
  readonly modelRetryMs?: number;
  /** Recent latency samples kept for percentiles. Default 4096. */
  readonly latencySamples?: number;
  /**
   * Batches of at most this many rows run on the calling thread (the engine is loaded there too) instead
   * of a worker, while the event loop is less than `inlineMaxUtilization` busy: at small batches a worker
   * round trip costs more than the math. 0 (the default) = always use the workers. ~0.05 ms per row with
   * tfjs-wasm, so 16 rows keep the event loop waiting ≲ 1 ms. The engine module is then also loaded on
   * the calling thread (for the tfjs engine: its own backend selection and base weights there); an engine
   * that blocks or exits the thread would do so to the event loop — the tfjs engine does neither.
   */
  readonly inlineMaxRows?: number;
  /** Event-loop utilisation (0..1, last 250 ms) at or above which every batch goes to a worker. Default 0.5. */
  readonly inlineMaxUtilization?: number;
}

export interface InferenceLogger {
  warn(msg: string, fields?: Record<string, unknown>): void;
  error(msg: string, fields?: Record<string, unknown>): void;
}

export interface InferenceServiceDeps {
  /** Timers and the clock (ms). Default asyncScheduler's timers with performance.now() as the clock. */
  readonly scheduler?: SchedulerLike;
  /** Loads a patient's model: `ref` given by swapModel, else the registry's current one. Default: base for all. */
  readonly loadModel?: (patientId: string, ref: string | undefined) => Promise<PatientModel>;
  readonly logger?: InferenceLogger;
  /** Event-loop utilisation 0..1 for the inline decision. Default: perf_hooks eventLoopUtilization over 250 ms windows. */
  readonly utilization?: () => number;
}

export interface InferenceStats {
  readonly backend: string;
  readonly workers: { readonly count: number; readonly alive: number; readonly busy: number; readonly restarts: number };
  /** Batches (and their rows) run in-process (inlineMaxRows); they are included in batches/rows too. */
  readonly inline: { readonly enabled: boolean; readonly batches: number; readonly rows: number };
  readonly queueDepth: number;
  readonly inflightBatches: number;
  /** Batches finished but held until an earlier batch finishes (results are committed in dispatch order). */
  readonly heldForOrder: number;
  readonly batches: number;
  readonly rows: number;
  readonly batchSize: HistogramData;
  /** Submit-to-result latency of inferred rows. */
  readonly latencyMs: HistogramData;
  /** Time inside the engine per batch. */
  readonly engineMs: HistogramData;
  /** Submit to dispatch per inferred row: waiting for a free worker and for the batch to fill. */
  readonly waitMs: HistogramData;
  /** Dispatch to results committed per batch: the engine, the hand-over both ways, any wait for the CPU or for an earlier batch. */
  readonly batchMs: HistogramData;
  /** Most recent latency samples (ms), for percentiles. */
  readonly latencySamples: readonly number[];
  readonly shed: Readonly<Record<ShedReason, number>>;
  readonly models: { readonly resident: number; readonly loads: number; readonly loadFailures: number; readonly swaps: number; readonly evictions: number };
}

export interface InferenceService {
  /** Active tfjs backend of the workers. */
  readonly backend: string;
  readonly featureDim: number;
  /** The model's feature columns (check them against the session pipeline's featureNames()); null if unknown. */
  readonly featureNames: readonly string[] | null;
  readonly latentDim: number;
  readonly horizons: readonly number[];
  /** Whether results carry decoded predicted poses for requests that send their `pose`. */
  readonly decodesPoses: boolean;
  /** Queues one row; resolves with its result or `{shed: true}`. Rejects (InferenceError BAD_INPUT) only on malformed input. */
  submit(req: InferenceRequest): Promise<InferenceResult | Shed>;
  /** Loads the patient's current model if it is not held; resolves with its ref once it serves the next batch. */
  ensureModel(patientId: string): Promise<string>;
  /** Loads `ref` for the patient; it replaces the old model at the next batch boundary (never mid-batch). */
  swapModel(patientId: string, ref: string): Promise<void>;
  /** Forgets a session's pending predictions. */
  endSession(sessionId: string): void;
  stats(): InferenceStats;
  /** Sheds queued rows ('shutdown'), lets in-flight batches finish, stops the workers. */
  close(): Promise<void>;
}
