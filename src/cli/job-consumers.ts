// The job consumers of a process, shared by `serve` (in its retrain processes) and `worker` (nothing
// else). Each job kind is one entry: `retrain` consumes assessment.completed. A kind starts from the
// configuration and the process's bus, registry, artifacts and notifications.
import { join, resolve } from 'node:path';
import type { Config } from '../config.js';
import { startRetrainThreads } from '../jobs/job-host.js';
import { paceWhileLive, type PaceTarget } from '../jobs/pacer.js';
import type { ArtifactsSpec } from '../jobs/job-thread-protocol.js';
import type { JobBus } from '../jobs/job-bus.js';
import type { NoticeBus } from '../jobs/notices.js';
import { startRetrainWorker, type RetrainSettings } from '../jobs/workers/retrain-worker.js';
import type { Logger } from '../logger.js';
import type { ArtifactStore } from '../storage/artifact-store.js';
import type { ModelRegistry } from '../storage/model-registry.js';
import { loadCheckpoint } from '../../models/checkpoint.js';
import { requestTaskpacks, startTaskpackWorker } from '../jobs/workers/taskpack-worker.js';

export const JOB_KINDS = ['retrain', 'taskpack'] as const;
export type JobKind = (typeof JOB_KINDS)[number];

export interface JobConsumerDeps {
  readonly bus: JobBus;
  readonly registry: ModelRegistry;
  readonly artifacts: ArtifactStore;
  readonly notices: NoticeBus;
  readonly logger: Logger;
  /**
   * Live sessions on this node (`serve`); while there are any, background jobs compute at most
   * config.backgroundDutyPct of the time (src/jobs/pacer.ts). Absent (`worker`): unpaced.
   */
  readonly liveSessions?: () => number;
}

export interface JobConsumers {
  readonly kinds: readonly JobKind[];
  /** Stops taking jobs, waits for running ones, then ends the threads. */
  stop(): Promise<void>;
}

/** What a retrain needs from the configuration (horizons and MC passes are the live ones). */
export function retrainSettings(config: Readonly<Config>): RetrainSettings {
  return {
    baseCheckpointDir: resolve(config.modelDir),
    modelsDir: resolve(config.dataDir, 'models'),
    horizons: [...config.horizons],
    evalPasses: config.mcPasses,
    backend: config.backend,
  };
}

/**
 * Starts `kinds` with `threads` retrain processes. The artifact store of those processes is the process's:
 * the same directory in embedded mode, the same NATS object store (own connection) otherwise.
 */
export async function startJobConsumers(
  config: Readonly<Config>,
  deps: JobConsumerDeps,
  o: { readonly kinds: readonly JobKind[]; readonly threads: number },
): Promise<JobConsumers> {
  const stops: (() => Promise<void>)[] = [];
  const paced: PaceTarget[] = [];
  // How background processes open the same artifact store as deps.artifacts.
  const artifacts: ArtifactsSpec = config.natsUrl
    ? { kind: 'nats', servers: config.natsUrl.split(',') }
    : { kind: 'disk', dir: join(config.dataDir, 'artifacts') };
  try {
    if (o.kinds.includes('retrain')) {
      const settings = retrainSettings(config);
      const executor = await startRetrainThreads({
        count: o.threads,
        init: { settings, artifacts },
        registry: deps.registry,
        notices: deps.notices,
        logger: deps.logger,
      });
      const worker = await startRetrainWorker({
        ...settings,
        // Every finished retrain requests its session's task pack (whoever consumes 'taskpack').
        bus: requestTaskpacks(deps.bus, deps.artifacts, deps.logger),
        registry: deps.registry,
        artifacts: deps.artifacts,
        notices: deps.notices,
        logger: deps.logger,
        trainers: o.threads,
        holdLimit: config.jobHold,
        executor,
        onBatch: (patientId, jobIds) => deps.logger.info('retrain batch started', { patientId, jobs: jobIds.length, jobIds }),
      }).catch(async (error: unknown) => {
        await executor.close();
        throw error;
      });
      // Stops consuming, waits for running batches, then ends the threads.
      stops.push(() => worker.stop());
      paced.push(executor);
      deps.logger.info('job consumers started', { kinds: o.kinds, threads: o.threads, backend: executor.backend, hold: config.jobHold });
    }
    if (o.kinds.includes('taskpack')) {
      const settings = retrainSettings(config);
      const base = await loadCheckpoint(settings.baseCheckpointDir);
      const tp = await startTaskpackWorker({
        bus: deps.bus,
        artifacts: deps.artifacts,
        artifactsSpec: artifacts,
        registry: deps.registry,
        notices: deps.notices,
        baseCheckpointDir: settings.baseCheckpointDir,
        baseVersion: `weights:${base.weightsSha256.slice(0, 16)}`,
        modelsDir: settings.modelsDir,
        workDir: resolve(config.dataDir, 'taskpack-work'),
        logger: deps.logger,
        consume: { redeliverAfterMs: config.taskpackRedeliverS * 1000 },
      });
      stops.push(() => tp.stop());
      paced.push(tp);
      deps.logger.info('task pack consumer started', { baseVersion: `weights:${base.weightsSha256.slice(0, 16)}` });
    }
    if (deps.liveSessions) {
      const pacing = paceWhileLive({ live: deps.liveSessions, duty: config.backgroundDutyPct / 100, targets: paced });
      stops.push(async () => pacing.stop());
    }
  } catch (error) {
    for (const s of stops.reverse()) await s().catch(() => undefined);
    throw error;
  }
  return {
    kinds: o.kinds,
    stop: async () => {
      for (const s of stops.reverse()) await s();
    },
  };
}
