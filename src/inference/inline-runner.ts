/**
 * The same engine as the workers, loaded on the calling (main) thread, for small batches. At the batch
 * sizes a few live sessions produce (~4 rows) the engine costs ~0.5 ms per batch, while a worker round
 * trip costs two structured-clone postMessages plus two thread wake-ups — more CPU than the math, and on
 * a loaded box each wake-up is a chance to wait for a time slice. The service only hands this runner
 * batches of at most `inlineMaxRows` rows while the event loop is not busy (see inference-service.ts),
 * so the event loop never waits on a big batch.
 * It mirrors a pool worker: it holds its own adapter versions and applies install/remove between runs.
 */
import { performance } from 'node:perf_hooks';
import { engineOutputProblem, HeldAdapters, type BatchEngine, type EngineModule } from './engine.js';
import { InferenceError, InferenceErrorCode } from './errors.js';
import type { BatchReply, PoolWorker } from './worker-pool.js';
import type { BatchRequest, WorkerInit } from './worker-protocol.js';

export class InlineRunner implements PoolWorker {
  /** Marks this slot apart from pool workers (which are 0-based). */
  readonly index = -1;
  readonly adapters = new Map<string, number>();
  busy = false;
  private readonly held: HeldAdapters;

  private constructor(private readonly engine: BatchEngine) {
    this.held = new HeldAdapters(engine);
  }

  static async start(init: WorkerInit): Promise<InlineRunner> {
    try {
      const mod = (await import(init.engineModule)) as Partial<EngineModule>;
      if (typeof mod.createEngine !== 'function') throw new Error(`${init.engineModule} does not export createEngine`);
      return new InlineRunner(await mod.createEngine({ backend: init.backend, options: init.engineOptions }));
    } catch (cause) {
      throw new InferenceError(
        InferenceErrorCode.WORKER_START_FAILED,
        `in-process inference engine failed to start: ${cause instanceof Error ? cause.message : String(cause)}`,
        { cause },
      );
    }
  }

  get featureDim(): number {
    return this.engine.featureDim;
  }

  /** Runs one batch now (synchronously for a synchronous engine). The caller sets and clears `busy`. */
  async run(msg: BatchRequest): Promise<BatchReply> {
    try {
      this.held.apply(msg);
      const t0 = performance.now();
      const out = await this.engine.run({ n: msg.n, x: msg.x, patients: msg.patients, ...(msg.poses ? { poses: msg.poses } : {}) });
      const ms = performance.now() - t0;
      const problem = engineOutputProblem(this.engine, msg.n, out, msg.poses !== undefined);
      if (problem) throw new Error(`engine output: ${problem}`);
      return {
        latent: out.latent,
        predictions: out.predictions,
        uncertainty: out.uncertainty,
        horizonUncertainty: out.horizonUncertainty,
        ...(out.poses ? { poses: out.poses } : {}),
        ms,
      };
    } catch (cause) {
      // Same rule as a worker's batch-error: a failed batch may have left adapters half-installed, so the
      // service resends them all, and none it stops tracking stays in the engine.
      this.adapters.clear();
      this.held.dropAll();
      throw new InferenceError(
        InferenceErrorCode.ENGINE_OUTPUT,
        `batch ${msg.id} failed in the in-process engine: ${cause instanceof Error ? cause.message : String(cause)}`,
        { cause },
      );
    }
  }

  dispose(): void {
    this.engine.dispose?.();
  }
}
