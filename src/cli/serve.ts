// `jepa-motion serve` (and `npm start`): composes the live server from its parts. Embedded mode
// (no NATS_URL): in-process job bus, model registry and artifacts on the local disk. Distributed mode:
// JetStream jobs with an on-disk outbox, KV model registry, object store artifacts, NATS live fan-out.
import { randomUUID } from 'node:crypto';
import { mkdir, rm } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import { ensureDashboardBuilt } from '../../clients/dashboard/build.js';
import { loadCheckpoint } from '../../models/checkpoint.js';
import { ARKIT_JOINTS } from '../../streams/adapters/arkit.js';
import { hmacKeyConfig, mintToken } from '../auth/index.js';
import { loadConfig, renderHelp, wantsHelp, type Config } from '../config.js';
import { createRemoteInference } from '../inference/remote-client.js';
import type { InferenceService } from '../inference/types.js';
import { createInProcessBus } from '../jobs/in-process-bus.js';
import { createTaskpackService } from '../taskpack/taskpack-service.js';
import type { JobBus } from '../jobs/job-bus.js';
import { createNatsLiveFanout } from '../jobs/live-fanout.js';
import { createNatsJobBus } from '../jobs/nats-job-bus.js';
import { Outbox } from '../jobs/outbox.js';
import { createLocalNoticeBus, createNatsNoticeBus, type NoticeBus } from '../jobs/notices.js';
import { createJsonLogger, type Logger } from '../logger.js';
import { createServer, type RunningServer } from '../server.js';
import { catalogDeps, createCatalog } from '../sessions/catalog.js';
import { createRecordingPublisher } from '../recordings/publish-recording.js';
import { livePipeline } from '../sessions/live-pipeline.js';
import { createSessionReplay } from '../sessions/session-replay.js';
import type { ArtifactStore } from '../storage/artifact-store.js';
import { DiskArtifactStore } from '../storage/disk-artifact-store.js';
import { LocalModelRegistry, type ModelRegistry } from '../storage/model-registry.js';
import { NatsArtifactStore } from '../storage/nats-artifact-store.js';
import { NatsModelRegistry } from '../storage/nats-model-registry.js';
import { createEngineService } from './engine-service.js';
import type { CliIo } from './io.js';
import { startJobConsumers } from './job-consumers.js';

export const serveUsage = 'jepa-motion serve [--port 8080] [--data ./data] [--nats nats://…] [--model DIR] [… every setting in the README]';

/** Tokens printed at an embedded start are for trying the server out, not for a clinic's devices. */
const DEV_TOKEN_TTL_S = 12 * 3600;

export interface ServeHandle {
  readonly server: RunningServer;
  readonly inference: InferenceService;
  readonly url: string;
  close(): Promise<void>;
}

