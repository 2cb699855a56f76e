// The retrain job end to end on the in-process bus: a real walk (OpenSim subject01) replayed as an
// ARKit session recording → assessment.completed → adapter fine-tune of a base trained on another
// subject's walking (CMU 131_02) → gate → checkpoint + artifacts → registry (watch) → model.updated.
import { readdir, readFile, rm, mkdtemp, writeFile } from 'node:fs/promises';
import { createHash } from 'node:crypto';
import { spawnSync } from 'node:child_process';
import { getPriority, tmpdir } from 'node:os';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import type { Subscription } from 'rxjs';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { selectBackend } from '../../models/backend.js';
import { checkpointFromTraining, loadCheckpoint, saveCheckpoint } from '../../models/checkpoint.js';
import { computeNormalization, createTransitionSampler } from '../../models/dataset.js';
import { loadFeatureSequence } from '../../models/feature-sequences.js';
import { ModelError, ModelErrorCode } from '../../models/errors.js';
import { trainWorldModel, type TrainArgs } from '../../models/train.js';
import type { Recording } from '../../streams/types.js';
import { JobError } from '../../src/jobs/errors.js';
import { createInProcessBus } from '../../src/jobs/in-process-bus.js';
import { JobSubject, type JobBus, type SettledInfo } from '../../src/jobs/job-bus.js';
import { createPatientCheckpointResolver } from '../../src/jobs/workers/patient-checkpoints.js';
import { RetrainError, RetrainErrorCode } from '../../src/jobs/workers/retrain-errors.js';
import { resultExists } from '../../src/jobs/idempotent.js';
import { resultKey, startRetrainWorker, type RetrainExecutor, type RetrainResult, type RetrainWorker } from '../../src/jobs/workers/retrain-worker.js';
import { startRetrainThreads } from '../../src/jobs/job-host.js';
import type { Logger } from '../../src/logger.js';
import { captureLogger } from '../src/jobs/log-capture.js';
import { NoticeSubject, type AssessmentCompleted, type ModelUpdated } from '../../src/jobs/contracts.js';
import { JobErrorCode } from '../../src/jobs/errors.js';
import { createLocalNoticeBus, type NoticeBus } from '../../src/jobs/notices.js';
import type { ArtifactStore } from '../../src/storage/artifact-store.js';
import { DiskArtifactStore } from '../../src/storage/disk-artifact-store.js';
import { StorageError, StorageErrorCode } from '../../src/storage/errors.js';
import { LocalModelRegistry, type ModelUpdate } from '../../src/storage/model-registry.js';
import { hasMotionData, motion } from '../helpers/motion-data.js';
import { deferred, eventually, within } from '../src/jobs/deferred.js';
import { loadMocap, writeSessionRecording } from '../src/jobs/workers/session-recording.js';

const PATIENT = 'patient-7';
let dir: string;
let baseDir: string;
let walk: Recording;

beforeAll(async () => {
  if (!hasMotionData) return;
  await selectBackend('wasm');
  dir = await mkdtemp(join(tmpdir(), 'jm-retrain-'));
  baseDir = join(dir, 'base');
  // The shared base: a short full training on another subject's walking (full body, like ARKit). It is
  // non-residual on purpose: a residual base starts at "nothing changes" and a 150-frame patient
  // recording cannot beat it by the gate's margin, while this test is about the accept path.
  const seq = await loadFeatureSequence({ path: motion('cmu-bvh', '131_02.bvh'), assessment: 'gait', subject: 'cmu131' });
  const norm = computeNormalization([seq]);
  const r = await trainWorldModel({ sampler: createTransitionSampler([seq], norm, { seed: 1 }), model: { residual: false } }, { epochs: 4, seed: 1 });
  try {
    await saveCheckpoint(
      baseDir,
      checkpointFromTraining(r, {
        featureNames: seq.names,
        normalization: norm,
        backend: 'wasm',
        provenance: { inputs: [{ file: seq.source.file, sha256: seq.source.sha256 }] },
      }),
    );
  } finally {
    r.model.dispose();
  }
  walk = await loadMocap(motion('opensim-gait', 'subject01_walk1.trc'));
});

afterAll(async () => {
  if (dir) await rm(dir, { recursive: true, force: true });
});

