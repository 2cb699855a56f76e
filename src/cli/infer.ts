// `jepa-motion infer`: the inference engine as its own process (e.g. on a GPU host, where the backend
// preference picks tfjs-node-gpu), answering every serve node over NATS request/reply on
// jepa.infer.v1.* (src/inference/remote-server.ts). One InferenceService, so rows from all nodes share
// micro-batches. Listens on INFER_URL (else NATS_URL); patient models come from the NATS registry and
// object store when NATS_URL is set, else from the local data directory as in embedded serve.
import { join, resolve } from 'node:path';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import { loadCheckpoint } from '../../models/checkpoint.js';
import { loadConfig, renderHelp, wantsHelp, type Config } from '../config.js';
import { serveInferenceOverNats } from '../inference/remote-server.js';
import { INFER_SUBJECT_PREFIX } from '../inference/remote-protocol.js';
import { createJsonLogger, type Logger } from '../logger.js';
import type { ArtifactStore } from '../storage/artifact-store.js';
import { DiskArtifactStore } from '../storage/disk-artifact-store.js';
import { LocalModelRegistry, type ModelRegistry } from '../storage/model-registry.js';
import { NatsArtifactStore } from '../storage/nats-artifact-store.js';
import { NatsModelRegistry } from '../storage/nats-model-registry.js';
import { createEngineService } from './engine-service.js';
import { UsageError, type CliIo } from './io.js';

export const inferUsage = 'jepa-motion infer --infer-url nats://… [--nats nats://…] [--model DIR] [--backend tensorflow|wasm|cpu] [INFER_* settings]';

export interface InferHandle {
  readonly backend: string;
  close(): Promise<void>;
}

export async function startInfer(config: Readonly<Config>, logger: Logger, io: CliIo): Promise<InferHandle> {
  const url = config.inferUrl ?? config.natsUrl;
  if (!url) throw new UsageError('infer needs INFER_URL (--infer-url) or NATS_URL (--nats): the NATS servers to answer on');
  const closers: (() => Promise<unknown>)[] = [];
  const closeAll = async (): Promise<void> => {
    for (const close of closers.reverse()) await close().catch((cause: unknown) => logger.error('shutdown step failed', { cause }));
  };
  try {
    const nc = await connect({ servers: url.split(','), name: 'jepa-motion-infer', maxReconnectAttempts: -1 });
    closers.push(() => nc.drain());
    let registry: ModelRegistry;
    let artifacts: ArtifactStore;
    if (config.natsUrl) {
      const jc: NatsConnection =
        config.natsUrl === url ? nc : await connect({ servers: config.natsUrl.split(','), name: 'jepa-motion-infer-models', maxReconnectAttempts: -1 });
      if (jc !== nc) closers.push(() => jc.drain());
      registry = await NatsModelRegistry.open(jc, { logger });
      artifacts = await NatsArtifactStore.open(jc);
    } else {
      registry = await LocalModelRegistry.open({ file: join(config.dataDir, 'model-registry.json') });
      artifacts = await DiskArtifactStore.open(join(config.dataDir, 'artifacts'));
    }
    const base = await loadCheckpoint(config.modelDir);
    const service = await createEngineService(config, { base, registry, artifacts, modelsDir: resolve(config.dataDir, 'models'), logger });
    closers.push(() => service.close());
    const server = serveInferenceOverNats(nc, service, { maxInflight: config.inferMaxInflight }, logger);
    closers.push(() => server.close());
    // The subscriptions exist on the NATS server only once it has read them: announce after that, or a
    // serve node started on the announcement can meet "no responders".
    await nc.flush();
    logger.info('infer serving', { url, subjects: `${INFER_SUBJECT_PREFIX}.*`, backend: service.backend, model: config.modelDir });
    io.err(`jepa-motion infer: answering ${INFER_SUBJECT_PREFIX}.* on ${url} (${service.backend} backend)\n`);
    return { backend: service.backend, close: closeAll };
  } catch (error) {
    await closeAll();
    throw error;
  }
}

/** Runs until SIGINT/SIGTERM: stops taking requests, answers those in flight, stops the engine. */
export async function inferCommand(args: string[], io: CliIo): Promise<number> {
  if (wantsHelp(args)) {
    io.out(renderHelp());
    return 0;
  }
  const config = loadConfig(args, io.env);
  const logger = createJsonLogger(process.stdout, { level: config.logLevel === 'silent' ? 'error' : config.logLevel, base: { service: 'jepa-motion-infer' } });
  const handle = await startInfer(config, logger, io);
  await new Promise<void>((done) => {
    const stop = (signal: NodeJS.Signals) => {
      io.err(`jepa-motion infer: ${signal}: answering in-flight frames, then stopping\n`);
      done();
    };
    process.once('SIGINT', stop);
    process.once('SIGTERM', stop);
  });
  await handle.close();
  return 0;
}
