// The taskpack job: `taskpack.requested` → recording from the artifact store → the patient's current
// model (or the base) → buildTaskPack (stages 0–9, the same function as `jepa-motion taskpack`) → every
// pack file into the artifact store under `taskpack-files/<clinic>/<id>/`, then the index entry
// `taskpacks/<clinic>/<id>.json` LAST (its presence means the pack is complete; the catalog lists it)
// → `taskpack.ready` → resolve (= ack). The recording, the build and the pack's files are handled by a
// background process (./taskpack-builder.ts); this process keeps the job, the index entry and the notice.
//
// Idempotency: the pack id is derived from the recording's SHA-256 and the model version; a delivery
// whose index entry exists does nothing but announce it again. So a redelivery after a crash, a
// duplicate request, or a duplicate assessment.completed all end in one pack.
// Failure: a handler error naks with backoff (bus); on the last allowed delivery (or a permanent error)
// a dead-letter record `taskpacks-dead/<clinic>/<job>.json` names the reason before the bus terminates
// the job, so the queue moves on and the failure stays visible.
// Requests come from `requestTaskpacks`: it wraps the retrain consumer so that every assessment whose
// retrain finished (registered a model or kept the old one) publishes its taskpack.requested.
import { randomUUID } from 'node:crypto';
import { readFile, rm } from 'node:fs/promises';
import { extname, join } from 'node:path';
import type { Logger } from '../../logger.js';
import { silentLogger } from '../../logger.js';
import type { ArtifactStore } from '../../storage/artifact-store.js';
import type { ModelRef, ModelRegistry } from '../../storage/model-registry.js';
import { taskPackId, type ModelSource } from '../../taskpack/build-taskpack.js';
import { NoticeSubject, type AssessmentCompleted, type TaskpackRequested } from '../contracts.js';
import { describeReason } from '../run-attempt.js';
import { JobError, JobErrorCode } from '../errors.js';
import { DEFAULT_MAX_DELIVER, JobSubject, type ConsumeOptions, type Consumption, type JobBus, type JobContext, type JobHandler } from '../job-bus.js';
import type { NoticeBus } from '../notices.js';
import type { ArtifactsSpec } from '../job-thread-protocol.js';
import type { PaceTarget } from '../pacer.js';
import { keySegment } from './feature-history.js';
import { materializeCheckpoint } from './patient-checkpoints.js';
import { recordingKey } from './retrain-worker.js';
import { startTaskPackBuilder } from './taskpack-builder.js';

export const TASKPACKS_PREFIX = 'taskpacks';
export const TASKPACK_FILES_PREFIX = 'taskpack-files';
export const DEAD_LETTER_PREFIX = 'taskpacks-dead';

/** Index key of a pack (what /v1/taskpacks lists): `<patient>.<hash>` so a patient's packs share a prefix. */
export const packName = (patientId: string, id: string): string => `${keySegment(patientId)}.${id}`;
export const indexKey = (clinic: string, name: string): string => `${TASKPACKS_PREFIX}/${keySegment(clinic)}/${name}.json`;
export const filesPrefix = (clinic: string, name: string): string => `${TASKPACK_FILES_PREFIX}/${keySegment(clinic)}/${name}/`;

/** The index entry: what the list and /v1/taskpacks/:id return, with where each file is stored. */
export interface TaskpackIndex {
  readonly id: string;
  readonly pack: string;
  readonly clinic: string;
  readonly patientId: string;
  readonly sessionId: string;
  readonly assessment: string;
  readonly createdAt: string;
  readonly recordingSha256: string;
  /** The model the pack was built with; `ref` (a registered patient model) lets any node load it again. */
  readonly model: { readonly version: string; readonly id: string; readonly ref?: ModelRef };
  readonly files: Readonly<Record<string, string>>;
  readonly reportKey: string;
  readonly metrics: unknown;
  readonly counterfactuals: unknown;
  readonly seconds: Readonly<Record<string, number>>;
}

export interface TaskpackWorkerOptions {
  readonly bus: JobBus;
  readonly artifacts: ArtifactStore;
  /** How the build process opens the same artifact store (it fetches the recording and stores the files). */
  readonly artifactsSpec: ArtifactsSpec;
  /** The build process exits after this long without a build. Default DEFAULT_PACK_PROCESS_IDLE_MS. */
  readonly processIdleMs?: number;
  readonly registry: Pick<ModelRegistry, 'get'>;
  readonly notices: Pick<NoticeBus, 'notify'>;
  /** The base checkpoint served to patients without their own (and the base of their adapters). */
  readonly baseCheckpointDir: string;
  /** Version of the base model (its weights hash). */
  readonly baseVersion: string;
  /** Local cache of patient checkpoints (patient-checkpoints.ts). */
  readonly modelsDir: string;
  /** Scratch space for recordings and packs being built; cleaned per job. */
  readonly workDir: string;
  readonly logger?: Logger;
  readonly consume?: ConsumeOptions;
  /** Tests: runs before the build (e.g. to hold a job mid-way or fail it). */
  readonly beforeBuild?: (event: TaskpackRequested, ctx: JobContext) => Promise<void>;
}

