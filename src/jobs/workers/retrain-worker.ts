// The retrain job: `assessment.completed` → features of the session recording → adapter fine-tune of
// the shared base on this patient's recordings → gate against the base on a held-out tail →
// patient checkpoint (local dir + artifact store) → registry → `model.updated` (a notification).
//
// Coalescing: jobs of one patient that queue behind each other run as ONE retrain over all of their
// recordings (src/jobs/coalesce.ts): the newest recording's tail is the gate's held-out part, the
// earlier ones of the batch train in full like the patient's history. Every job of the batch gets its
// own result record, so each is acked once and a redelivery of any of them does nothing.
//
// Ordering for at-least-once delivery: a job resolves (= ack) only after the checkpoint is stored,
// registered and announced, and its result record is written; a redelivered job whose result record
// exists does nothing (skipIfDone). A crash between registering and writing the result retrains once
// more and registers the next version: harmless, never a lost model.
//
// CPU: training is synchronous tfjs work. Where a batch runs is the `executor`'s business: in this
// thread (the `worker` command's trainer threads, tests) or in a job thread of `serve`
// (src/jobs/job-host.ts), never on the thread that answers frames.
import { join } from 'node:path';
import { mergeAdapter } from '../../../models/adapters.js';
import { selectBackend, type BackendPreference } from '../../../models/backend.js';
import { checkFeatureNames, checkpointFromTraining, loadCheckpoint, saveCheckpoint, type LoadedCheckpoint } from '../../../models/checkpoint.js';
import { createTransitionSampler, type HorizonLaw, type SamplerArgs } from '../../../models/dataset.js';
import { ModelError, ModelErrorCode } from '../../../models/errors.js';
import { trainWorldModel, type TrainArgs } from '../../../models/train.js';
import type { FeatureSequence } from '../../../models/types.js';
import { WorldModel } from '../../../models/world-model.js';
import type { FeatureOptions } from '../../../streams/features.js';
import { silentLogger, type Logger } from '../../logger.js';
import type { ArtifactStore } from '../../storage/artifact-store.js';
import { StorageError, StorageErrorCode } from '../../storage/errors.js';
import { keySegment, retrainResultKey } from '../../storage/keys.js';
import type { ModelRef, ModelRegistry } from '../../storage/model-registry.js';
import { locateRecording } from '../../recordings/locate-recording.js';
import { coalesce, type BatchFailures } from '../coalesce.js';
import { NoticeSubject, type AssessmentCompleted } from '../contracts.js';
import { JobSubject, type ConsumeOptions, type JobBus } from '../job-bus.js';
import type { NoticeBus } from '../notices.js';
import { historyKey, loadHistory, saveHistory } from './feature-history.js';
import { localCheckpointDir, patientModelId, publishCheckpoint } from './patient-checkpoints.js';
import { recordingToFeatures, toRetrainError } from './recording-to-features.js';
import { RetrainError, RetrainErrorCode, toJobError } from './retrain-errors.js';
import { MIN_GATE_TRANSITIONS, gatePatientModel, planHorizons, type GateDecision } from './retrain-evaluation.js';

/** 2 s at 60 Hz: the smallest recording that leaves a training part and a held-out tail for Δh = 10. */
export const DEFAULT_MIN_FRAMES = 120;
/** Share of the new recording held out (its last frames) for the gate. */
export const DEFAULT_HOLDOUT_FRACTION = 0.2;
/** Adapter fine-tune defaults: 20 epochs is what models/adapters.ts measured its layer choice with. */
export const DEFAULT_RETRAIN_EPOCHS = 20;
/**
 * Δh drawn uniformly in 1..30 for the fine-tune, not log-uniformly as for the base: the gate judges
 * every configured horizon alike, and log-uniform (Δh 16–30 ≈ 1/5 of the draws) let the adapter drift
 * at Δh 30. Treadmill walk (Fukuchi WBDS19), shipped base, 20 epochs, normalised MSE at Δh 30, patient
 * vs base: 10-s session 0.907 vs 0.636 (log-uniform) → 0.616 (uniform); 30-s 0.544 vs 0.480 → 0.313,
 * with Δh 1/5/10 still below the base.
 */
export const RETRAIN_HORIZON_LAW: HorizonLaw = 'uniform';
/** Jobs taken from the bus at once (waiting to coalesce + running). The rest wait in the bus. */
export const DEFAULT_HOLD_LIMIT = 16;

/** The payload (validated by the bus against src/jobs/contracts.ts before the handler runs). */
export type AssessmentCompletedEvent = AssessmentCompleted;

