/**
 * A fixed set of inference worker threads, each with at most one batch in flight. A worker that dies
 * fails its in-flight batch (the caller sheds those rows) and is replaced, at most `maxRestarts` times
 * over the pool's life, so a crashing engine cannot spin.
 */
import { Worker } from 'node:worker_threads';
import { InferenceError, InferenceErrorCode } from './errors.js';
import type { BatchMessage, WorkerInit, WorkerReply } from './worker-protocol.js';

export interface EngineInfo {
  readonly backend: string;
  readonly featureDim: number;
  readonly featureNames: readonly string[] | null;
  readonly latentDim: number;
  readonly horizons: readonly number[];
  /** The engine decodes predicted poses: batches carry the rows' current poses. */
  readonly decodesPoses: boolean;
}

export interface BatchReply {
  readonly latent: Float32Array;
  readonly predictions: Float32Array;
  readonly uncertainty: Float32Array;
  readonly horizonUncertainty: Float32Array;
  readonly poses?: Float32Array;
  readonly ms: number;
}

export interface PoolWorker {
  readonly index: number;
  /** Patient → adapter version this worker holds (the service keeps it in step with what it sent). */
  readonly adapters: Map<string, number>;
  readonly busy: boolean;
}

interface Slot extends PoolWorker {
  worker: Worker;
  busy: boolean;
  dead: boolean;
  inflight: { id: number; resolve: (r: BatchReply) => void; reject: (e: unknown) => void } | null;
  adapters: Map<string, number>;
}

/**
 * How to start a worker for `entry`: .ts entries go through ./worker-bootstrap.mjs, which registers tsx
 * (a dependency) inside the worker first — on Node 20 `execArgv: ['--import', 'tsx']` does not reach a
 * worker's entry module. Compiled .js/.mjs entries start directly.
 */
export function workerSpawnSpec(entry: URL, init: WorkerInit): { file: URL; workerData: { entry: string; init: WorkerInit } } {
  const file = entry.pathname.endsWith('.ts') ? new URL('./worker-bootstrap.mjs', import.meta.url) : entry;
  return { file, workerData: { entry: entry.href, init } };
}

export class WorkerPool {
  private readonly slots: Slot[] = [];
  private restarts = 0;
  private closed = false;
  info: EngineInfo | null = null;

  private constructor(
    private readonly entry: URL,
    private readonly init: WorkerInit,
    private readonly maxRestarts: number,
    private readonly onIdle: () => void,
    private readonly onWorkerExit: (index: number, err: unknown) => void,
  ) {}

  /** Starts `count` workers and waits until every engine reports ready. */
  static async start(opts: {
    count: number;
    entry: URL;
    init: WorkerInit;
    maxRestarts: number;
    onIdle: () => void;
    onWorkerExit: (index: number, err: unknown) => void;
  }): Promise<WorkerPool> {
    const pool = new WorkerPool(opts.entry, opts.init, opts.maxRestarts, opts.onIdle, opts.onWorkerExit);
    const started = await Promise.allSettled(Array.from({ length: opts.count }, (_, i) => pool.spawn(i)));
    const failed = started.find((r): r is PromiseRejectedResult => r.status === 'rejected');
    if (failed) {
      await pool.close();
      throw failed.reason;
    }
    return pool;
  }

  get workers(): readonly PoolWorker[] {
    return this.slots;
  }

  get restartCount(): number {
    return this.restarts;
  }

  get alive(): number {
    return this.slots.filter((s) => !s.dead).length;
  }

  idle(): PoolWorker | null {
    return this.slots.find((s) => !s.busy) ?? null;
  }

  busyCount(): number {
    return this.slots.filter((s) => s.busy).length;
  }

  /** Sends one batch to an idle worker; `x` is transferred (the caller must not reuse it). */
  run(w: PoolWorker, msg: BatchMessage): Promise<BatchReply> {
    const slot = this.slots[w.index];
    if (!slot || slot.busy) throw new Error(`worker ${w.index} is not idle`);
    slot.busy = true;
    return new Promise<BatchReply>((resolve, reject) => {
      slot.inflight = { id: msg.id, resolve, reject };
      slot.worker.postMessage(msg, [msg.x.buffer as ArrayBuffer, ...(msg.poses ? [msg.poses.buffer as ArrayBuffer] : [])]);
    });
  }

  async close(): Promise<void> {
    this.closed = true;
    await Promise.all(this.slots.map((s) => s.worker.terminate()));
  }

  private spawn(index: number): Promise<void> {
    const spec = workerSpawnSpec(this.entry, this.init);
    const worker = new Worker(spec.file, { workerData: spec.workerData });
    // busy until the engine reports ready, so nothing is dispatched to a starting worker
    const slot: Slot = { index, worker, busy: true, dead: false, inflight: null, adapters: new Map() };
    this.slots[index] = slot;
    return new Promise<void>((resolve, reject) => {
      let ready = false;
      worker.on('message', (m: WorkerReply) => {
        if (m.type === 'ready') {
          ready = true;
          this.info ??= {
            backend: m.backend,
            featureDim: m.featureDim,
            featureNames: m.featureNames,
            latentDim: m.latentDim,
            horizons: m.horizons,
            decodesPoses: m.decodesPoses,
          };
          slot.busy = false;
          resolve();
          this.onIdle();
        } else if (m.type === 'init-error') {
          reject(new InferenceError(InferenceErrorCode.WORKER_START_FAILED, `inference worker ${index} failed to start: ${m.message}`));
          void worker.terminate();
        } else if (m.type === 'result' || m.type === 'batch-error') {
          const job = slot.inflight;
          if (!job || job.id !== m.id) return;
          slot.inflight = null;
          slot.busy = false;
          // After a failure the worker may hold only part of the adapter changes: the service resends all.
          if (m.type === 'batch-error') slot.adapters.clear();
          if (m.type === 'result') {
            const { latent, predictions, uncertainty, horizonUncertainty, poses, ms } = m;
            job.resolve({ latent, predictions, uncertainty, horizonUncertainty, ...(poses ? { poses } : {}), ms });
          } else job.reject(new InferenceError(InferenceErrorCode.ENGINE_OUTPUT, `batch ${m.id} failed in worker ${index}: ${m.message}`));
          this.onIdle();
        }
      });
      worker.on('error', (err) => {
        if (!ready) reject(new InferenceError(InferenceErrorCode.WORKER_START_FAILED, `inference worker ${index} crashed while starting`, { cause: err }));
        this.fail(slot, err);
      });
      worker.on('exit', (code) => {
        if (!ready) reject(new InferenceError(InferenceErrorCode.WORKER_START_FAILED, `inference worker ${index} exited with code ${code} while starting`));
        this.fail(slot, new Error(`worker exited with code ${code}`));
        if (ready && !this.closed && this.slots[index] === slot) this.replace(index);
      });
    });
  }

  private fail(slot: Slot, err: unknown): void {
    if (slot.dead) return; // 'error' is followed by 'exit'
    slot.dead = true;
    const job = slot.inflight;
    slot.inflight = null;
    slot.busy = true; // dead until replaced
    if (job) job.reject(new InferenceError(InferenceErrorCode.ENGINE_OUTPUT, `worker ${slot.index} died with batch ${job.id} in flight`, { cause: err }));
    if (!this.closed) this.onWorkerExit(slot.index, err);
  }

  private replace(index: number): void {
    if (this.restarts >= this.maxRestarts) return;
    this.restarts++;
    this.spawn(index).catch((err: unknown) => this.onWorkerExit(index, err));
  }
}