async function resolveModel(o: TaskpackWorkerOptions, e: TaskpackRequested): Promise<{ source: ModelSource; id: string; ref?: ModelRef }> {
  const ref = await o.registry.get(e.patientId);
  // Only a model registered under this clinic serves this patient (catalog.ts applies the same rule).
  if (ref && ref.id.startsWith(`models/${keySegment(e.clinic)}/`)) {
    const dir = await materializeCheckpoint(o.artifacts, o.modelsDir, ref);
    return { source: { dir, baseDir: o.baseCheckpointDir, version: `${ref.id}@${ref.version}` }, id: ref.id, ref };
  }
  return { source: { dir: o.baseCheckpointDir, version: o.baseVersion }, id: 'pretrained' };
}

/** A running task-pack consumer; setDuty paces its builds (../pacer.ts). */
export interface TaskpackWorker extends Consumption, PaceTarget {}

export async function startTaskpackWorker(o: TaskpackWorkerOptions): Promise<TaskpackWorker> {
  const logger = o.logger ?? silentLogger;
  // stop() ends running builds (their threads are terminated, the jobs nak and are redelivered) rather
  // than waiting tens of seconds for them: a shutting-down server must not hang on a report.
  const stopping = new AbortController();
  const maxDeliver = o.consume?.maxDeliver ?? DEFAULT_MAX_DELIVER;
  const builder = startTaskPackBuilder({ artifacts: o.artifactsSpec, idleMs: o.processIdleMs });
  const build = async (e: TaskpackRequested, ctx: JobContext<typeof JobSubject.TASKPACK_REQUESTED>): Promise<void> => {
    const model = await resolveModel(o, e);
    const id = taskPackId(e.recordingSha256, model.source.version);
    const name = packName(e.patientId, id);
    const index = indexKey(e.clinic, name);
    const announce = async (createdAt: string): Promise<void> => {
      await o.notices.notify(
        NoticeSubject.TASKPACK_READY,
        {
          taskpackId: name,
          clinic: e.clinic,
          patientId: e.patientId,
          sessionId: e.sessionId,
          key: index,
          reportKey: `${filesPrefix(e.clinic, name)}9-task-pack/report.html`,
          createdAt,
        },
        { id: `taskpack.ready.${name}` },
      );
    };
    if (await o.artifacts.has(index)) {
      const done = JSON.parse(new TextDecoder().decode(await o.artifacts.get(index))) as TaskpackIndex;
      logger.info('task pack already stored', { jobId: ctx.id, taskpack: name });
      return announce(done.createdAt);
    }
    await o.beforeBuild?.(e, ctx);
    const scratch = join(o.workDir, `${keySegment(name)}-${randomUUID()}`);
    try {
      logger.info('task pack build started', { jobId: ctx.id, taskpack: name, attempt: ctx.attempt, model: model.source.version });
      const prefix = filesPrefix(e.clinic, name);
      const r = await builder.build(
        {
          recordingKey: e.recordingKey,
          recordingSha256: e.recordingSha256,
          scratch,
          filesPrefix: prefix,
          model: model.source,
          patient: e.patientId,
          session: e.sessionId,
          clinic: e.clinic,
        },
        AbortSignal.any([ctx.signal, stopping.signal]),
        {
          onProgress: (stage) => logger.info('task pack stage done', { jobId: ctx.id, taskpack: name, attempt: ctx.attempt, stage }),
          onWorking: () => ctx.working?.(),
        },
      );
      if (ctx.signal.aborted) throw ctx.signal.reason;
      const entry: TaskpackIndex = {
        id: name,
        pack: r.id,
        clinic: e.clinic,
        patientId: e.patientId,
        sessionId: e.sessionId,
        assessment: r.assessment,
        createdAt: new Date().toISOString(),
        recordingSha256: e.recordingSha256,
        model: { version: model.source.version, id: model.id, ...(model.ref ? { ref: model.ref } : {}) },
        files: r.files,
        reportKey: `${prefix}9-task-pack/report.html`,
        metrics: r.metrics,
        counterfactuals: r.counterfactuals,
        seconds: r.seconds,
      };
      await o.artifacts.put(index, new TextEncoder().encode(JSON.stringify(entry)));
      logger.info('task pack stored', {
        jobId: ctx.id,
        taskpack: name,
        attempt: ctx.attempt,
        model: model.source.version,
        seconds: r.seconds,
        pacedMs: r.sleptMs,
      });
      await announce(entry.createdAt);
    } finally {
      await rm(scratch, { recursive: true, force: true });
    }
  };
  const handler: JobHandler<typeof JobSubject.TASKPACK_REQUESTED> = async (e, ctx) => {
    try {
      await build(e, ctx);
    } catch (error) {
      const last = !stopping.signal.aborted && (ctx.attempt >= maxDeliver || (error instanceof JobError && error.permanent));
      if (last) {
        const key = `${DEAD_LETTER_PREFIX}/${keySegment(e.clinic)}/${keySegment(ctx.id)}.json`;
        await o.artifacts
          .put(
            key,
            new TextEncoder().encode(
              JSON.stringify({ jobId: ctx.id, attempts: ctx.attempt, reason: describeReason(error), at: new Date().toISOString(), request: e }),
            ),
          )
          .catch((err: unknown) => logger.error('dead-letter record not stored', { jobId: ctx.id, error: err }));
        logger.error('task pack job dead-lettered', { jobId: ctx.id, reason: describeReason(error) });
      }
      throw error;
    }
  };
  // One job at a time: the builder has one process and refuses a second concurrent build.
  const consumption = await o.bus.consume(JobSubject.TASKPACK_REQUESTED, handler, { ackWaitMs: 10 * 60_000, ...o.consume, concurrency: 1 });
  return {
    setDuty: (duty) => builder.setDuty(duty),
    stop: async () => {
      stopping.abort(new JobError(JobErrorCode.HANDLER, 'task pack worker stopping', { permanent: false }));
      await consumption.stop();
      await builder.close();
    },
  };
}