/** What the worker needs of the registry (a job thread reaches the owner's registry through a port). */
export type RegistryWriter = Pick<ModelRegistry, 'get' | 'register'>;

/** Stored per job under `resultKey(jobId)`: the idempotency marker and the audit record. */
export interface RetrainResult {
  readonly jobId: string;
  readonly patientId: string;
  readonly sessionId: string;
  readonly status: 'registered' | 'rejected';
  readonly ref?: ModelRef;
  readonly gate: GateDecision;
  /** The jobs (and their sessions) trained together in this run, oldest first; this one included. */
  readonly batch: { readonly jobIds: readonly string[]; readonly sessionIds: readonly string[] };
  readonly training: {
    readonly frames: number;
    readonly recordings: number;
    readonly steps: number;
    readonly seconds: number;
    readonly lossCurve: readonly number[];
  };
  readonly recording: {
    readonly path: string;
    readonly sha256: string;
    readonly frames: number;
    readonly droppedFrames: number;
    readonly rejectedRecords: number;
  };
  /** Wall-clock seconds per phase (features, train, gate), for capacity planning. */
  readonly seconds: Readonly<Record<string, number>>;
}

export const resultKey = retrainResultKey;
export { recordingKey } from '../../storage/keys.js';

/** How a retrain runs: structured-cloneable, so a job thread gets the same settings. */
export interface RetrainSettings {
  /** The shared base (pretrained/clinic) checkpoint directory the live inference serves. */
  readonly baseCheckpointDir: string;
  /** Local cache of patient checkpoint directories (see patient-checkpoints.ts). */
  readonly modelsDir: string;
  /** The configured prediction horizons (config.horizons): the gate judges what live inference serves. */
  readonly horizons: readonly number[];
  /** MC passes of the gate's evaluation reports (config.mcPasses). */
  readonly evalPasses: number;
  /** Fine-tune settings; mode is always 'adapter'. Default epochs DEFAULT_RETRAIN_EPOCHS. */
  readonly trainArgs?: Omit<TrainArgs, 'mode' | 'signal'>;
  /** Fine-tune sampler; default horizon law RETRAIN_HORIZON_LAW. */
  readonly sampler?: SamplerArgs;
  /** Fewer pipeline frames → permanent RETRAIN_RECORDING_TOO_SHORT. Default DEFAULT_MIN_FRAMES. */
  readonly minFrames?: number;
  readonly holdoutFraction?: number;
  /** Earlier recordings of the patient trained on together with the new ones. Default 8. */
  readonly historyLimit?: number;
  /** Gate slack per horizon (retrain-evaluation.ts). */
  readonly tolerance?: number;
  readonly features?: FeatureOptions;
  readonly maxFrames?: number;
  /** tfjs backend for training (selectBackend; a no-op when it is already active). 'auto' (default):
   *  tensorflow, else wasm, else cpu — the same values as config.backend. */
  readonly backend?: BackendPreference | 'auto';
}

/** One job of a batch as it crosses a thread boundary. */
export interface BatchJob {
  readonly id: string;
  readonly attempt: number;
  readonly event: AssessmentCompletedEvent;
}

/** Runs one coalesced batch (one patient) somewhere: this thread or a job thread. */
export interface RetrainExecutor {
  run(batch: readonly BatchJob[], signal: AbortSignal): Promise<BatchFailures>;
  close(): Promise<void>;
}

export interface RetrainWorkerOptions extends RetrainSettings {
  readonly bus: JobBus;
  readonly registry: RegistryWriter;
  readonly artifacts: ArtifactStore;
  readonly notices: NoticeBus;
  readonly logger?: Logger;
  /** Batches (of different patients) running at once. Default 1. With the default in-thread executor
   *  they share this thread; pass an executor with as many threads to run them in parallel. */
  readonly trainers?: number;
  /** Jobs held at once (waiting to coalesce + running); the bus keeps the rest. Default DEFAULT_HOLD_LIMIT. */
  readonly holdLimit?: number;
  /** Where batches run. Default: this thread (loads the base checkpoint here). */
  readonly executor?: RetrainExecutor;
  /** Bus consume options; the concurrency is the hold limit. */
  readonly consume?: Omit<ConsumeOptions, 'concurrency'>;
  /** A batch starts (metrics, tests). */
  readonly onBatch?: (patientId: string, jobIds: readonly string[]) => void;
}