/** Starts every part; `close()` stops them in reverse order (server first, so in-flight frames finish). */
export async function startServe(config: Readonly<Config>, logger: Logger, io: CliIo): Promise<ServeHandle> {
  await mkdir(config.dataDir, { recursive: true });
  // `npm ci` builds the dashboard (prepare); a checkout where that did not run builds it here once.
  if ((await ensureDashboardBuilt()) === 'built') logger.info('dashboard built', { dir: 'clients/dashboard/dist' });
  const closers: (() => Promise<unknown>)[] = [];
  const closeAll = async (): Promise<void> => {
    for (const close of closers.reverse()) await close().catch((cause: unknown) => logger.error('shutdown step failed', { cause }));
  };
  try {
    let nc: NatsConnection | undefined;
    let bus: JobBus;
    let notices: NoticeBus;
    let registry: ModelRegistry;
    let artifacts: ArtifactStore;
    if (config.natsUrl) {
      nc = await connect({ servers: config.natsUrl.split(','), name: 'jepa-motion', maxReconnectAttempts: -1 });
      const conn = nc;
      closers.push(() => conn.drain());
      bus = await createNatsJobBus({ nc, outbox: await Outbox.open(join(config.dataDir, 'outbox')), logger, replicas: config.jsReplicas });
      // After the job bus: it moves notification subjects out of a job stream made by an older version.
      notices = await createNatsNoticeBus({ nc, logger, replicas: config.jsReplicas });
      registry = await NatsModelRegistry.open(nc, { logger, replicas: config.jsReplicas });
      artifacts = await NatsArtifactStore.open(nc, { replicas: config.jsReplicas });
    } else {
      bus = createInProcessBus({ logger });
      notices = createLocalNoticeBus({ logger });
      registry = await LocalModelRegistry.open({ file: join(config.dataDir, 'model-registry.json') });
      artifacts = await DiskArtifactStore.open(join(config.dataDir, 'artifacts'));
    }
    closers.push(() => bus.close());
    closers.push(() => notices.close());

    const base = await loadCheckpoint(config.modelDir);
    const modelsDir = resolve(config.dataDir, 'models');
    let inference: InferenceService;
    if (config.inferUrl) {
      // The engine runs in `jepa-motion infer` processes; this node only forwards rows (and model swaps).
      const inc = await connect({ servers: config.inferUrl.split(','), name: 'jepa-motion-infer-client', maxReconnectAttempts: -1 });
      closers.push(() => inc.drain());
      inference = await createRemoteInference(inc, { timeoutMs: config.inferTimeoutMs, maxInflight: config.inferMaxInflight }, logger);
    } else {
      inference = await createEngineService(config, { base, registry, artifacts, modelsDir, logger });
    }
    closers.push(() => inference.close());

    const recordingPublisher = createRecordingPublisher(artifacts, {
      onRetry: (attempt, cause) => logger.warn('recording publish failed; retrying', { attempt, cause: String(cause) }),
    });
    const catalog = createCatalog({
      registry,
      artifacts,
      pretrained: { id: 'pretrained', kind: 'pretrained', version: base.weightsSha256.slice(0, 12) },
      logger,
    });
    // Finished sessions of every node: this node's disk, and what every node published to the artifact
    // store (a recording from elsewhere is replayed from a copy under replayTmp, removed after; copies a
    // crash left behind are cleared here). Sessions live on this node are not "finished": the server
    // that knows them exists only below, and nothing asks before it listens.
    const pipeline = livePipeline();
    const replayTmp = join(config.dataDir, 'replay-tmp');
    await rm(replayTmp, { recursive: true, force: true });
    const live: { sessions?: RunningServer['sessions'] } = {};
    const finished = createSessionReplay({
      recordingsDir: join(config.dataDir, 'recordings'),
      pipeline,
      inference,
      updateHz: config.liveUpdateHz,
      isLive: (id) => live.sessions?.get(id) !== undefined,
      published: { artifacts, tmpDir: replayTmp },
    });
    const taskpacks = createTaskpackService({ artifacts, baseCheckpointDir: resolve(config.modelDir), modelsDir: resolve(config.dataDir, 'models') });
    closers.push(() => taskpacks.close());
    // The counterfactual thread (tsx, modules, tfjs wasm: seconds on a busy box) starts now, while
    // nobody waits, not on a therapist's first question. Idle, it does not keep the process alive.
    taskpacks.start();
    const server = await createServer(config, {
      logger,
      bus,
      inference,
      pipeline,
      finished,
      ...catalogDeps(catalog),
      // Task packs: list/index/report from the artifact store, counterfactuals planned on a stored pack.
      taskpacks,
      modelUpdates: registry.watch(),
      notices,
      publishRecording: (r) => recordingPublisher.publish(r),
      jointNames: ARKIT_JOINTS,
      ...(nc ? { liveFanout: createNatsLiveFanout(nc, { nodeId: randomUUID(), logger }) } : {}),
    });
    closers.push(() => server.close());
    live.sessions = server.sessions;

    // assessment.completed → per-patient adapter → registry → hot swap (createServer watches the registry).
    // Training runs in retrain processes, never on this thread, which answers frames. With NATS every
    // node may run some (JetStream hands each job to one of them), or none (JEPA_WORKERS=0) when
    // `jepa-motion worker` processes take the jobs.
    if (config.jobWorkers > 0) {
      const jobs = await startJobConsumers(
        config,
        { bus, registry, artifacts, notices, logger, liveSessions: () => server.sessions.size },
        { kinds: ['retrain', 'taskpack'], threads: config.jobWorkers },
      );
      closers.push(() => jobs.stop());
    }

    const url = `http://${config.host === '0.0.0.0' ? '127.0.0.1' : config.host}:${server.port}`;
    logger.info('serving', { url, mode: config.mode, backend: inference.backend, model: config.modelDir, data: resolve(config.dataDir) });
    io.err(`jepa-motion: serving on ${url} (${config.mode} mode, ${inference.backend} backend, data in ${resolve(config.dataDir)})\n`);
    if (config.jwt.kind === 'secret' && config.jwt.generated) {
      const key = hmacKeyConfig(config.jwt.secret);
      const therapist = mintToken({ clinic: 'dev-clinic', role: 'therapist', ttlSeconds: DEV_TOKEN_TTL_S }, key, Date.now());
      const device = mintToken({ clinic: 'dev-clinic', role: 'device', patient: 'dev-patient', ttlSeconds: DEV_TOKEN_TTL_S }, key, Date.now());
      io.err(
        `jepa-motion: JEPA_JWT_SECRET is not set, so this run signs with a generated secret (tokens die with the process).\n` +
          `  therapist token (dashboard: ${url}/?token=…):\n${therapist}\n` +
          `  device token (patient dev-patient, for jepa-motion replay --token …):\n${device}\n`,
      );
    }
    return { server, inference, url, close: closeAll };
  } catch (error) {
    await closeAll();
    throw error;
  }
}

/** Runs until SIGINT/SIGTERM, then shuts down gracefully. */
export async function serveCommand(args: string[], io: CliIo): Promise<number> {
  if (wantsHelp(args)) {
    io.out(renderHelp());
    return 0;
  }
  const config = loadConfig(args, io.env);
  const logger = createJsonLogger(process.stdout, { level: config.logLevel === 'silent' ? 'error' : config.logLevel, base: { service: 'jepa-motion' } });
  const handle = await startServe(config, logger, io);
  await new Promise<void>((done) => {
    const stop = (signal: NodeJS.Signals) => {
      io.err(`jepa-motion: ${signal}: finishing in-flight frames, flushing recordings, closing sockets\n`);
      done();
    };
    process.once('SIGINT', stop);
    process.once('SIGTERM', stop);
  });
  await handle.close();
  return 0;
}
