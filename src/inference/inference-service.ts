/**
 * The inference service: rows from every live session are micro-batched (MicroBatcher), run in worker
 * threads (WorkerPool: a batch running per worker, and a full one queued behind it when the service is
 * behind) on a shared-base + per-patient-adapter engine,
 * and answered with latent, predictions, uncertainty and surprise. Results are committed in dispatch
 * order, so every session sees its frames answered in order and surprise is deterministic even when a
 * later batch finishes first on another worker (the reorder buffer holds at most `workers` batches).
 */
import { performance } from 'node:perf_hooks';
import { asyncScheduler, type SchedulerAction, type SchedulerLike, type Subscription } from 'rxjs';
import { POSE_FLOATS } from './engine.js';
import { InferenceError, InferenceErrorCode } from './errors.js';
import { BATCH_SIZE_BOUNDS, Histogram, LATENCY_MS_BOUNDS, SampleRing } from './inference-stats.js';
import { MicroBatcher } from './micro-batcher.js';
import { ModelCache, type PatientModel } from './model-cache.js';
import { ModelLoader } from './model-loader.js';
import { resolveInferenceOptions } from './inference-options.js';
import { SurpriseTracker } from './surprise-tracker.js';
import {
  ShedReason,
  type InferenceRequest,
  type InferenceResult,
  type InferenceService,
  type InferenceServiceDeps,
  type InferenceServiceOptions,
  type InferenceStats,
  type Shed,
} from './types.js';
import { WorkerPool, type BatchReply, type EngineInfo, type PoolWorker } from './worker-pool.js';
import type { BatchRequest } from './worker-protocol.js';
import type { Queued } from './request-queue.js';
import { InlineRunner } from './inline-runner.js';
import { eventLoopUtilization, UTILIZATION_WINDOW_MS } from './event-loop-utilization.js';

const BASE_MODEL: PatientModel = { ref: 'base', adapter: null };

/** asyncScheduler's timers with a sub-millisecond clock, so latency samples are not rounded to 1 ms. */
const preciseScheduler: SchedulerLike = {
  now: () => performance.now(),
  schedule<T>(work: (this: SchedulerAction<T>, state: T) => void, delay?: number, state?: T): Subscription {
    return asyncScheduler.schedule(work as (this: SchedulerAction<T>, state?: T) => void, delay, state);
  },
};

interface Pending {
  readonly req: InferenceRequest;
  readonly x: Float32Array;
  /** The frame's world pose (copied), when the engine decodes poses and the request sent one. */
  readonly pose: Float32Array | undefined;
  readonly submittedAt: number;
  readonly resolve: (r: InferenceResult | Shed) => void;
}

interface Dispatched {
  readonly rows: Queued<Pending>[];
  readonly models: string[];
  readonly dispatchedAt: number;
  outcome: { ok: true; reply: BatchReply } | { ok: false; err: unknown } | null;
}

/** Throws BAD_INPUT (a module function: a closure made per request cost an allocation and, under tsx, a `__name` call). */
function bad(msg: string): never {
  throw new InferenceError(InferenceErrorCode.BAD_INPUT, msg);
}