export interface RetrainWorker {
  /** Stops taking jobs; resolves after the running batches have settled. */
  stop(): Promise<void>;
}

/** What a batch run needs; built once per thread by createRetrainRunner. */
export interface RetrainDeps {
  readonly o: RetrainSettings;
  readonly base: LoadedCheckpoint & { kind: 'base' };
  readonly backend: string;
  readonly artifacts: ArtifactStore;
  readonly registry: RegistryWriter;
  readonly notices: Pick<NoticeBus, 'notify'>;
  readonly logger: Logger;
  /** Called after every training step: a background process paces itself here (../pacer.ts). */
  readonly pace?: () => Promise<void>;
}

/** Consumes `assessment.completed`, coalescing each patient's queued jobs into one retrain. */
export async function startRetrainWorker(o: RetrainWorkerOptions): Promise<RetrainWorker> {
  checkSettings(o);
  const logger = o.logger ?? silentLogger;
  const trainers = o.trainers ?? 1;
  const holdLimit = o.holdLimit ?? DEFAULT_HOLD_LIMIT;
  if (!Number.isInteger(trainers) || trainers < 1) throw new RetrainError(RetrainErrorCode.BAD_OPTIONS, `trainers must be an integer ≥ 1, got ${trainers}`);
  if (!Number.isInteger(holdLimit) || holdLimit < trainers)
    throw new RetrainError(RetrainErrorCode.BAD_OPTIONS, `holdLimit must be an integer ≥ trainers (${trainers}), got ${holdLimit}`);
  const executor = o.executor ?? (await inThreadExecutor(o, logger));
  // Deliveries enter the coalescer synchronously (one bus pump = one gather window); the idempotency
  // check is file I/O, so it runs per batch, not before joining the line (its awaits split batches).
  const c = coalesce<AssessmentCompletedEvent>({
    keyOf: (e) => `${e.clinic}/${e.patientId}`,
    slots: trainers,
    maxBatch: holdLimit,
    run: async (batch, signal) => {
      const done = await Promise.all(batch.map((j) => o.artifacts.has(resultKey(j.ctx.id))));
      const todo = batch.filter((j, i) => {
        if (done[i]) logger.info('retrain job already done', { id: j.ctx.id });
        return !done[i];
      });
      if (todo.length === 0) return new Map();
      o.onBatch?.(
        todo[0]?.event.patientId ?? '',
        todo.map((j) => j.ctx.id),
      );
      return executor.run(
        todo.map((j) => ({ id: j.ctx.id, attempt: j.ctx.attempt, event: j.event })),
        signal,
      );
    },
  });
  const consumption = await o.bus.consume(JobSubject.ASSESSMENT_COMPLETED, c.handler, { ...o.consume, concurrency: holdLimit });
  return {
    stop: async () => {
      await consumption.stop();
      await executor.close();
    },
  };
}

/** Loads the base checkpoint (fails fast if it is missing) and selects the training backend. */
export async function createRetrainDeps(
  o: RetrainSettings,
  io: Pick<RetrainDeps, 'artifacts' | 'registry' | 'notices' | 'logger'> & Partial<Pick<RetrainDeps, 'pace'>>,
): Promise<RetrainDeps> {
  checkSettings(o);
  const backend = await selectBackend(o.backend === 'auto' || o.backend === undefined ? undefined : o.backend);
  const base = await loadCheckpoint(o.baseCheckpointDir);
  if (base.kind !== 'base')
    throw new ModelError(ModelErrorCode.INVALID_ARGS, `${o.baseCheckpointDir} is a ${base.kind} checkpoint; the retrain worker fine-tunes from a base`);
  return { o, base, backend, ...io };
}

async function inThreadExecutor(o: RetrainWorkerOptions, logger: Logger): Promise<RetrainExecutor> {
  const deps = await createRetrainDeps(o, { artifacts: o.artifacts, registry: o.registry, notices: o.notices, logger });
  return { run: (batch, signal) => retrainBatch(deps, batch, signal), close: async () => undefined };
}

interface NewRecording {
  readonly job: BatchJob;
  readonly seq: FeatureSequence;
  readonly historyKey: string;
  readonly droppedFrames: number;
  readonly rejectedRecords: number;
  readonly sha256: string;
}

/**
 * One retrain over every job of the batch (one patient, oldest first). A job whose recording cannot be
 * used fails alone (its error in the returned map); the others still train. Never throws for a job's
 * own problem; throws (failing the whole batch) for what concerns all of them (training, storage).
 */
