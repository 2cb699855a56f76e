/**
 * A fixed set of inference worker threads, each running one batch and holding at most one more queued
 * behind it (MAX_BATCHES_PER_WORKER): a worker with a batch behind starts it the moment the one before
 * ends, without waiting for the main thread to take the results and send the next — on a busy box the
 * main thread can wait milliseconds for a core. A worker that dies fails its batches in flight (the
 * caller sheds those rows) and is replaced, at most `maxRestarts` times over the pool's life, so a
 * crashing engine cannot spin.
 */
import { Worker } from 'node:worker_threads';
import { InferenceError, InferenceErrorCode } from './errors.js';
import type { BatchMessage, BatchRequest, WorkerInit, WorkerReply } from './worker-protocol.js';

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

/** A running batch and the one queued behind it; more would only wait longer inside the worker. */
export const MAX_BATCHES_PER_WORKER = 2;

interface Slot extends PoolWorker {
  worker: Worker;
  busy: boolean;
  dead: boolean;
  /** Batches sent and not answered, oldest first (the worker runs them in this order). */
  inflight: { id: number; resolve: (r: BatchReply) => void; reject: (e: unknown) => void }[];
  adapters: Map<string, number>;
  /** Failed batches reported by this worker so far: a batch sent with fewer was built on adapter state the failure may have broken. */
  failures: number;
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

  /** A worker with no batch in flight. */
  idle(): PoolWorker | null {
    return this.slots.find((s) => !s.busy) ?? null;
  }

  /** A live worker running a batch with room for one more behind it. */
  withRoomBehind(): PoolWorker | null {
    return this.slots.find((s) => !s.dead && s.inflight.length > 0 && s.inflight.length < MAX_BATCHES_PER_WORKER) ?? null;
  }

  busyCount(): number {
    return this.slots.filter((s) => s.busy).length;
  }

  /**
   * Sends one batch to a worker that is idle or has room behind its batch; `x` is transferred (the caller
   * must not reuse it). The message carries the worker's failure count as the service knew it.
   */
  run(w: PoolWorker, msg: BatchRequest): Promise<BatchReply> {
    const slot = this.slots[w.index];
    if (!slot || slot.dead || (slot.busy && slot.inflight.length === 0) || slot.inflight.length >= MAX_BATCHES_PER_WORKER)
      throw new Error(`worker ${w.index} cannot take a batch`);
    slot.busy = true;
    const full: BatchMessage = { ...msg, failuresSeen: slot.failures };
    return new Promise<BatchReply>((resolve, reject) => {
      slot.inflight.push({ id: msg.id, resolve, reject });
      slot.worker.postMessage(full, [msg.x.buffer as ArrayBuffer, ...(msg.poses ? [msg.poses.buffer as ArrayBuffer] : [])]);
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
    const slot: Slot = { index, worker, busy: true, dead: false, inflight: [], adapters: new Map(), failures: 0 };
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
          const job = slot.inflight[0];
          if (!job || job.id !== m.id) return;
          slot.inflight.shift();
          slot.busy = slot.inflight.length > 0;
          // After a failure the worker may hold only part of the adapter changes: the service resends all,
          // and the worker refuses what was sent before this reply (BatchMessage.failuresSeen).
          if (m.type === 'batch-error' && !m.stale) {
            slot.adapters.clear();
            slot.failures++;
          }
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
    const jobs = slot.inflight;
    slot.inflight = [];
    slot.busy = true; // dead until replaced
    for (const job of jobs)
      job.reject(new InferenceError(InferenceErrorCode.ENGINE_OUTPUT, `worker ${slot.index} died with batch ${job.id} in flight`, { cause: err }));
    if (!this.closed) this.onWorkerExit(slot.index, err);
  }

  private replace(index: number): void {
    if (this.restarts >= this.maxRestarts) return;
    this.restarts++;
    this.spawn(index).catch((err: unknown) => this.onWorkerExit(index, err));
  }
}