/** The live configuration's horizons are [1, 5, 10, 30]; these are the gate's here (short recordings). */
const HORIZONS = [1, 5, 10];

interface Rig {
  bus: JobBus;
  notices: NoticeBus;
  worker: RetrainWorker;
  settled: SettledInfo[];
  /** Resolves when job `id` settled (its `attempt`-th delivery, if given). */
  waitSettled: (id: string, attempt?: number) => Promise<SettledInfo>;
}

const rigs: Rig[] = [];
afterEach(async () => {
  for (const r of rigs.splice(0)) {
    await r.worker.stop();
    await r.bus.close();
  }
});

async function rig(
  artifacts: ArtifactStore,
  registry: LocalModelRegistry,
  modelsDir: string,
  trainArgs: TrainArgs = { epochs: 6, seed: 2 },
  extra: {
    before?: (bus: JobBus) => Promise<void>;
    onBatch?: (patientId: string, jobIds: readonly string[]) => void;
    notices?: NoticeBus;
    executor?: RetrainExecutor;
    logger?: Logger;
  } = {},
): Promise<Rig> {
  const bus = createInProcessBus();
  const notices = extra.notices ?? createLocalNoticeBus();
  await extra.before?.(bus);
  const settled: SettledInfo[] = [];
  const waiters: { match: (s: SettledInfo) => boolean; resolve: (s: SettledInfo) => void }[] = [];
  const worker = await startRetrainWorker({
    bus,
    notices,
    horizons: HORIZONS,
    registry,
    artifacts,
    baseCheckpointDir: baseDir,
    modelsDir,
    trainArgs,
    evalPasses: 2,
    ...(extra.onBatch ? { onBatch: extra.onBatch } : {}),
    ...(extra.executor ? { executor: extra.executor } : {}),
    ...(extra.logger ? { logger: extra.logger } : {}),
    consume: {
      backoffMs: [5],
      onSettled: (s) => {
        settled.push(s);
        for (const w of waiters) if (w.match(s)) w.resolve(s);
      },
    },
  });
  const r: Rig = {
    bus,
    notices,
    worker,
    settled,
    waitSettled: (id, attempt) => {
      const match = (s: SettledInfo): boolean => s.id === id && (attempt === undefined || s.attempt === attempt);
      const done = settled.find(match);
      if (done) return Promise.resolve(done);
      const d = deferred<SettledInfo>();
      waiters.push({ match, resolve: d.resolve });
      return within(d.promise, 25_000, `job ${id} settled`);
    },
  };
  rigs.push(r);
  return r;
}

function completed(sessionId: string, fx: { path: string; sha256: string; frames: number }): AssessmentCompleted {
  return {
    sessionId,
    clinic: 'c1',
    patientId: PATIENT,
    assessment: 'gait',
    model: { id: 'base', kind: 'pretrained', version: '0' },
    startedAt: '2026-11-24T01:00:00.000Z',
    endedAt: '2026-11-24T01:05:00.000Z',
    reason: 'end',
    recording: { path: fx.path, sha256: fx.sha256, frames: fx.frames, records: fx.frames + 4 },
  };
}

const cause = (s: SettledInfo): RetrainError => {
  expect(s.outcome).toBe('term');
  expect(s.error).toBeInstanceOf(JobError);
  expect((s.error as JobError).permanent).toBe(true);
  const c = (s.error as JobError).cause;
  expect(c).toBeInstanceOf(RetrainError);
  return c as RetrainError;
};

/** Whether util-linux `chrt` runs here (background processes then use SCHED_IDLE). */
function hasChrt(): boolean {
  return spawnSync('chrt', ['--version']).status === 0;
}