/**
 * The bus the retrain worker should consume from: identical, except that an assessment.completed job
 * that finished (its handler resolved: model registered, or gate kept the old one; or it failed for
 * good, e.g. too short to train on) publishes its
 * taskpack.requested before it is acked — so a crash in between redelivers the retrain job, which
 * skips the retrain (its own idempotency) and publishes again (the request id makes that a no-op).
 * The recording is copied into the artifact store first when only the local path has it.
 */
export function requestTaskpacks(bus: JobBus, artifacts: ArtifactStore, logger: Logger = silentLogger): JobBus {
  return {
    ...bus,
    publish: (s, e, opts) => bus.publish(s, e, opts),
    depth: (s) => bus.depth(s),
    close: () => bus.close(),
    consume(subject, handler, opts) {
      if (subject !== JobSubject.ASSESSMENT_COMPLETED) return bus.consume(subject, handler, opts);
      const wrapped: JobHandler<typeof JobSubject.ASSESSMENT_COMPLETED> = async (e, ctx) => {
        try {
          await (handler as JobHandler<typeof JobSubject.ASSESSMENT_COMPLETED>)(e, ctx);
        } catch (error) {
          // A retrain that can never succeed (e.g. a recording too short to train on) still leaves a
          // session to report on, with the model that served it; a retryable failure requests nothing
          // yet (the redelivered retrain will).
          if (error instanceof JobError && error.permanent) await request(e).catch(() => undefined);
          throw error;
        }
        await request(e);
      };
      const request = async (e: AssessmentCompleted): Promise<void> => {
        // Session recordings are .jmrl; anything else (an imported file) keeps its extension for its adapter.
        const ext = extname(e.recording.path);
        const key = ext === '.jmrl' || ext === '' ? recordingKey(e.clinic, e.sessionId) : recordingKey(e.clinic, e.sessionId).replace(/\.jmrl$/, ext);
        if (!(await artifacts.has(key))) await artifacts.put(key, await readFile(e.recording.path));
        const r = await bus.publish(
          JobSubject.TASKPACK_REQUESTED,
          {
            jobId: `taskpack.${keySegment(e.sessionId)}`,
            clinic: e.clinic,
            patientId: e.patientId,
            sessionId: e.sessionId,
            recordingKey: key,
            recordingSha256: e.recording.sha256,
            assessment: e.assessment,
            model: e.model,
          },
          { id: `taskpack.${keySegment(e.sessionId)}.${e.recording.sha256.slice(0, 16)}` },
        );
        logger.info('task pack requested', { sessionId: e.sessionId, status: r.status, duplicate: r.duplicate });
      };
      return bus.consume(subject, wrapped as typeof handler, opts);
    },
  };
}