export async function retrainBatch(deps: RetrainDeps, batch: readonly BatchJob[], signal: AbortSignal): Promise<BatchFailures> {
  const failures = new Map<string, unknown>();
  try {
    await runBatch(deps, batch, signal, failures);
  } catch (err) {
    const e = toJobError(err);
    for (const j of batch) if (!failures.has(j.id)) failures.set(j.id, e);
  }
  return failures;
}

async function runBatch(deps: RetrainDeps, batch: readonly BatchJob[], signal: AbortSignal, failures: Map<string, unknown>): Promise<void> {
  const { o, base, logger } = deps;
  const started = performance.now();
  const seconds: Record<string, number> = {};
  const lap = (name: string, since: number): number => {
    const now = performance.now();
    seconds[name] = (now - since) / 1000;
    return now;
  };
  const fresh: NewRecording[] = [];
  for (const job of batch) {
    try {
      fresh.push(await newRecording(deps, job));
    } catch (err) {
      failures.set(job.id, toJobError(err));
    }
  }
  if (fresh.length === 0) return;
  // The newest session (by end time, then arrival) gives the held-out tail; the earlier ones train in full.
  fresh.sort((a, b) => eventTime(a.job.event).getTime() - eventTime(b.job.event).getTime());
  const newest = fresh[fresh.length - 1] as NewRecording;
  const ev = newest.job.event;
  const seq = newest.seq;
  let mark = lap('features', started);
  const { train, heldOut } = splitTail(seq, o.holdoutFraction ?? DEFAULT_HOLDOUT_FRACTION, minHold(o));
  const ownKeys = new Set(fresh.map((f) => f.historyKey));
  const history = (
    await loadHistory(deps.artifacts, ev.patientId, {
      ...(o.historyLimit !== undefined ? { limit: o.historyLimit + ownKeys.size } : {}),
      onBad: (key, error) => logger.warn('skipping unreadable feature history entry', { key, error }),
    })
  )
    .filter((h) => !ownKeys.has(h.key))
    .slice(-(o.historyLimit ?? Number.POSITIVE_INFINITY));
  const trainSeqs = [...history.map((h) => h.sequence), ...fresh.slice(0, -1).map((f) => f.seq)].filter((s) => sameNames(s, seq));
  trainSeqs.push(train);
  signal.throwIfAborted();

  const sampler = createTransitionSampler(trainSeqs, base.normalization, { horizonLaw: RETRAIN_HORIZON_LAW, ...o.sampler });
  const baseModel = new WorldModel(base.modelConfig, base.weights);
  let patientModel: WorldModel | undefined;
  let result;
  let gate: GateDecision;
  try {
    result = await trainWorldModel(
      { sampler, init: baseModel, signal, onEpoch: () => new Promise<void>((r) => setImmediate(r)), ...(deps.pace ? { onStep: deps.pace } : {}) },
      { epochs: DEFAULT_RETRAIN_EPOCHS, ...o.trainArgs, mode: 'adapter' },
    );
    // The copy of the frozen base is not needed: the adapter plus `base` is the patient model
    // (checkpointFromTraining reads only result.model.config, plain data, afterwards).
    result.model.dispose();
    mark = lap('train', mark);
    if (!result.adapter) throw new ModelError(ModelErrorCode.INVALID_ARGS, 'adapter training returned no adapter');
    patientModel = new WorldModel(base.modelConfig, mergeAdapter(base.weights, result.adapter));
    gate = await gatePatientModel(baseModel, patientModel, trainSeqs, heldOut, base.normalization, {
      backend: deps.backend,
      horizons: o.horizons,
      passes: o.evalPasses,
      ...(o.tolerance !== undefined ? { tolerance: o.tolerance } : {}),
    });
    lap('gate', mark);
  } finally {
    baseModel.dispose();
    patientModel?.dispose();
  }
  // Kept whatever the gate says: the next retrain of this patient learns from these sessions too.
  for (const f of fresh) await saveHistory(deps.artifacts, f.historyKey, f.seq);
  signal.throwIfAborted();

  const jobIds = fresh.map((f) => f.job.id);
  const sessionIds = fresh.map((f) => f.job.event.sessionId);
  const training = {
    frames: trainSeqs.reduce((a, s) => a + s.t.length, 0),
    recordings: trainSeqs.length,
    steps: result.steps,
    seconds: result.seconds,
    lossCurve: result.lossCurve,
  };
  const recordOf = (f: NewRecording) => ({
    jobId: f.job.id,
    patientId: f.job.event.patientId,
    sessionId: f.job.event.sessionId,
    gate,
    batch: { jobIds, sessionIds },
    training,
    recording: {
      path: f.job.event.recording.path,
      sha256: f.sha256,
      frames: f.seq.t.length,
      droppedFrames: f.droppedFrames,
      rejectedRecords: f.rejectedRecords,
    },
    seconds,
  });
  const fields = {
    id: newest.job.id,
    patientId: ev.patientId,
    jobs: jobIds.length,
    base: gate.baseMean,
    patient: gate.patientMean,
    seconds: (performance.now() - started) / 1000,
  };
  if (!gate.accepted) {
    for (const f of fresh) await putResult(deps.artifacts, { ...recordOf(f), status: 'rejected' });
    logger.info('patient model rejected by the gate; base stays', { ...fields, reason: gate.reason });
    return;
  }
  const version = ((await deps.registry.get(ev.patientId))?.version ?? 0) + 1;
  const dir = localCheckpointDir(o.modelsDir, patientModelId(ev.clinic, ev.patientId, version));
  const provenance = {
    inputs: [
      ...[...fresh].reverse().map((f) => ({ file: f.job.event.recording.path, sha256: f.sha256 })),
      ...history.map((h) => ({ file: h.sequence.source.file, sha256: h.sequence.source.sha256 })),
      { file: join(base.dir, 'weights.bin'), sha256: base.weightsSha256 },
    ],
  };
  try {
    await saveCheckpoint(
      dir,
      checkpointFromTraining(result, { featureNames: base.featureNames, normalization: base.normalization, backend: deps.backend, provenance, base }),
    );
  } catch (cause) {
    if (cause instanceof ModelError) throw cause;
    throw new RetrainError(RetrainErrorCode.IO, `cannot write the patient checkpoint to ${dir}`, { cause });
  }
  const ref = await publishCheckpoint(deps.artifacts, dir, ev.clinic, ev.patientId, version).catch((cause: unknown) => {
    throw cause instanceof StorageError ? cause : new RetrainError(RetrainErrorCode.IO, `cannot read back ${dir}`, { cause });
  });
  try {
    await deps.registry.register(ev.patientId, ref);
  } catch (err) {
    // A concurrent job took this version: retried, it registers the next one.
    if (err instanceof StorageError && err.code === StorageErrorCode.REGISTRY_STALE) throw new RetrainError(RetrainErrorCode.IO, err.message, { cause: err });
    throw err;
  }
  // Hot swap follows the registry (its watch); this notification is for everyone else (at most once).
  await deps.notices.notify(
    NoticeSubject.MODEL_UPDATED,
    { clinic: ev.clinic, patientId: ev.patientId, ref, jobId: fresh[0]?.job.id ?? newest.job.id, sessionIds },
    { id: `${NoticeSubject.MODEL_UPDATED}.${keySegment(ev.patientId)}.v${version}` },
  );
  for (const f of fresh) await putResult(deps.artifacts, { ...recordOf(f), status: 'registered', ref });
  logger.info('patient model registered', { ...fields, ref: ref.id, version });
}

