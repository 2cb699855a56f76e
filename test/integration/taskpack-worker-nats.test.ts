// The taskpack job against a real private nats-server (JetStream work queue) with real recordings and
// the shipped model: a worker that dies mid-job has its job redelivered and completed once; a duplicate
// assessment.completed ends in one pack; a job that fails every time is dead-lettered with its reason
// while the queue moves on.
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { jetstreamManager } from '@nats-io/jetstream';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadCheckpoint } from '../../models/checkpoint.js';
import { SHIPPED_MODEL_DIR } from '../../src/config.js';
import type { TaskpackReady, TaskpackRequested } from '../../src/jobs/contracts.js';
import { JobSubject } from '../../src/jobs/job-bus.js';
import { createNatsJobBus, DEFAULT_STREAM, type NatsJobBus } from '../../src/jobs/nats-job-bus.js';
import { Outbox } from '../../src/jobs/outbox.js';
import { DEAD_LETTER_PREFIX, requestTaskpacks, startTaskpackWorker, type TaskpackWorkerOptions } from '../../src/jobs/workers/taskpack-worker.js';
import { sha256 } from '../../src/pipeline/manifest.js';
import { DiskArtifactStore } from '../../src/storage/disk-artifact-store.js';
import { deferred, within } from '../src/jobs/deferred.js';
import { startNatsServer, type NatsServerHandle } from '../src/jobs/nats-server.js';
import { completed } from '../src/jobs/payloads.js';
import { hasMotionData, motion } from '../helpers/motion-data.js';

// A self-contained recording (the OpenSim TRC needs its static trial beside it).
const WALK = motion('shida-pd-gait', 'figshare_pd_SUB05_off_walk_8.c3d');
/** Long enough for a pack of this 12 s walk on a loaded 2-core machine; also the redelivery window after a death. */
const ACK_WAIT_MS = 60_000;

