// The taskpack job against a real private nats-server (JetStream work queue) with real recordings and
// the shipped model: a worker process SIGKILLed mid-job has its job redelivered to another process and
// completed once; a duplicate
// assessment.completed ends in one pack; a job that fails every time is dead-lettered with its reason
// while the queue moves on.
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { jetstreamManager } from '@nats-io/jetstream';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { loadCheckpoint } from '../../models/checkpoint.js';
import { SHIPPED_MODEL_DIR } from '../../src/config.js';
import type { TaskpackReady, TaskpackRequested } from '../../src/jobs/contracts.js';
import { JobSubject } from '../../src/jobs/job-bus.js';
import { createNatsJobBus, DEFAULT_STREAM, type NatsJobBus } from '../../src/jobs/nats-job-bus.js';
import { Outbox } from '../../src/jobs/outbox.js';
import { DEAD_LETTER_PREFIX, requestTaskpacks, startTaskpackWorker, type TaskpackWorkerOptions } from '../../src/jobs/workers/taskpack-worker.js';
import { sha256 } from '../../src/pipeline/manifest.js';
import { DiskArtifactStore } from '../../src/storage/disk-artifact-store.js';
import { NatsArtifactStore } from '../../src/storage/nats-artifact-store.js';
import { deferred, eventually, within } from '../src/jobs/deferred.js';
import { startNatsServer, type NatsServerHandle } from '../src/jobs/nats-server.js';
import { completed } from '../src/jobs/payloads.js';
import { hasMotionData, motion, repoRoot } from '../helpers/motion-data.js';

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
    artifactsSpec: { kind: 'disk', dir: join(dir, `artifacts-${stores}`) },
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

  /** Worker processes of the running test; whatever is still alive when it ends is SIGKILLed. */
  const children = new Set<ChildProcess>();
  afterEach(() => {
    for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
    children.clear();
  });
  type LogLine = Record<string, unknown>;
  function startWorkerProcess(name: string): {
    lines: LogLine[];
    waitFor(match: (l: LogLine) => boolean, ms: number, what: string): Promise<LogLine>;
    kill(signal: NodeJS.Signals): Promise<void>;
  } {
    const args = ['worker', '--jobs', 'taskpack', '--nats', server.url, '--data', join(dir, `worker-${name}`), '--model', SHIPPED_MODEL_DIR];
    const proc = spawn(process.execPath, [join(repoRoot, 'bin', 'jepa-motion.mjs'), ...args, '--taskpack-redeliver-s', '2'], {
      env: { ...process.env, LOG_LEVEL: 'info' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    children.add(proc);
    const lines: LogLine[] = [];
    const waiters = new Set<() => void>();
    let err = '';
    let rest = '';
    proc.stdout!.on('data', (d: Buffer) => {
      const parts = (rest + d.toString()).split('\n');
      rest = parts.pop()!;
      for (const p of parts) if (p.startsWith('{')) lines.push(JSON.parse(p) as LogLine);
      for (const w of waiters) w();
    });
    proc.stderr!.on('data', (d: Buffer) => (err = (err + d.toString()).slice(-4000)));
    const exited = new Promise<void>((resolve) => proc.once('exit', () => resolve()));
    return {
      lines,
      waitFor: (match, ms, what) =>
        new Promise<LogLine>((resolve, reject) => {
          const check = (): void => {
            const hit = lines.find(match);
            if (hit) done(() => resolve(hit));
          };
          const done = (f: () => void): void => {
            clearTimeout(timer);
            waiters.delete(check);
            f();
          };
          // A bound for a loaded CI box, not a timing claim.
          const timer = setTimeout(() => done(() => reject(new Error(`${what}: not seen in ${ms} ms; worker ${name} stderr:\n${err}`))), ms);
          void exited.then(() => done(() => reject(new Error(`${what}: worker ${name} exited (${proc.exitCode ?? proc.signalCode}):\n${err}`))));
          waiters.add(check);
          check();
        }),
      kill: async (signal) => {
        proc.kill(signal);
        await exited;
      },
    };
  }

  it('a worker process killed mid-job (SIGKILL): the job is redelivered to a second process and completes once', async () => {
    // Real `jepa-motion worker --jobs taskpack` processes against this nats-server, with the NATS object
    // store and registry they use in production. The redelivery window is 2 s: a running build keeps
    // its job with heartbeats (the bus), a killed process stops them.
    const { bus, nc } = await makeBus(true);
    const store = await NatsArtifactStore.open(nc);
    const key = 'recordings/clinic-1/killed-walk.c3d';
    await store.put(key, await readFile(WALK));
    const a = startWorkerProcess('a');
    try {
      await bus.publish(JobSubject.TASKPACK_REQUESTED, { ...request('killed', key), jobId: 'taskpack.killed' }, { id: 'tp-killed' });
      // Running, not merely taken: the build thread has finished stages 0–3 of this delivery.
      const mid = await a.waitFor((l) => l.msg === 'task pack stage done' && l.stage === 'stages_0_3', 60_000, 'worker A mid-build');
      expect(mid).toMatchObject({ jobId: 'tp-killed', attempt: 1 });
      await a.kill('SIGKILL');
      expect(a.lines.some((l) => l.msg === 'task pack stored')).toBe(false);

      const b = startWorkerProcess('b');
      const stored = await b.waitFor((l) => l.msg === 'task pack stored', 90_000, 'worker B stored the pack');
      expect(stored).toMatchObject({ jobId: 'tp-killed', attempt: 2, model: baseVersion });
      expect(b.lines.filter((l) => l.msg === 'task pack build started').map((l) => l.attempt)).toEqual([2]);
      // One pack, built with one model version, and nothing left in the queue.
      const index = (await store.list('taskpacks/clinic-1/')).filter((k) => k.endsWith('.json'));
      expect(index).toHaveLength(1);
      const tp = JSON.parse(new TextDecoder().decode(await store.get(index[0]!))) as { id: string; model: { version: string } };
      expect(tp.model.version).toBe(baseVersion);
      const packDirs = new Set((await store.list('taskpack-files/clinic-1/')).map((k) => k.split('/')[2]));
      expect([...packDirs]).toEqual([tp.id]);
      // The worker acks after it logs the pack stored; the server applies the ack a moment later.
      await eventually(
        () => bus.depth(JobSubject.TASKPACK_REQUESTED),
        (d) => d === 0,
        10_000,
        'the job acked and gone from the queue',
      );
      await b.kill('SIGTERM');
    } finally {
      await bus.close();
      await nc.close();
    }
  }, 180_000);

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
    await eventually(
      () => bus.depth(JobSubject.TASKPACK_REQUESTED),
      (d) => d === 0,
      10_000,
      'both jobs gone from the queue',
    );
    await w.stop();
    await bus.close();
    await nc.close();
  }, 300_000);
});
