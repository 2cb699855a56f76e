// Issue 9: a retrain job for a session recorded on node A completes on a worker that never saw node
// A's disk, and `jepa-motion train` on that recording learns from exactly the rows the job learnt from.
// Real private nats-server; node A records through the server's DiskRecordingStore, which publishes
// the finalised recording to the object store before `assessment.completed` goes out; then node A's
// data directory is deleted, and a retrain worker with its own data directory takes the job.
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { selectBackend } from '../../models/backend.js';
import type { FeatureSequence } from '../../models/types.js';
import { loadSequences } from '../../src/cli/model-data.js';
import { SHIPPED_MODEL_DIR } from '../../src/config.js';
import { createNatsJobBus } from '../../src/jobs/nats-job-bus.js';
import { JobSubject, type SettledInfo } from '../../src/jobs/job-bus.js';
import { createNatsNoticeBus } from '../../src/jobs/notices.js';
import { Outbox } from '../../src/jobs/outbox.js';
import { loadHistory } from '../../src/jobs/workers/feature-history.js';
import { resultKey, startRetrainWorker, type RetrainResult } from '../../src/jobs/workers/retrain-worker.js';
import { silentLogger } from '../../src/logger.js';
import { createRecordingPublisher } from '../../src/recordings/publish-recording.js';
import { assessmentCompleted, jobIdFor } from '../../src/sessions/assessment-completed.js';
import { DiskRecordingStore } from '../../src/sessions/recording-store.js';
import { recordingKey } from '../../src/storage/keys.js';
import { NatsArtifactStore } from '../../src/storage/nats-artifact-store.js';
import { NatsModelRegistry } from '../../src/storage/nats-model-registry.js';
import { hasMotionData, motion } from '../helpers/motion-data.js';
import { deferred, within } from '../src/jobs/deferred.js';
import { startNatsServer, type NatsServerHandle } from '../src/jobs/nats-server.js';
import { loadMocap } from '../src/jobs/workers/session-recording.js';
import { sessionMessages } from '../src/recordings/session-messages.js';

const CLINIC = 'north';
const PATIENT = 'p-cross';
const SESSION = 'sess-a-1';

describe.runIf(hasMotionData)('a session recorded on node A, retrained on node B', () => {
  let dir: string;
  let nats: NatsServerHandle;
  const conns: NatsConnection[] = [];
  beforeAll(async () => {
    await selectBackend('wasm');
    dir = await mkdtemp(join(tmpdir(), 'jm-cross-'));
    nats = await startNatsServer();
  });
  afterAll(async () => {
    for (const nc of conns) await nc.close();
    await nats?.dispose();
    await rm(dir, { recursive: true, force: true });
  });
  const natsConnect = async (): Promise<NatsConnection> => {
    const nc = await connect({ servers: nats.url });
    conns.push(nc);
    return nc;
  };

  it('completes on a worker that never saw node A’s disk, on the rows `train` reads', async () => {
    // Node A: the server's recording store with publishing wired as `serve` wires it.
    const dataA = join(dir, 'node-a');
    const ncA = await natsConnect();
    const artifactsA = await NatsArtifactStore.open(ncA);
    const publisher = createRecordingPublisher(artifactsA);
    const store = new DiskRecordingStore({ dir: join(dataA, 'recordings'), fsync: { mode: 'never' }, publish: (r) => publisher.publish(r) }, silentLogger);
    const meta = {
      sessionId: SESSION,
      clinic: CLINIC,
      patientId: PATIENT,
      assessment: 'gait',
      fps: 60,
      startedAt: Date.UTC(2026, 11, 7, 3, 0),
      model: { id: 'pretrained', kind: 'pretrained' as const, version: '0' },
    };
    const sink = await store.open(SESSION, meta);
    const walk = await loadMocap(motion('opensim-gait', 'subject01_walk1.trc'));
    const { messages, frames } = sessionMessages(walk, { patientId: PATIENT, assessment: 'gait', planeChangeAt: 40 });
    for (const m of messages) await sink.append(m);
    const fin = await sink.finalize();
    // Published before finalize resolved, i.e. before the session manager can publish the job.
    expect(await artifactsA.has(recordingKey(CLINIC, SESSION))).toBe(true);

    // What `jepa-motion train <recording>` reads, taken while node A's file still exists.
    const [trainSeq] = await loadSequences([fin.location]);

    const busA = await createNatsJobBus({ nc: ncA, outbox: await Outbox.open(join(dataA, 'outbox')), logger: silentLogger });
    const event = assessmentCompleted(meta, { path: fin.location, sha256: fin.sha256, frames, records: fin.records }, 'end', meta.startedAt + 60_000);
    await busA.publish(JobSubject.ASSESSMENT_COMPLETED, event, { id: jobIdFor(SESSION) });
    await busA.close();
    await rm(dataA, { recursive: true, force: true }); // node A's disk is gone

    // Node B: a worker with its own data directory and connection.
    const dataB = join(dir, 'node-b');
    const ncB = await natsConnect();
    const artifactsB = await NatsArtifactStore.open(ncB);
    const busB = await createNatsJobBus({ nc: ncB, outbox: await Outbox.open(join(dataB, 'outbox')), logger: silentLogger });
    const settled = deferred<SettledInfo>();
    const worker = await startRetrainWorker({
      bus: busB,
      notices: await createNatsNoticeBus({ nc: ncB, logger: silentLogger }),
      horizons: [1, 5, 10],
      registry: await NatsModelRegistry.open(ncB),
      artifacts: artifactsB,
      baseCheckpointDir: SHIPPED_MODEL_DIR,
      modelsDir: join(dataB, 'models'),
      trainArgs: { epochs: 2, seed: 3 },
      evalPasses: 2,
      backend: 'wasm',
      consume: { onSettled: (s) => s.id === jobIdFor(SESSION) && settled.resolve(s) },
    });
    try {
      const s = await within(settled.promise, 90_000, 'retrain job settled on node B');
      expect(s.error).toBeUndefined();
      expect(s.outcome).toBe('ack');
    } finally {
      await worker.stop();
      await busB.close();
    }
    const result = JSON.parse(new TextDecoder().decode(await artifactsB.get(resultKey(jobIdFor(SESSION))))) as RetrainResult;
    expect(['registered', 'rejected']).toContain(result.status);
    expect(result.recording).toMatchObject({ path: fin.location, sha256: fin.sha256, frames: trainSeq!.t.length });
    // The temporary copy of the recording is gone.
    expect(await readdir(join(dataB, 'models', '.tmp'))).toEqual([]);

    // The job's rows (kept as the patient's feature history) are exactly the rows `train` reads.
    const [history] = await loadHistory(artifactsB, PATIENT);
    const jobSeq: FeatureSequence = history!.sequence;
    expect(jobSeq.names).toEqual(trainSeq!.names);
    expect(jobSeq.t).toEqual(trainSeq!.t);
    expect(jobSeq.x).toEqual(trainSeq!.x);
    expect(jobSeq.poses).toEqual(trainSeq!.poses);
    expect(jobSeq.source.sha256).toBe(trainSeq!.source.sha256);
  }, 150_000);
});