describe.skipIf(!hasMotionData)('retrain worker (in-process bus, real recordings)', () => {
  it('fine-tunes, gates, stores, registers and announces the patient model; a redelivery does no work', async () => {
    const artifacts = await DiskArtifactStore.open(join(dir, 'artifacts'));
    const registry = await LocalModelRegistry.open({ file: join(dir, 'registry.json') });
    const modelsDir = join(dir, 'models');
    const seen: ModelUpdate[] = [];
    const watched = deferred<ModelUpdate>();
    const sub: Subscription = registry.watch().subscribe((u) => {
      seen.push(u);
      watched.resolve(u);
    });
    try {
      const r = await rig(artifacts, registry, modelsDir);
      const updated = deferred<ModelUpdated>();
      const listener = r.notices.subscribe(NoticeSubject.MODEL_UPDATED, updated.resolve);
      const fx = await writeSessionRecording(join(dir, 's1.jmrl'), walk, { patientId: PATIENT, sessionId: 's1', assessment: 'gait' });
      const jobId = 'assessment.completed.s1';
      const tensorsBefore = tf.memory().numTensors;
      const t0 = performance.now();
      await r.bus.publish(JobSubject.ASSESSMENT_COMPLETED, completed('s1', fx), { id: jobId });
      const ev = await within(updated.promise, 25_000, 'model.updated');
      expect(performance.now() - t0).toBeLessThan(25_000);
      expect((await r.waitSettled(jobId)).outcome).toBe('ack');
      listener.stop();
      expect(tf.memory().numTensors).toBe(tensorsBefore);

      // Registry, watch and event agree.
      const ref = await registry.get(PATIENT);
      expect(ref).toEqual({ id: `models/c1/${PATIENT}/v1`, version: 1, sha256: ev.ref.sha256, kind: 'patient-adapter' });
      expect(ev).toEqual({ clinic: 'c1', patientId: PATIENT, ref, jobId, sessionIds: ['s1'] });
      expect(await within(watched.promise, 1000, 'registry watch')).toEqual({ patientId: PATIENT, ref });

      // The checkpoint is a patient adapter on this base, stored locally and in the artifact store.
      const base = await loadCheckpoint(baseDir);
      const resolve = createPatientCheckpointResolver({ registry, artifacts, modelsDir: join(dir, 'other-node') });
      const fetched = await resolve(PATIENT, ref!.id);
      expect(fetched).toBe(join(dir, 'other-node', 'models', 'c1', PATIENT, 'v1'));
      const ck = await loadCheckpoint(fetched!);
      expect(ck.kind).toBe('patient');
      if (ck.kind !== 'patient') throw new Error('unreachable');
      expect(ck.base.weightsSha256).toBe(base.weightsSha256);
      expect(ck.featureNames).toEqual(base.featureNames);
      expect(ck.provenance.inputs[0]).toEqual({ file: fx.path, sha256: fx.sha256 });
      expect(
        createHash('sha256')
          .update(await readFile(join(fetched!, 'checkpoint.json')))
          .digest('hex'),
      ).toBe(ref!.sha256);
      expect(ck.lossCurve).toHaveLength(6);

      // The audit record: gate numbers obey the stated rule.
      const result = JSON.parse(new TextDecoder().decode(await artifacts.get(resultKey(jobId)))) as RetrainResult;
      expect(result.status).toBe('registered');
      expect(result.gate.accepted).toBe(true);
      for (const h of ['1', '5', '10']) expect(result.gate.patient[h]!).toBeLessThanOrEqual(result.gate.base[h]! * 1.02);
      expect(result.gate.patientMean).toBeLessThanOrEqual(result.gate.baseMean);
      expect(result.recording.frames).toBe(fx.frames);
      expect(result.training.recordings).toBe(1);
      expect(await artifacts.list(`retrain/${PATIENT}/features/`)).toHaveLength(1);
      // Redelivery (a new bus, as after a crash before the ack reached NATS): skipped, nothing changes.
      await r.worker.stop();
      const again = await rig(artifacts, registry, modelsDir);
      const t1 = performance.now();
      await again.bus.publish(JobSubject.ASSESSMENT_COMPLETED, completed('s1', fx), { id: jobId });
      expect((await again.waitSettled(jobId)).outcome).toBe('ack');
      expect(performance.now() - t1).toBeLessThan(2000);
      expect((await registry.get(PATIENT))?.version).toBe(1);
      expect(seen).toHaveLength(1);
      expect(
        await resultExists(artifacts, () => resultKey(jobId)).isDone(null, {
          id: jobId,
          subject: JobSubject.ASSESSMENT_COMPLETED,
          attempt: 1,
          signal: new AbortController().signal,
        }),
      ).toBe(true);

      // The patient's next session trains on both recordings and registers version 2.
      const fx2 = await writeSessionRecording(join(dir, 's2.jmrl'), walk, {
        patientId: PATIENT,
        sessionId: 's2',
        assessment: 'gait',
        resumeAfter: 100,
        resend: 3,
      });
      await again.bus.publish(
        JobSubject.ASSESSMENT_COMPLETED,
        { ...completed('s2', fx2), endedAt: '2026-11-24T02:00:00.000Z' },
        { id: 'assessment.completed.s2' },
      );
      expect((await again.waitSettled('assessment.completed.s2')).outcome).toBe('ack');
      const r2 = JSON.parse(new TextDecoder().decode(await artifacts.get(resultKey('assessment.completed.s2')))) as RetrainResult;
      expect(r2.training.recordings).toBe(2);
      expect(r2.recording.droppedFrames).toBe(3);
      expect(r2.status).toBe(r2.gate.accepted ? 'registered' : 'rejected');
      expect((await registry.get(PATIENT))?.version).toBe(r2.gate.accepted ? 2 : 1);
      expect(await artifacts.list(`retrain/${PATIENT}/features/`)).toHaveLength(2);
    } finally {
      sub.unsubscribe();
    }
  });

  it("coalesces a patient's queued retrains into one over all new recordings; every job gets its own result", async () => {
    const artifacts = await DiskArtifactStore.open(join(dir, 'artifacts-coalesce'));
    const registry = await LocalModelRegistry.open();
    const notices = createLocalNoticeBus();
    const updates: ModelUpdated[] = [];
    notices.subscribe(NoticeSubject.MODEL_UPDATED, (n) => updates.push(n));
    const batches: { patientId: string; jobIds: readonly string[] }[] = [];
    const sessions = ['c1', 'c2', 'c3'];
    const fxs = await Promise.all(
      sessions.map((id) => writeSessionRecording(join(dir, `${id}.jmrl`), walk, { patientId: PATIENT, sessionId: id, assessment: 'gait' })),
    );
    const other = await writeSessionRecording(join(dir, 'q1.jmrl'), walk, { patientId: 'patient-8', sessionId: 'q1', assessment: 'gait' });
    // Three sessions of one patient ended together and queued (plus one of another patient) before the worker ran.
    const r = await rig(artifacts, registry, join(dir, 'models-coalesce'), undefined, {
      notices,
      onBatch: (patientId, jobIds) => batches.push({ patientId, jobIds }),
      before: async (bus) => {
        for (const [i, id] of sessions.entries())
          await bus.publish(JobSubject.ASSESSMENT_COMPLETED, { ...completed(id, fxs[i]!), endedAt: `2026-11-24T01:0${i + 1}:00.000Z` }, { id: `j-${id}` });
        await bus.publish(JobSubject.ASSESSMENT_COMPLETED, { ...completed('q1', other), patientId: 'patient-8' }, { id: 'j-q1' });
      },
    });
    for (const id of [...sessions, 'q1']) expect((await r.waitSettled(`j-${id}`)).outcome).toBe('ack');
    // One retrain for the three queued jobs instead of three in a row.
    expect(batches).toEqual([
      { patientId: PATIENT, jobIds: ['j-c1', 'j-c2', 'j-c3'] },
      { patientId: 'patient-8', jobIds: ['j-q1'] },
    ]);
    const results = await Promise.all(
      sessions.map(async (id) => JSON.parse(new TextDecoder().decode(await artifacts.get(resultKey(`j-${id}`)))) as RetrainResult),
    );
    for (const [i, res] of results.entries()) {
      expect(res.jobId).toBe(`j-${sessions[i]}`);
      expect(res.sessionId).toBe(sessions[i]);
      expect(res.batch).toEqual({ jobIds: ['j-c1', 'j-c2', 'j-c3'], sessionIds: sessions });
      expect(res.training.recordings).toBe(3);
      expect(res.status).toBe(results[0]!.status);
      expect(res.ref).toEqual(results[0]!.ref);
    }
    expect(await artifacts.list(`retrain/${PATIENT}/features/`)).toHaveLength(3);
    // One model version for the patient, announced once, naming every session it learned from.
    expect(results[0]!.status).toBe('registered');
    expect((await registry.get(PATIENT))?.version).toBe(1);
    expect(updates.filter((u) => u.patientId === PATIENT)).toEqual([
      { clinic: 'c1', patientId: PATIENT, ref: results[0]!.ref, jobId: 'j-c1', sessionIds: sessions },
    ]);
  });

  it('runs in a background retrain process: the registration reaches the owner registry (watch → hot swap) and the notification goes out', async () => {
    const artifactsDir = join(dir, 'artifacts-thread');
    const artifacts = await DiskArtifactStore.open(artifactsDir);
    const registry = await LocalModelRegistry.open();
    const watched = deferred<ModelUpdate>();
    const sub = registry.watch().subscribe(watched.resolve);
    const notices = createLocalNoticeBus();
    const updated = deferred<ModelUpdated>();
    notices.subscribe(NoticeSubject.MODEL_UPDATED, updated.resolve);
    const logger = captureLogger();
    const modelsDir = join(dir, 'models-thread');
    const executor = await startRetrainThreads({
      count: 1,
      init: {
        settings: { baseCheckpointDir: baseDir, modelsDir, horizons: HORIZONS, evalPasses: 2, trainArgs: { epochs: 6, seed: 2 }, backend: 'wasm' },
        artifacts: { kind: 'disk', dir: artifactsDir },
      },
      registry,
      notices,
      logger,
    });
    try {
      expect(executor.backend).toBe('wasm');
      // Paced as `serve` paces it while live sessions run: it sleeps between training steps.
      executor.setDuty(0.5);
      const r = await rig(artifacts, registry, modelsDir, undefined, { notices, executor, logger });
      const fx = await writeSessionRecording(join(dir, 't1.jmrl'), walk, { patientId: PATIENT, sessionId: 't1', assessment: 'gait' });
      await r.bus.publish(JobSubject.ASSESSMENT_COMPLETED, completed('t1', fx), { id: 'j-t1' });
      expect((await r.waitSettled('j-t1')).outcome).toBe('ack');
      const ref = await registry.get(PATIENT);
      expect(ref?.version).toBe(1);
      expect(await within(watched.promise, 1000, 'registry watch')).toEqual({ patientId: PATIENT, ref });
      expect(await within(updated.promise, 1000, 'model.updated')).toMatchObject({ patientId: PATIENT, ref, sessionIds: ['t1'] });
      // Training is background work: every thread of the retrain process (V8's GC helpers included)
      // runs at nice 19; this process (frames) keeps its priority.
      const lowered = logger.lines.find((l) => l.msg === 'retrain process priority lowered');
      expect(lowered?.fields).toMatchObject({ nice: 19, retrainThread: 0 });
      const pid = Number(lowered?.fields['pid']);
      expect(pid).not.toBe(process.pid);
      const tids = await readdir(`/proc/${pid}/task`);
      expect(tids.length).toBeGreaterThan(4);
      // …and under SCHED_IDLE (policy 5) where util-linux `chrt` is installed, as on this project's boxes.
      expect(lowered?.fields['schedIdle']).toBe(hasChrt());
      for (const tid of tids) {
        const fields = (await readFile(`/proc/${pid}/task/${tid}/stat`, 'utf8')).split(') ')[1]!.split(' ');
        expect(Number(fields[16]), `nice of thread ${tid}`).toBe(19);
        expect(Number(fields[38]), `policy of thread ${tid}`).toBe(hasChrt() ? 5 : 0);
      }
      expect(getPriority()).not.toBe(19);
      // The work happened in the retrain process: its log lines arrive tagged with it.
      expect(logger.lines.find((l) => l.msg === 'patient model registered')?.fields).toMatchObject({ retrainThread: 0, patientId: PATIENT, version: 1 });
      const result = JSON.parse(new TextDecoder().decode(await artifacts.get(resultKey('j-t1')))) as RetrainResult;
      expect(result).toMatchObject({ status: 'registered', ref });
      const paced = await logger.waitFor((l) => l.msg === 'retrain batch paced', 5_000, 'the paced batch');
      expect(paced?.fields).toMatchObject({ duty: 0.5, retrainThread: 0 });
      expect(Number(paced?.fields['sleptMs'])).toBeGreaterThan(0);
    } finally {
      sub.unsubscribe();
    }
  }, 60_000);

  it('terminates bad recordings at once with a clear code and registers nothing', async () => {
    const artifacts = await DiskArtifactStore.open(join(dir, 'artifacts-bad'));
    const registry = await LocalModelRegistry.open();
    const r = await rig(artifacts, registry, join(dir, 'models-bad'));
    const short = await writeSessionRecording(join(dir, 'short.jmrl'), walk, { patientId: PATIENT, sessionId: 'short', assessment: 'gait', maxFrames: 60 });
    const garbagePath = join(dir, 'garbage.jmrl');
    const garbage = Buffer.from('definitely not a recording log '.repeat(64));
    await writeFile(garbagePath, garbage);
    const whole = await writeSessionRecording(join(dir, 'whole.jmrl'), walk, { patientId: PATIENT, sessionId: 'whole', assessment: 'gait' });
    const cutPath = join(dir, 'cut.jmrl');
    const cutBytes = (await readFile(whole.path)).subarray(0, 40_000);
    await writeFile(cutPath, cutBytes);
    const sha = (b: Uint8Array): string => createHash('sha256').update(b).digest('hex');
    const cases = [
      { id: 'j-short', event: completed('short', short), code: RetrainErrorCode.RECORDING_TOO_SHORT },
      { id: 'j-garbage', event: completed('garbage', { path: garbagePath, sha256: sha(garbage), frames: 100 }), code: RetrainErrorCode.RECORDING_UNREADABLE },
      { id: 'j-cut', event: completed('cut', { path: cutPath, sha256: sha(cutBytes), frames: 151 }), code: RetrainErrorCode.RECORDING_DAMAGED },
      {
        id: 'j-missing',
        event: completed('missing', { path: join(dir, 'nope.jmrl'), sha256: sha(garbage), frames: 1 }),
        code: RetrainErrorCode.RECORDING_NOT_FOUND,
      },
      { id: 'j-mismatch', event: completed('whole', { ...whole, sha256: sha(garbage) }), code: RetrainErrorCode.RECORDING_MISMATCH },
    ];
    // A payload outside the contract never reaches the worker: the bus refuses it on publish.
    await expect(
      r.bus.publish(JobSubject.ASSESSMENT_COMPLETED, { ...completed('x', short), patientId: '../etc' }, { id: 'j-bad-event' }),
    ).rejects.toMatchObject({
      code: JobErrorCode.BAD_EVENT,
    });
    for (const c of cases) await r.bus.publish(JobSubject.ASSESSMENT_COMPLETED, c.event, { id: c.id });
    for (const c of cases) {
      const s = await r.waitSettled(c.id);
      expect(s.attempt).toBe(1);
      expect(cause(s).code, c.id).toBe(c.code);
    }
    expect(await registry.list()).toEqual([]);
    // A term is not confirmed by the server (an ack is): poll until it has been applied.
    await eventually(
      () => r.bus.depth(JobSubject.ASSESSMENT_COMPLETED),
      (d) => d === 0,
      10_000,
      'every bad event gone from the queue',
    );
    expect(await artifacts.list('retrain/')).toEqual([]);
  });

  it('retries a job whose artifact write fails (IO), then acks once it goes through', async () => {
    const disk = await DiskArtifactStore.open(join(dir, 'artifacts-flaky'));
    let failures = 1;
    const flaky: ArtifactStore = {
      put: (key, body) => {
        if (key.endsWith('/weights.bin') && failures-- > 0) return Promise.reject(new StorageError(StorageErrorCode.ARTIFACT_IO, 'disk full (injected)'));
        return disk.put(key, body);
      },
      get: (k) => disk.get(k),
      has: (k) => disk.has(k),
      list: (p) => disk.list(p),
    };
    const registry = await LocalModelRegistry.open();
    const r = await rig(flaky, registry, join(dir, 'models-flaky'));
    const fx = await writeSessionRecording(join(dir, 'flaky.jmrl'), walk, { patientId: PATIENT, sessionId: 'flaky', assessment: 'gait' });
    await r.bus.publish(JobSubject.ASSESSMENT_COMPLETED, completed('flaky', fx), { id: 'j-flaky' });
    const first = await r.waitSettled('j-flaky');
    expect(first.outcome).toBe('nak');
    expect((first.error as JobError).permanent).toBe(false);
    expect(((first.error as JobError).cause as RetrainError).code).toBe(RetrainErrorCode.IO);
    expect((await r.waitSettled('j-flaky', 2)).outcome).toBe('ack');
    expect((await registry.get(PATIENT))?.version).toBe(1);
  });

  it('keeps the base when the fine-tuned model is worse on the held-out tail (rejected, nothing registered)', async () => {
    const artifacts = await DiskArtifactStore.open(join(dir, 'artifacts-reject'));
    const registry = await LocalModelRegistry.open();
    // A learning rate 300× the default wrecks the adapter: the gate must catch it.
    const r = await rig(artifacts, registry, join(dir, 'models-reject'), { epochs: 6, seed: 2, lr: 0.3 });
    const fx = await writeSessionRecording(join(dir, 'reject.jmrl'), walk, { patientId: PATIENT, sessionId: 'reject', assessment: 'gait' });
    await r.bus.publish(JobSubject.ASSESSMENT_COMPLETED, completed('reject', fx), { id: 'j-reject' });
    expect((await r.waitSettled('j-reject')).outcome).toBe('ack');
    const result = JSON.parse(new TextDecoder().decode(await artifacts.get(resultKey('j-reject')))) as RetrainResult;
    expect(result.status).toBe('rejected');
    expect(result.gate.accepted).toBe(false);
    expect(result.gate.patientMean).toBeGreaterThan(result.gate.baseMean);
    expect(result.ref).toBeUndefined();
    expect(await registry.list()).toEqual([]);
    expect(await artifacts.list('models/')).toEqual([]);
    // The session still joins the patient's history for the next retrain.
    expect(await artifacts.list(`retrain/${PATIENT}/features/`)).toHaveLength(1);
  });

  it('refuses to start on bad options or a missing base checkpoint', async () => {
    const bus = createInProcessBus();
    const artifacts = await DiskArtifactStore.open(join(dir, 'artifacts-start'));
    const registry = await LocalModelRegistry.open();
    const common = {
      bus,
      notices: createLocalNoticeBus(),
      horizons: HORIZONS,
      evalPasses: 2,
      registry,
      artifacts,
      baseCheckpointDir: baseDir,
      modelsDir: join(dir, 'models-start'),
    };
    try {
      for (const bad of [
        { minFrames: 5 },
        { minFrames: 22 },
        { minFrames: 60, horizons: [50, 60] },
        { horizons: [] },
        { horizons: [5, 1] },
        { evalPasses: 0 },
        { holdoutFraction: 1 },
        { tolerance: -0.1 },
        { historyLimit: 1.5 },
        { maxFrames: 50 },
        { trainers: 0 },
        { trainers: 4, holdLimit: 2 },
      ]) {
        const err = await startRetrainWorker({ ...common, ...bad }).catch((e: unknown) => e);
        expect(err, JSON.stringify(bad)).toBeInstanceOf(RetrainError);
        expect((err as RetrainError).code).toBe(RetrainErrorCode.BAD_OPTIONS);
      }
      const missing = await startRetrainWorker({ ...common, baseCheckpointDir: join(dir, 'no-base') }).catch((e: unknown) => e);
      expect(missing).toBeInstanceOf(ModelError);
      expect((missing as ModelError).code).toBe(ModelErrorCode.CHECKPOINT_NOT_FOUND);
      // The same failure inside a retrain thread reaches the caller as the thread starts, named and coded.
      const inThread = await startRetrainThreads({
        count: 1,
        init: {
          settings: { baseCheckpointDir: join(dir, 'no-base'), modelsDir: join(dir, 'models-start'), horizons: HORIZONS, evalPasses: 2, backend: 'wasm' },
          artifacts: { kind: 'disk', dir: join(dir, 'artifacts-start') },
        },
        registry,
        notices: common.notices,
        logger: captureLogger(),
      }).catch((e: unknown) => e);
      expect(inThread).toMatchObject({ name: 'ModelError', code: ModelErrorCode.CHECKPOINT_NOT_FOUND, message: expect.stringContaining('no-base') as unknown });
    } finally {
      await bus.close();
    }
  });
});
