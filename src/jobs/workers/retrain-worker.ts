// The retrain job: `assessment.completed` → features of the session recording → adapter fine-tune of
// the shared base on this patient's recordings → gate against the base on a held-out tail →
// patient checkpoint (local dir + artifact store) → registry → `model.updated`.
//
// Ordering for at-least-once delivery: the job resolves (= ack) only after the checkpoint is stored,
// registered and announced, and the result record is written; a redelivered job whose result record
// exists does nothing (skipIfDone). A crash between registering and writing the result retrains once
// more and registers the next version: harmless, never a lost model.
//
// CPU: training runs on this thread (tfjs, single-threaded wasm) and yields to the event loop once per
// epoch only; default concurrency is 1 because two trainings on a 2-core box would starve live
// inference. Run the worker in its own process (distributed mode) where that matters.
import { join } from 'node:path';
import { z } from 'zod';
import { mergeAdapter } from '../../../models/adapters.js';
import { selectBackend, type BackendPreference } from '../../../models/backend.js';
import { checkFeatureNames, checkpointFromTraining, loadCheckpoint, saveCheckpoint, type LoadedCheckpoint } from '../../../models/checkpoint.js';
import { createTransitionSampler, type SamplerArgs } from '../../../models/dataset.js';
import { ModelError, ModelErrorCode } from '../../../models/errors.js';
import { trainWorldModel, type TrainArgs } from '../../../models/train.js';
import type { FeatureSequence } from '../../../models/types.js';
import { WorldModel } from '../../../models/world-model.js';
import type { FeatureOptions } from '../../../streams/features.js';
import { silentLogger, type Logger } from '../../logger.js';
import type { ArtifactStore } from '../../storage/artifact-store.js';
import { StorageError, StorageErrorCode } from '../../storage/errors.js';
import { retrainResultKey } from '../../storage/keys.js';
import type { ModelRef, ModelRegistry } from '../../storage/model-registry.js';
import { locateRecording } from '../../recordings/locate-recording.js';
import { resultExists, skipIfDone } from '../idempotent.js';
import { JobSubject, type ConsumeOptions, type JobBus, type JobContext, type JobHandler } from '../job-bus.js';
import { historyKey, loadHistory, saveHistory } from './feature-history.js';
import { localCheckpointDir, patientModelId, publishCheckpoint } from './patient-checkpoints.js';
import { recordingToFeatures, toRetrainError } from './recording-to-features.js';
import { RetrainError, RetrainErrorCode, toJobError } from './retrain-errors.js';
import { gatePatientModel, RETRAIN_EVAL_HORIZONS, type GateDecision } from './retrain-evaluation.js';

/** 2 s at 60 Hz: the smallest recording that leaves a training part and a held-out tail for Δh = 10. */
export const DEFAULT_MIN_FRAMES = 120;
/** Share of the new recording held out (its last frames) for the gate. */
export const DEFAULT_HOLDOUT_FRACTION = 0.2;
/** Adapter fine-tune defaults: 20 epochs is what models/adapters.ts measured its layer choice with. */
export const DEFAULT_RETRAIN_EPOCHS = 20;

/** The fields of src/sessions AssessmentCompleted this worker relies on (validated, untrusted). */
export const AssessmentCompletedEvent = z.object({
  sessionId: z.string().min(1).max(200),
  clinic: z.string().min(1).max(200),
  patientId: z.string().regex(/^[A-Za-z0-9_-]{1,128}$/),
  assessment: z.string().min(1).max(64),
  endedAt: z.string().max(64).optional(),
  recording: z.object({
    path: z.string().min(1).max(4096),
    sha256: z.string().regex(/^[0-9a-f]{64}$/),
    frames: z.number().int().nonnegative(),
  }),
});
export type AssessmentCompletedEvent = z.infer<typeof AssessmentCompletedEvent>;

/** What `model.updated` carries. */
export interface ModelUpdatedEvent {
  readonly patientId: string;
  readonly ref: ModelRef;
  /** The assessment.completed job that produced it. */
  readonly jobId: string;
  readonly sessionId: string;
}