/** One new recording of the batch as features, checked against the base and the minimum length. */
async function newRecording(deps: RetrainDeps, job: BatchJob): Promise<NewRecording> {
  const { o, base } = deps;
  const ev = job.event;
  // Published to the artifact store before the event (src/recordings), so this works on any node.
  const located = await locateRecording(
    deps.artifacts,
    { clinic: ev.clinic, sessionId: ev.sessionId, path: ev.recording.path },
    join(o.modelsDir, '.tmp'),
  ).catch((err: unknown) => {
    throw toRetrainError(err);
  });
  let features;
  try {
    features = await recordingToFeatures(located.path, {
      expectedSha256: ev.recording.sha256,
      subject: ev.patientId,
      sourceFile: ev.recording.path,
      ...(o.features ? { features: o.features } : {}),
      ...(o.maxFrames !== undefined ? { maxFrames: o.maxFrames } : {}),
    });
  } finally {
    await located.release();
  }
  const seq = features.sequence;
  const frames = seq.t.length;
  const minFrames = o.minFrames ?? DEFAULT_MIN_FRAMES;
  if (frames < minFrames) {
    throw new RetrainError(
      RetrainErrorCode.RECORDING_TOO_SHORT,
      `${ev.recording.path}: ${frames} usable frames (${features.wireFrames} frame messages, ${features.droppedFrames} dropped), need at least ${minFrames}`,
    );
  }
  try {
    checkFeatureNames(base.featureNames, base.modelConfig.featureDim, seq.names);
  } catch (cause) {
    throw new RetrainError(RetrainErrorCode.FEATURE_MISMATCH, `recording features do not fit the base model ${o.baseCheckpointDir}`, { cause });
  }
  return {
    job,
    seq,
    historyKey: historyKey(ev.patientId, eventTime(ev), ev.sessionId),
    droppedFrames: features.droppedFrames,
    rejectedRecords: features.rejectedRecords,
    sha256: features.sha256,
  };
}

