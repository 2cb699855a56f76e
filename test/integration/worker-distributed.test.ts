// Distributed mode with the jobs moved out of `serve`: a serve node with JEPA_WORKERS=0 takes the
// session, a separate `jepa-motion worker` (own data directory) takes its retrain job from JetStream and
// trains it on its retrain thread; the serve node runs no job consumer at all.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { jetstreamManager } from '@nats-io/jetstream';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import type { WebSocketConstructor } from '../../clients/sdk/index.js';
import { loadRecordings, simulate } from '../../clients/simulator/simulate.js';
import { hmacKeyConfig, mintToken } from '../../src/auth/index.js';
import { startServe, type ServeHandle } from '../../src/cli/serve.js';
import { startWorker, type WorkerHandle } from '../../src/cli/worker.js';
import { loadConfig } from '../../src/config.js';
import { JOB_SUBJECTS, NOTICE_SUBJECTS } from '../../src/jobs/contracts.js';
import { DEFAULT_STREAM } from '../../src/jobs/nats-job-bus.js';
import { DEFAULT_NOTICE_STREAM } from '../../src/jobs/notices.js';
import { captureIo } from '../src/cli/cli-helpers.js';
import { captureLogger } from '../src/jobs/log-capture.js';
import { startNatsServer, type NatsServerHandle } from '../src/jobs/nats-server.js';
import { hasMotionData, motion } from '../helpers/motion-data.js';

const SECRET = 'distributed-worker-secret-long-enough-0123456789';

describe.runIf(hasMotionData)('serve (JEPA_WORKERS=0) + jepa-motion worker on one NATS', () => {
  let dir: string;
  let nats: NatsServerHandle;
  let serve: ServeHandle;
  let worker: WorkerHandle;
  let nc: NatsConnection;
  const serveLog = captureLogger();
  const workerLog = captureLogger();
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'jm-worker-'));
    nats = await startNatsServer();
    const serveConfig = loadConfig(['--port', '0', '--host', '127.0.0.1', '--data', join(dir, 'node-a'), '--nats', nats.url, '--workers', '0'], {
      JEPA_JWT_SECRET: SECRET,
    });
    serve = await startServe(serveConfig, serveLog, captureIo());
    const workerConfig = loadConfig(['--data', join(dir, 'worker'), '--nats', nats.url, '--backend', 'wasm'], {}, { role: 'worker' });
    worker = await startWorker(workerConfig, { kinds: ['retrain'], concurrency: 1 }, workerLog);
    nc = await connect({ servers: nats.url });
  });
  afterAll(async () => {
    await nc?.close();
    await worker?.close();
    await serve?.close();
    await nats?.dispose();
    await rm(dir, { recursive: true, force: true });
  });

  it('the worker takes the session job; the serve node trains nothing', async () => {
    const token = mintToken({ clinic: 'north', role: 'device', patient: 'p-5', ttlSeconds: 600 }, hmacKeyConfig(SECRET), Date.now());
    const report = await simulate({
      recordings: await loadRecordings([motion('opensim-gait', 'subject01_walk1.trc')]),
      url: serve.url.replace('http', 'ws'),
      token,
      patientId: 'p-5',
      sessions: 1,
      speed: 4,
      rampMs: 0,
      WebSocket: WebSocket as unknown as WebSocketConstructor,
    });
    expect(report).toMatchObject({ frames_sent: 151, acked: 151, errors: 0 });
    const done = await workerLog.waitFor((l) => /^patient model (registered|rejected)/.test(l.msg), 60_000, 'the retrain on the worker');
    expect(done.msg).toBe('patient model registered');
    expect(done.fields).toMatchObject({ retrainThread: 0, patientId: 'p-5', jobs: 1 });
    expect(serveLog.lines.filter((l) => /retrain|job consumers/.test(l.msg))).toEqual([]);
    // Stopping the worker waits for its running job to be acknowledged.
    await worker.close();
    // The work queue holds jobs only; notifications have their own stream. The finished retrain
    // requested its task pack, which waits there: this worker consumes retrain jobs only.
    const jsm = await jetstreamManager(nc);
    const jobs = await jsm.streams.info(DEFAULT_STREAM, { subjects_filter: '>' });
    expect(jobs.config.subjects.sort()).toEqual([...JOB_SUBJECTS].sort());
    expect(jobs.state.subjects).toEqual({ 'taskpack.requested': 1 });
    const notices = await jsm.streams.info(DEFAULT_NOTICE_STREAM);
    expect(notices.config.subjects.sort()).toEqual([...NOTICE_SUBJECTS].sort());
    // One model.updated, kept in the notification stream for audit.
    expect(notices.state.messages).toBe(1);
  }, 90_000);
});
