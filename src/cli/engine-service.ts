// The in-process inference service as serve and infer both run it: the tfjs engine in worker threads,
// patient checkpoints resolved through the model registry and artifact store (cached under <data>/models).
import { resolve } from 'node:path';
import type { LoadedCheckpoint } from '../../models/checkpoint.js';
import type { Config } from '../config.js';
import { createCheckpointLoader } from '../inference/checkpoint-loader.js';
import { createInferenceService } from '../inference/inference-service.js';
import type { InferenceLogger, InferenceService } from '../inference/types.js';
import { createPatientCheckpointResolver } from '../jobs/workers/patient-checkpoints.js';
import type { ArtifactStore } from '../storage/artifact-store.js';
import type { ModelRegistry } from '../storage/model-registry.js';

/**
 * Batches of at most this many rows run on the main thread instead of a worker: below it a worker
 * round trip (wake-up, postMessage) costs more than the arithmetic (loadtest/engine-cost.ts: 0.5 ms
 * for 2–4 rows in-process). The service still sends every batch to a worker while the event loop is busy.
 */
const INLINE_MAX_ROWS = 16;

export function createEngineService(
  config: Readonly<Config>,
  deps: { base: LoadedCheckpoint; registry: ModelRegistry; artifacts: ArtifactStore; modelsDir: string; logger: InferenceLogger },
): Promise<InferenceService> {
  return createInferenceService(
    {
      workers: config.inferWorkers,
      maxBatch: config.inferMaxBatch,
      maxWaitMs: config.inferMaxWaitMs,
      queueLimit: config.inferQueueLimit,
      inlineMaxRows: INLINE_MAX_ROWS,
      modelCacheSize: config.modelCache,
      ...(config.backend === 'auto' ? {} : { backend: config.backend }),
      engine: {
        module: new URL('../inference/tfjs-engine.ts', import.meta.url),
        options: { checkpointDir: resolve(config.modelDir), horizons: [...config.horizons], passes: config.mcPasses, poses: config.livePoses },
      },
    },
    {
      logger: deps.logger,
      // Patient checkpoints live in the artifact store; <data>/models caches them as directories.
      loadModel: createCheckpointLoader({
        base: deps.base,
        resolve: createPatientCheckpointResolver({ registry: deps.registry, artifacts: deps.artifacts, modelsDir: deps.modelsDir }),
      }),
    },
  );
}