export async function createInferenceService(opts: InferenceServiceOptions, deps: InferenceServiceDeps = {}): Promise<InferenceService> {
  const o = resolveInferenceOptions(opts);
  const scheduler = deps.scheduler ?? preciseScheduler;
  const loadModel = deps.loadModel ?? (() => Promise.resolve(BASE_MODEL));
  const engine = opts.engine ?? { module: new URL('./tfjs-engine.ts', import.meta.url), options: undefined };

  const batcher = new MicroBatcher<Pending>(
    { maxBatch: o.maxBatch, maxWaitMs: o.maxWaitMs, queueLimit: o.queueLimit, maxAgeMs: o.maxQueueAgeMs },
    scheduler,
    () => pump(),
  );
  const cache = new ModelCache(o.modelCacheSize);
  const shedCounts = Object.fromEntries(Object.values(ShedReason).map((r) => [r, 0])) as Record<ShedReason, number>;
  const counters = { batches: 0, rows: 0 };
  const models = new ModelLoader(cache, loadModel, scheduler, o.modelRetryMs, () => pump());
  const batchSize = new Histogram(BATCH_SIZE_BOUNDS);
  const latency = new Histogram(LATENCY_MS_BOUNDS);
  const engineMs = new Histogram(LATENCY_MS_BOUNDS);
  // Where a row's inference latency goes: waiting to be dispatched (a free worker, the batch wait), then
  // its batch from dispatch to results (the engine, the hand-over both ways and any wait for the CPU).
  const waitMs = new Histogram(LATENCY_MS_BOUNDS);
  const batchMs = new Histogram(LATENCY_MS_BOUNDS);
  const samples = new SampleRing(o.latencySamples);
  const inflight = new Map<number, Dispatched>();
  let nextBatchId = 0;
  let nextCommitId = 0;
  let closing = false;
  let noWorkers = false;
  let pumping = false;
  // Re-entrant calls (onReady fired from inside take) only mark more work; the loop picks it up.
  let again = false;

  // Assigned once the workers are up; a worker dying during start rejects start() instead.
  let pool: WorkerPool | undefined = undefined;
  const init = { engineModule: engine.module.href, backend: opts.backend, engineOptions: engine.options };
  pool = await WorkerPool.start({
    count: o.workers,
    entry: new URL('./worker-entry.ts', import.meta.url),
    init,
    maxRestarts: o.maxWorkerRestarts,
    onIdle: () => pump(),
    onWorkerExit: (index, err) => {
      deps.logger?.error('inference worker died', { worker: index, error: String(err) });
      if (pool && pool.alive === 0 && pool.restartCount >= o.maxWorkerRestarts) {
        noWorkers = true;
        for (const q of batcher.drain()) shed(q.item, ShedReason.NO_WORKERS);
      }
    },
  });
  const workers: WorkerPool = pool;
  const info: EngineInfo = workers.info ?? noEngine();
  // Small batches run on this thread while the event loop has room (InlineRunner says why).
  let inline: InlineRunner | null = null;
  if (o.inlineMaxRows > 0) {
    try {
      inline = await InlineRunner.start(init);
    } catch (err) {
      await workers.close();
      throw err;
    }
  }
  const utilization = deps.utilization ?? eventLoopUtilization(UTILIZATION_WINDOW_MS);
  const inlineCounters = { batches: 0, rows: 0 };
  const tracker = new SurpriseTracker(info.horizons);

  function shed(p: Pending, reason: ShedReason): void {
    shedCounts[reason]++;
    p.resolve({ shed: true, reason, sessionId: p.req.sessionId, seq: p.req.seq });
  }

  function pump(): void {
    if (!pool) return; // workers still starting: their ready signal pumps again
    if (pumping) {
      again = true;
      return;
    }
    pumping = true;
    try {
      do {
        again = false;
        let w: PoolWorker | null;
        while (!closing && batcher.ready && (w = choose(pool)) !== null) dispatch(pool, w);
      } while (again);
    } finally {
      pumping = false;
    }
  }

  /**
   * Where the next batch runs: in-process when it is small (≤ inlineMaxRows) and the event loop was
   * less than inlineMaxUtilization busy over the last window (inline work counts towards that, so a
   * loaded server moves its batches to the workers by itself); else an idle worker; else, when a whole
   * batch (maxBatch rows) is waiting, behind a worker's running batch, so the worker goes on to it
   * without waiting for this thread to take its results (a backlog after a stall drains at the engine's
   * pace; profile-server at 60–70 sessions: p99 46–60 against 74–76 ms, medians of 4–5 pairs); else it
   * waits (and grows) until a worker is free. A partial batch never queues behind: it gains rows while
   * it waits, at no latency cost, since the worker is busy anyway.
   */
  function choose(pool: WorkerPool): PoolWorker | null {
    if (inline && !inline.busy && Math.min(batcher.depth, o.maxBatch) <= o.inlineMaxRows && utilization() < o.inlineMaxUtilization) return inline;
    return pool.idle() ?? (batcher.depth >= o.maxBatch ? pool.withRoomBehind() : null);
  }

  function run(pool: WorkerPool, w: PoolWorker, msg: BatchRequest): Promise<BatchReply> {
    if (w !== inline) return pool.run(w, msg);
    const runner = inline;
    runner.busy = true;
    inlineCounters.batches++;
    inlineCounters.rows += msg.n;
    return runner.run(msg).finally(() => {
      runner.busy = false;
      // Rows that queued while this batch ran are picked up now (workers signal this via onIdle).
      queueMicrotask(pump);
    });
  }

  function dispatch(pool: WorkerPool, w: PoolWorker): void {
    // Batch boundary: staged swaps take effect here, never inside a batch already dispatched.
    cache.applyStaged();
    const { batch, stale } = batcher.take();
    for (const q of stale) shed(q.item, ShedReason.STALE);
    if (batch.length === 0) return;
    const n = batch.length;
    const dispatchedAt = scheduler.now();
    for (const q of batch) waitMs.observe(dispatchedAt - q.item.submittedAt);
    const x = new Float32Array(n * info.featureDim);
    // Poses travel only when some row wants its prediction decoded (NaN rows: decoded to NaN, not answered).
    const poses = info.decodesPoses && batch.some((q) => q.item.pose) ? new Float32Array(n * POSE_FLOATS).fill(Number.NaN) : undefined;
    const patients: (string | null)[] = [];
    const models: string[] = [];
    const install: { patientId: string; adapter: PatientModel['adapter'] }[] = [];
    batch.forEach((q, i) => {
      x.set(q.item.x, i * info.featureDim);
      if (poses && q.item.pose) poses.set(q.item.pose, i * POSE_FLOATS);
      const pid = q.item.req.patientId;
      const m = cache.use(pid);
      patients.push(m?.adapter ? pid : null);
      models.push(m?.ref ?? BASE_MODEL.ref);
      if (m && w.adapters.get(pid) !== m.version) {
        install.push({ patientId: pid, adapter: m.adapter });
        w.adapters.set(pid, m.version);
      }
    });
    const remove = [...w.adapters.keys()].filter((p) => !cache.has(p));
    for (const p of remove) w.adapters.delete(p);

    const id = nextBatchId++;
    const d: Dispatched = { rows: batch, models, dispatchedAt, outcome: null };
    inflight.set(id, d);
    counters.batches++;
    counters.rows += n;
    batchSize.observe(n);
    run(pool, w, { type: 'batch', id, n, x, patients, install, remove, ...(poses ? { poses } : {}) }).then(
      (reply) => settle(id, { ok: true, reply }),
      (err: unknown) => settle(id, { ok: false, err }),
    );
  }

  function settle(id: number, outcome: NonNullable<Dispatched['outcome']>): void {
    const d = inflight.get(id);
    if (d) d.outcome = outcome;
    // Commit in dispatch order.
    for (let next = inflight.get(nextCommitId); next?.outcome; next = inflight.get(nextCommitId)) {
      inflight.delete(nextCommitId++);
      commit(next, next.outcome);
    }
    maybeClosed();
  }

  function commit(d: Dispatched, outcome: NonNullable<Dispatched['outcome']>): void {
    if (!outcome.ok) {
      deps.logger?.error('inference batch failed; its rows are shed', { rows: d.rows.length, error: String(outcome.err) });
      for (const q of d.rows) shed(q.item, ShedReason.ENGINE_ERROR);
      return;
    }
    const { latent, predictions, uncertainty, horizonUncertainty, poses, ms } = outcome.reply;
    engineMs.observe(ms);
    const D = info.latentDim;
    const H = info.horizons.length;
    const now = scheduler.now();
    batchMs.observe(now - d.dispatchedAt);
    d.rows.forEach((q, i) => {
      const z = latent.subarray(i * D, (i + 1) * D);
      const withPose = poses !== undefined && q.item.pose !== undefined;
      const preds = info.horizons.map((h, k) => {
        const r = i * H + k;
        return {
          horizon: h,
          latent: predictions.subarray(r * D, (r + 1) * D),
          uncertainty: horizonUncertainty[r] ?? NaN,
          ...(withPose ? { pose: poses.subarray(r * POSE_FLOATS, (r + 1) * POSE_FLOATS) } : {}),
        };
      });
      const { sessionId, seq } = q.item.req;
      const s = tracker.observe(
        sessionId,
        seq,
        z,
        preds.map((p) => p.latent),
      );
      const latencyMs = now - q.item.submittedAt;
      latency.observe(latencyMs);
      samples.push(latencyMs);
      q.item.resolve({
        shed: false,
        sessionId,
        seq,
        latent: z,
        predictions: preds,
        uncertainty: uncertainty[i] ?? NaN,
        surprise: s?.value ?? null,
        surpriseHorizon: s?.horizon ?? null,
        model: d.models[i] ?? BASE_MODEL.ref,
        batchSize: d.rows.length,
        latencyMs,
      });
    });
  }

  let closeDone: (() => void) | null = null;
  function maybeClosed(): void {
    if (closing && inflight.size === 0 && closeDone) closeDone();
  }

  function validate(req: InferenceRequest): void {
    if (typeof req.sessionId !== 'string' || req.sessionId === '') bad('sessionId must be a non-empty string');
    if (typeof req.patientId !== 'string' || req.patientId === '') bad('patientId must be a non-empty string');
    if (!Number.isSafeInteger(req.seq) || req.seq < 0) bad(`seq must be an integer ≥ 0, got ${String(req.seq)}`);
    if (!(req.x instanceof Float32Array)) bad('x must be a Float32Array');
    if (req.x.length !== info.featureDim) bad(`x has ${req.x.length} features, the model expects ${info.featureDim}`);
    for (let i = 0; i < req.x.length; i++) if (!Number.isFinite(req.x[i])) bad(`x[${i}] is not finite`);
    if (req.pose !== undefined && (!(req.pose instanceof Float32Array) || req.pose.length !== POSE_FLOATS))
      bad(`pose must be a Float32Array of ${POSE_FLOATS}`);
  }

  return {
    backend: info.backend,
    featureDim: info.featureDim,
    featureNames: info.featureNames,
    latentDim: info.latentDim,
    horizons: info.horizons,
    decodesPoses: info.decodesPoses,

    submit(req) {
      try {
        validate(req);
      } catch (err) {
        return Promise.reject(err);
      }
      return new Promise<InferenceResult | Shed>((resolve) => {
        const p: Pending = { req, x: req.x.slice(), pose: info.decodesPoses ? req.pose?.slice() : undefined, submittedAt: scheduler.now(), resolve };
        if (closing) return shed(p, ShedReason.SHUTDOWN);
        if (noWorkers) return shed(p, ShedReason.NO_WORKERS);
        // Until its model loads, a patient's rows are served by the base model (result.model says so).
        models.touch(req.patientId, (err) =>
          deps.logger?.warn('patient model failed to load; serving the base model', { patientId: req.patientId, error: String(err) }),
        );
        const victim = batcher.push(req.sessionId, p);
        if (victim) shed(victim.item, ShedReason.QUEUE_FULL);
        pump();
      });
    },

    ensureModel(patientId) {
      if (closing) return Promise.reject(new InferenceError(InferenceErrorCode.CLOSED, 'inference service is closed'));
      return models.ensure(patientId);
    },

    swapModel(patientId, ref) {
      if (closing) return Promise.reject(new InferenceError(InferenceErrorCode.CLOSED, 'inference service is closed'));
      return models.swap(patientId, ref);
    },

    endSession(sessionId) {
      tracker.end(sessionId);
    },

    stats(): InferenceStats {
      return {
        backend: info.backend,
        workers: { count: o.workers, alive: workers.alive, busy: workers.busyCount(), restarts: workers.restartCount },
        inline: { enabled: inline !== null, batches: inlineCounters.batches, rows: inlineCounters.rows },
        queueDepth: batcher.depth,
        inflightBatches: inflight.size,
        heldForOrder: [...inflight.values()].filter((d) => d.outcome !== null).length,
        batches: counters.batches,
        rows: counters.rows,
        batchSize: batchSize.data(),
        latencyMs: latency.data(),
        engineMs: engineMs.data(),
        waitMs: waitMs.data(),
        batchMs: batchMs.data(),
        latencySamples: samples.values(),
        shed: { ...shedCounts },
        models: { resident: cache.size, loads: models.loads, loadFailures: models.failures, swaps: models.swaps, evictions: cache.evicted },
      };
    },

    async close() {
      if (!closing) {
        closing = true;
        for (const q of batcher.drain()) shed(q.item, ShedReason.SHUTDOWN);
      }
      if (inflight.size > 0) await new Promise<void>((r) => (closeDone = r));
      inline?.dispose();
      inline = null;
      await workers.close();
    },
  };
}

function noEngine(): never {
  throw new InferenceError(InferenceErrorCode.WORKER_START_FAILED, 'no worker reported its engine');
}