/** Stored per job under `resultKey(jobId)`: the idempotency marker and the audit record. */
export interface RetrainResult {
  readonly jobId: string;
  readonly patientId: string;
  readonly sessionId: string;
  readonly status: 'registered' | 'rejected';
  readonly ref?: ModelRef;
  readonly gate: GateDecision;
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

export interface RetrainWorkerOptions {
  readonly bus: JobBus;
  readonly registry: ModelRegistry;
  readonly artifacts: ArtifactStore;
  /** The shared base (pretrained/clinic) checkpoint directory the live inference serves. */
  readonly baseCheckpointDir: string;
  /** Local cache of patient checkpoint directories (see patient-checkpoints.ts). */
  readonly modelsDir: string;
  readonly logger?: Logger;
  /** Fine-tune settings; mode is always 'adapter'. Default epochs DEFAULT_RETRAIN_EPOCHS. */
  readonly trainArgs?: Omit<TrainArgs, 'mode'>;
  readonly sampler?: SamplerArgs;
  /** Fewer pipeline frames → permanent RETRAIN_RECORDING_TOO_SHORT. Default DEFAULT_MIN_FRAMES. */
  readonly minFrames?: number;
  readonly holdoutFraction?: number;
  /** Earlier recordings of the patient trained on together with the new one. Default 8. */
  readonly historyLimit?: number;
  /** Gate slack per horizon (retrain-evaluation.ts). */
  readonly tolerance?: number;
  /** MC passes of the gate's evaluation reports. */
  readonly evalPasses?: number;
  readonly features?: FeatureOptions;
  readonly maxFrames?: number;
  /** tfjs backend for training (selectBackend; a no-op when it is already active). 'auto' (default):
   *  tensorflow, else wasm, else cpu — the same values as config.backend. */
  readonly backend?: BackendPreference | 'auto';
  /** Bus consume options; concurrency defaults to 1 (see the file comment). */
  readonly consume?: ConsumeOptions;
}

export interface RetrainWorker {
  readonly base: LoadedCheckpoint;
  readonly backend: string;
  /** Stops taking jobs; resolves after the running one has settled. */
  stop(): Promise<void>;
}

/** What the handler needs; startRetrainWorker builds it. */
export interface RetrainHandlerDeps {
  readonly o: RetrainWorkerOptions;
  readonly base: LoadedCheckpoint & { kind: 'base' };
  readonly backend: string;
  readonly logger: Logger;
}

/** Loads the base checkpoint (fails fast if it is missing) and starts consuming. */
export async function startRetrainWorker(o: RetrainWorkerOptions): Promise<RetrainWorker> {
  checkOptions(o);
  const backend = await selectBackend(o.backend === 'auto' || o.backend === undefined ? undefined : o.backend);
  const base = await loadCheckpoint(o.baseCheckpointDir);
  if (base.kind !== 'base')
    throw new ModelError(ModelErrorCode.INVALID_ARGS, `${o.baseCheckpointDir} is a ${base.kind} checkpoint; the retrain worker fine-tunes from a base`);
  const handler = createRetrainHandler({ o, base, backend, logger: o.logger ?? silentLogger });
  const consumption = await o.bus.consume(JobSubject.ASSESSMENT_COMPLETED, handler, { concurrency: 1, ...o.consume });
  return { base, backend, stop: () => consumption.stop() };
}

/** The bus handler (exported for composition roots that consume themselves). */
export function createRetrainHandler(ctx: RetrainHandlerDeps): JobHandler {
  const run: JobHandler = async (event, job) => {
    try {
      await retrain(ctx, event, job);
    } catch (err) {
      throw toJobError(err);
    }
  };
  return skipIfDone(
    resultExists(ctx.o.artifacts, (job) => resultKey(job.id)),
    run,
    (job) => ctx.logger.info('retrain job already done', { id: job.id }),
  );
}

async function retrain(ctx: RetrainHandlerDeps, raw: unknown, job: JobContext): Promise<void> {
  const { o, base, logger } = ctx;
  const parsed = AssessmentCompletedEvent.safeParse(raw);
  if (!parsed.success) {
    throw new RetrainError(RetrainErrorCode.BAD_EVENT, parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; '));
  }
  const ev = parsed.data;
  const started = performance.now();
  const seconds: Record<string, number> = {};
  const lap = (name: string, since: number): number => {
    const now = performance.now();
    seconds[name] = (now - since) / 1000;
    return now;
  };
  // Published to the artifact store before the event (src/recordings), so this works on any node.
  const located = await locateRecording(o.artifacts, { clinic: ev.clinic, sessionId: ev.sessionId, path: ev.recording.path }, join(o.modelsDir, '.tmp')).catch(
    (err: unknown) => {
      throw toRetrainError(err);
    },
  );
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
  let mark = lap('features', started);
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
  const { train, heldOut } = splitTail(seq, o.holdoutFraction ?? DEFAULT_HOLDOUT_FRACTION);
  const ownKey = historyKey(ev.patientId, eventTime(ev), ev.sessionId);
  const history = await loadHistory(o.artifacts, ev.patientId, {
    exceptKey: ownKey,
    ...(o.historyLimit !== undefined ? { limit: o.historyLimit } : {}),
    onBad: (key, error) => logger.warn('skipping unreadable feature history entry', { key, error }),
  });
  const trainSeqs = [...history.map((h) => h.sequence).filter((s) => sameNames(s, seq)), train];
  job.signal.throwIfAborted();

  const sampler = createTransitionSampler(trainSeqs, base.normalization, o.sampler);
  const baseModel = new WorldModel(base.modelConfig, base.weights);
  let patientModel: WorldModel | undefined;
  let result;
  let gate: GateDecision;
  try {
    result = await trainWorldModel(
      { sampler, init: baseModel, signal: job.signal, onEpoch: () => new Promise<void>((r) => setImmediate(r)) },
      { epochs: DEFAULT_RETRAIN_EPOCHS, ...o.trainArgs, mode: 'adapter' },
    );
    // The copy of the frozen base is not needed: the adapter plus `base` is the patient model
    // (checkpointFromTraining reads only result.model.config, plain data, afterwards).
    result.model.dispose();
    mark = lap('train', mark);
    if (!result.adapter) throw new ModelError(ModelErrorCode.INVALID_ARGS, 'adapter training returned no adapter');
    patientModel = new WorldModel(base.modelConfig, mergeAdapter(base.weights, result.adapter));
    gate = await gatePatientModel(baseModel, patientModel, trainSeqs, heldOut, base.normalization, {
      backend: ctx.backend,
      horizons: RETRAIN_EVAL_HORIZONS,
      ...(o.tolerance !== undefined ? { tolerance: o.tolerance } : {}),
      ...(o.evalPasses !== undefined ? { passes: o.evalPasses } : {}),
    });
    lap('gate', mark);
  } finally {
    baseModel.dispose();
    patientModel?.dispose();
  }
  // Kept whatever the gate says: the next retrain of this patient learns from this session too.
  await saveHistory(o.artifacts, ownKey, seq);
  job.signal.throwIfAborted();

  const record = {
    jobId: job.id,
    patientId: ev.patientId,
    sessionId: ev.sessionId,
    gate,
    training: {
      frames: trainSeqs.reduce((a, s) => a + s.t.length, 0),
      recordings: trainSeqs.length,
      steps: result.steps,
      seconds: result.seconds,
      lossCurve: result.lossCurve,
    },
    recording: { path: ev.recording.path, sha256: features.sha256, frames, droppedFrames: features.droppedFrames, rejectedRecords: features.rejectedRecords },
    seconds,
  };
  const fields = { id: job.id, patientId: ev.patientId, base: gate.baseMean, patient: gate.patientMean, seconds: (performance.now() - started) / 1000 };
  if (!gate.accepted) {
    await putResult(o.artifacts, { ...record, status: 'rejected' });
    logger.info('patient model rejected by the gate; base stays', { ...fields, reason: gate.reason });
    return;
  }
  const version = ((await o.registry.get(ev.patientId))?.version ?? 0) + 1;
  const dir = localCheckpointDir(o.modelsDir, patientModelId(ev.clinic, ev.patientId, version));
  const provenance = {
    inputs: [
      { file: ev.recording.path, sha256: features.sha256 },
      ...history.map((h) => ({ file: h.sequence.source.file, sha256: h.sequence.source.sha256 })),
      { file: join(base.dir, 'weights.bin'), sha256: base.weightsSha256 },
    ],
  };
  try {
    await saveCheckpoint(
      dir,
      checkpointFromTraining(result, { featureNames: base.featureNames, normalization: base.normalization, backend: ctx.backend, provenance, base }),
    );
  } catch (cause) {
    if (cause instanceof ModelError) throw cause;
    throw new RetrainError(RetrainErrorCode.IO, `cannot write the patient checkpoint to ${dir}`, { cause });
  }
  const ref = await publishCheckpoint(o.artifacts, dir, ev.clinic, ev.patientId, version).catch((cause: unknown) => {
    throw cause instanceof StorageError ? cause : new RetrainError(RetrainErrorCode.IO, `cannot read back ${dir}`, { cause });
  });
  try {
    await o.registry.register(ev.patientId, ref);
  } catch (err) {
    // A concurrent job took this version: retried, it registers the next one.
    if (err instanceof StorageError && err.code === StorageErrorCode.REGISTRY_STALE) throw new RetrainError(RetrainErrorCode.IO, err.message, { cause: err });
    throw err;
  }
  const updated: ModelUpdatedEvent = { patientId: ev.patientId, ref, jobId: job.id, sessionId: ev.sessionId };
  await o.bus.publish(JobSubject.MODEL_UPDATED, updated, { id: `${JobSubject.MODEL_UPDATED}.${ev.patientId}.v${version}` });
  await putResult(o.artifacts, { ...record, status: 'registered', ref });
  logger.info('patient model registered', { ...fields, ref: ref.id, version });
}

function checkOptions(o: RetrainWorkerOptions): void {
  const bad = (msg: string): never => {
    throw new RetrainError(RetrainErrorCode.BAD_OPTIONS, msg);
  };
  // 14 = the smallest split that still has a training part and a held-out tail of 12 (Δh 10 + 2).
  if (o.minFrames !== undefined && !(Number.isInteger(o.minFrames) && o.minFrames >= 14)) bad(`minFrames must be an integer ≥ 14, got ${o.minFrames}`);
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

/** First (1 − fraction) of the frames for training, the rest (at least 12: Δh 10 + 2) held out. */
export function splitTail(s: FeatureSequence, fraction: number): { train: FeatureSequence; heldOut: FeatureSequence } {
  const n = s.t.length;
  const hold = Math.min(n - 2, Math.max(12, Math.ceil(n * fraction)));
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
  const d = ev.endedAt !== undefined ? new Date(ev.endedAt) : undefined;
  return d && Number.isFinite(d.getTime()) ? d : new Date(0);
}
