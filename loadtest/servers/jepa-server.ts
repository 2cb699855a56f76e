// The real jepa-motion server as a benchmark child process: createServer with the real stream pipeline
// (adapt → sessionPipeline), the micro-batched inference service (tfjs-wasm worker), disk recordings
// and the in-process bus. Prints one JSON line {"port": N} when listening; SIGTERM closes it.
//   node --import tsx loadtest/servers/jepa-server.ts <checkpoint-dir> <data-dir>   (JEPA_JWT_SECRET in env)
import { performance } from 'node:perf_hooks';
import { loadCheckpoint } from '../../models/checkpoint.js';
import { loadConfig } from '../../src/config.js';
import { createCheckpointLoader } from '../../src/inference/checkpoint-loader.js';
import { createInferenceService } from '../../src/inference/inference-service.js';
import { createInProcessBus } from '../../src/jobs/in-process-bus.js';
import { silentLogger } from '../../src/logger.js';
import { createServer } from '../../src/server.js';
import { livePipeline } from '../../src/sessions/live-pipeline.js';
import { readCheckpointSet } from './checkpoints.js';

const [ckDir, dataDir] = process.argv.slice(2);
if (!ckDir || !dataDir) throw new Error('usage: jepa-server.ts <checkpoint-dir> <data-dir>');
const set = await readCheckpointSet(ckDir);
const config = loadConfig(['--port', '0', '--host', '127.0.0.1', '--data', dataDir], process.env);
const base = await loadCheckpoint(set.baseDir);
const engineModule = new URL('../../src/inference/tfjs-engine.ts', import.meta.url);
// Lets the bench's thread-role preload (./thread-roles.cjs) tell the inference workers (which get this
// module as workerData.init.engineModule) from other worker threads; workers inherit this environment.
process.env.BENCH_INFERENCE_ENGINE = engineModule.href;
const inference = await createInferenceService(
  {
    workers: config.inferWorkers,
    maxBatch: config.inferMaxBatch,
    maxWaitMs: config.inferMaxWaitMs,
    queueLimit: config.inferQueueLimit,
    // Small batches in-process while the event loop has room (src/inference/inline-runner.ts).
    // BENCH_INLINE_MAX_ROWS=0 benchmarks the worker-only path.
    inlineMaxRows: Number(process.env.BENCH_INLINE_MAX_ROWS ?? 16),
    ...(process.env.BENCH_INLINE_MAX_UTILIZATION ? { inlineMaxUtilization: Number(process.env.BENCH_INLINE_MAX_UTILIZATION) } : {}),
    backend: 'wasm',
    engine: {
      module: engineModule,
      options: { checkpointDir: set.baseDir, horizons: config.horizons, passes: config.mcPasses, poses: config.livePoses },
    },
  },
  { loadModel: createCheckpointLoader({ base, resolve: async (patientId) => set.patients[patientId] ?? null }) },
);
const bus = createInProcessBus();
const server = await createServer(config, {
  logger: silentLogger,
  bus,
  inference,
  pipeline: livePipeline(),
  models: { modelFor: async () => ({ id: 'bench-base', kind: 'pretrained', version: '1' }), list: async () => [] },
  taskpacks: { list: async () => [], get: async () => undefined },
});
process.stdout.write(`${JSON.stringify({ port: server.port, backend: inference.backend })}\n`);
process.once('SIGTERM', () => {
  if (process.env.BENCH_STATS) {
    const st = inference.stats();
    process.stderr.write(`${JSON.stringify({ inline: st.inline, batches: st.batches, rows: st.rows, elu: performance.eventLoopUtilization().utilization })}\n`);
  }
  void server
    .close()
    .then(() => inference.close())
    .then(() => bus.close())
    .finally(() => process.exit(0));
});