export { MIN_GATE_TRANSITIONS };

/** The smallest held-out tail: enough transitions at the smallest configured horizon. */
const minHold = (o: RetrainSettings): number => Math.min(...o.horizons) + MIN_GATE_TRANSITIONS;

/** The configured horizons this tail can judge (the gate's planHorizons; minHold guarantees the smallest). */
export function gateHorizons(horizons: readonly number[], heldOutFrames: number): readonly number[] {
  return planHorizons(horizons, heldOutFrames).judged;
}

function checkSettings(o: RetrainSettings): void {
  const bad = (msg: string): never => {
    throw new RetrainError(RetrainErrorCode.BAD_OPTIONS, msg);
  };
  const h = o.horizons;
  if (!Array.isArray(h) || h.length === 0 || h.some((v, i) => !Number.isInteger(v) || v < 1 || (i > 0 && v <= (h[i - 1] as number))))
    bad(`horizons must be ascending integers ≥ 1, got ${JSON.stringify(h)}`);
  if (!Number.isInteger(o.evalPasses) || o.evalPasses < 1) bad(`evalPasses must be an integer ≥ 1, got ${o.evalPasses}`);
  // The smallest recording that still leaves a training part (≥ 2 frames) and the smallest held-out tail.
  const least = minHold(o) + 2;
  if (o.minFrames !== undefined && !(Number.isInteger(o.minFrames) && o.minFrames >= least)) bad(`minFrames must be an integer ≥ ${least}, got ${o.minFrames}`);
  if ((o.minFrames ?? DEFAULT_MIN_FRAMES) < least) bad(`the smallest horizon ${Math.min(...h)} needs minFrames ≥ ${least}`);
  if (o.holdoutFraction !== undefined && !(o.holdoutFraction > 0 && o.holdoutFraction < 1)) bad(`holdoutFraction must be in (0, 1), got ${o.holdoutFraction}`);
  if (o.tolerance !== undefined && !(o.tolerance >= 0 && o.tolerance < 1)) bad(`tolerance must be in [0, 1), got ${o.tolerance}`);
  if (o.historyLimit !== undefined && !(Number.isInteger(o.historyLimit) && o.historyLimit >= 0))
    bad(`historyLimit must be an integer ≥ 0, got ${o.historyLimit}`);
  if (o.maxFrames !== undefined && !(Number.isInteger(o.maxFrames) && o.maxFrames >= (o.minFrames ?? DEFAULT_MIN_FRAMES)))
    bad(`maxFrames must be an integer ≥ minFrames, got ${o.maxFrames}`);
}

async function putResult(artifacts: ArtifactStore, r: RetrainResult): Promise<void> {
  // Typed arrays do not survive JSON: the reports hold numbers only, the record is plain data.
  await artifacts.put(resultKey(r.jobId), new TextEncoder().encode(JSON.stringify(r, null, 1)));
}

/** First (1 − fraction) of the frames for training, the rest (at least `minHold` frames) held out. */
export function splitTail(s: FeatureSequence, fraction: number, minHold: number): { train: FeatureSequence; heldOut: FeatureSequence } {
  const n = s.t.length;
  const hold = Math.min(n - 2, Math.max(minHold, Math.ceil(n * fraction)));
  const cut = n - hold;
  const f = s.names.length;
  const slice = (a: number, b: number): FeatureSequence => {
    const t0 = s.t[a] ?? 0;
    return { ...s, x: s.x.slice(a * f, b * f), t: s.t.slice(a, b).map((v) => v - t0), poses: s.poses.slice(a * 60, b * 60) };
  };
  return { train: slice(0, cut), heldOut: slice(cut, n) };
}

function sameNames(a: FeatureSequence, b: FeatureSequence): boolean {
  return a.names.length === b.names.length && a.names.every((n, i) => n === b.names[i]);
}

function eventTime(ev: AssessmentCompletedEvent): Date {
  const d = new Date(ev.endedAt);
  return Number.isFinite(d.getTime()) ? d : new Date(0);
}