describe.runIf(hasMotionData)('taskpack job on NATS JetStream', () => {
  let server: NatsServerHandle;
  let dir: string;
  let artifacts: DiskArtifactStore;
  let stores = 0;
  /** Each test its own store: packs are idempotent on recording + model, so one store would hold one pack. */
  const freshStore = async (): Promise<void> => {
    artifacts = await DiskArtifactStore.open(join(dir, `artifacts-${++stores}`));
    await artifacts.put('recordings/clinic-1/walk.c3d', await readFile(WALK));
  };
  let walkSha: string;
  let baseVersion: string;
  beforeAll(async () => {
    server = await startNatsServer();
    dir = await mkdtemp(join(tmpdir(), 'jm-tp-nats-'));
    walkSha = sha256(await readFile(WALK));
    baseVersion = `weights:${(await loadCheckpoint(SHIPPED_MODEL_DIR)).weightsSha256.slice(0, 16)}`;
  });
  afterAll(async () => {
    await server?.dispose();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  const connectTo = (): Promise<NatsConnection> => connect({ servers: server.url, maxReconnectAttempts: 0 });
  async function makeBus(fresh: boolean): Promise<{ bus: NatsJobBus; nc: NatsConnection }> {
    const nc = await connectTo();
    if (fresh) await (await jetstreamManager(nc)).streams.delete(DEFAULT_STREAM).catch(() => false);
    return { bus: await createNatsJobBus({ nc, outbox: await Outbox.open(await mkdtemp(join(dir, 'outbox-'))) }), nc };
  }
  const request = (sessionId: string, key = 'recordings/clinic-1/walk.c3d'): TaskpackRequested => ({
    jobId: `taskpack.${sessionId}`,
    clinic: 'clinic-1',
    patientId: 'patient-1',
    sessionId,
    recordingKey: key,
    recordingSha256: walkSha,
    assessment: 'gait',
    model: { id: 'pretrained', kind: 'pretrained', version: baseVersion },
  });
  const options = (bus: NatsJobBus, ready: TaskpackReady[], extra: Partial<TaskpackWorkerOptions> = {}): TaskpackWorkerOptions => ({
    bus,
    artifacts,
    registry: { get: async () => undefined },
    notices: {
      notify: async (_s, p) => {
        ready.push(p as TaskpackReady);
        return 'sent';
      },
    },
    baseCheckpointDir: SHIPPED_MODEL_DIR,
    baseVersion,
    modelsDir: join(dir, 'models'),
    workDir: join(dir, 'work'),
    ...extra,
  });
  const packs = async (): Promise<string[]> => (await artifacts.list('taskpacks/clinic-1/')).filter((k) => k.endsWith('.json'));

  it('a worker killed mid-job: the job is redelivered to another worker and completes once', async () => {
    await freshStore();
    const a = await makeBus(true);
    const b = await makeBus(false);
    const started = deferred<number>();
    const readyA: TaskpackReady[] = [];
    // Worker A takes the job and dies in the middle of it: its connection drops, nothing is acked.
    await startTaskpackWorker(
      options(a.bus, readyA, {
        consume: { ackWaitMs: ACK_WAIT_MS },
        beforeBuild: (_e, ctx) => {
          started.resolve(ctx.attempt);
          return new Promise<void>(() => undefined);
        },
      }),
    );
    await a.bus.publish(JobSubject.TASKPACK_REQUESTED, request('killed'), { id: 'tp-killed' });
    expect(await within(started.promise, 30_000, 'worker A took the job')).toBe(1);
    await a.nc.close();
    const readyB: TaskpackReady[] = [];
    const done = deferred<number>();
    const wb = await startTaskpackWorker(
      options(b.bus, readyB, {
        consume: { ackWaitMs: ACK_WAIT_MS, onSettled: (i) => i.outcome === 'ack' && done.resolve(i.attempt) },
      }),
    );
    expect(await within(done.promise, 3 * ACK_WAIT_MS, 'redelivered job completed by worker B')).toBe(2);
    expect(readyA).toEqual([]);
    expect(readyB).toHaveLength(1);
    expect(await packs()).toHaveLength(1);
    expect(await b.bus.depth(JobSubject.TASKPACK_REQUESTED)).toBe(0);
    await wb.stop();
    await b.bus.close();
    await b.nc.close();
  }, 300_000);

  it('a duplicate assessment.completed ends in one task pack', async () => {
    await freshStore();
    const { bus, nc } = await makeBus(true);
    const before = (await packs()).length;
    const ready: TaskpackReady[] = [];
    const acked = deferred();
    let acks = 0;
    const w = await startTaskpackWorker(
      options(bus, ready, { consume: { ackWaitMs: ACK_WAIT_MS, onSettled: (i) => i.outcome === 'ack' && ++acks >= 1 && acked.resolve() } }),
    );
    // The retrain consumer, as job-consumers wires it; the retrain itself is not under test here.
    const retrains = deferred();
    let retrained = 0;
    const chained = requestTaskpacks(bus, artifacts);
    const r = await chained.consume(
      JobSubject.ASSESSMENT_COMPLETED,
      async () => {
        if (++retrained === 2) retrains.resolve();
      },
      { ackWaitMs: ACK_WAIT_MS },
    );
    const ev = completed('dup-session', { path: WALK, sha256: walkSha });
    await bus.publish(JobSubject.ASSESSMENT_COMPLETED, ev, { id: 'ac-dup-1' });
    await bus.publish(JobSubject.ASSESSMENT_COMPLETED, ev, { id: 'ac-dup-2' }); // a re-sent event under a new id
    await within(retrains.promise, 60_000, 'both deliveries retrained');
    await within(acked.promise, 3 * ACK_WAIT_MS, 'task pack built');
    await r.stop();
    await w.stop();
    expect((await packs()).length - before).toBe(1);
    expect(ready.length).toBeGreaterThanOrEqual(1);
    expect(new Set(ready.map((x) => x.taskpackId)).size).toBe(1);
    await bus.close();
    await nc.close();
  }, 300_000);

  it('a job that fails every time is dead-lettered with its reason; the next job still completes', async () => {
    await freshStore();
    const { bus, nc } = await makeBus(true);
    const ready: TaskpackReady[] = [];
    const settled: { id: string; outcome: string }[] = [];
    const good = deferred();
    const terminated = deferred();
    const w = await startTaskpackWorker(
      options(bus, ready, {
        consume: {
          ackWaitMs: ACK_WAIT_MS,
          maxDeliver: 2,
          backoffMs: [10],
          onSettled: (i) => {
            settled.push({ id: i.id, outcome: i.outcome });
            if (i.id === 'tp-good' && i.outcome === 'ack') good.resolve();
            if (i.id === 'tp-bad' && i.outcome === 'term') terminated.resolve();
          },
        },
        beforeBuild: async (e) => {
          if (e.sessionId === 'always-bad') throw new Error('simulated failure: the model server is gone');
        },
      }),
    );
    // Another recording (packs are idempotent on recording + model: the same one would count as done).
    await bus.publish(JobSubject.TASKPACK_REQUESTED, { ...request('always-bad'), recordingSha256: 'b'.repeat(64) }, { id: 'tp-bad' });
    await bus.publish(JobSubject.TASKPACK_REQUESTED, { ...request('good-one'), recordingSha256: walkSha }, { id: 'tp-good' });
    await within(good.promise, 3 * ACK_WAIT_MS, 'the good job completed');
    await within(terminated.promise, 3 * ACK_WAIT_MS, 'the bad job terminated').catch((e: unknown) => {
      throw new Error(`${String(e)}; settled: ${JSON.stringify(settled)}`);
    });
    const dead = await artifacts.list(`${DEAD_LETTER_PREFIX}/clinic-1/`);
    expect(dead).toHaveLength(1);
    const record = JSON.parse(new TextDecoder().decode(await artifacts.get(dead[0]!)));
    expect(record).toMatchObject({ jobId: 'tp-bad', attempts: 2, request: { sessionId: 'always-bad' } });
    expect(record.reason).toContain('simulated failure: the model server is gone');
    expect(settled.filter((s) => s.id === 'tp-bad').map((s) => s.outcome)).toEqual(['nak', 'term']);
    expect(await bus.depth(JobSubject.TASKPACK_REQUESTED)).toBe(0);
    await w.stop();
    await bus.close();
    await nc.close();
  }, 300_000);
});
