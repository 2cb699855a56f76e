// A session that ends while the bus cannot take its job still gets the job: the server queues it on
// local disk before it says `ended`, and delivers it (recording to the object store, then
// `assessment.completed` to JetStream) once NATS is back — also after a restart of the server, and
// also when JetStream refuses the publish because the job stream is full (BUS_FULL).
// Real private nats-server, stopped and restarted by the test; the live server runs with test doubles
// for inference (the job path is what is under test).
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { jetstreamManager } from '@nats-io/jetstream';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { JobSubject, type JobBus } from '../../src/jobs/job-bus.js';
import { createNatsJobBus } from '../../src/jobs/nats-job-bus.js';
import { Outbox } from '../../src/jobs/outbox.js';
import { silentLogger } from '../../src/logger.js';
import { createRecordingPublisher } from '../../src/recordings/publish-recording.js';
import { jobIdFor } from '../../src/sessions/assessment-completed.js';
import type { AssessmentCompleted } from '../../src/sessions/session-manager.js';
import { recordingKey } from '../../src/storage/keys.js';
import { NatsArtifactStore } from '../../src/storage/nats-artifact-store.js';
import { deferred, within } from '../src/jobs/deferred.js';
import { startNatsServer, type NatsServerHandle } from '../src/jobs/nats-server.js';
import { Client, HELLO, startServer, syntheticFrame, token } from '../src/transport/harness.js';

const device = () => token({ clinic: 'c1', role: 'device', patient: 'p1' });

/** One short session; returns its id once the server said `ended` (or throws with what it said instead). */
async function session(ws: string, beforeEnd: () => Promise<void>): Promise<string> {
  const c = await Client.connect(ws, 'ingest', device());
  try {
    c.send(HELLO);
    await c.until('ready', () => c.of('ready').length === 1);
    for (let seq = 0; seq < 5; seq++) c.send(syntheticFrame(seq));
    await c.until('acks', () => c.of('ack').some((a) => a.seq >= 4), 10_000);
    await beforeEnd();
    c.send({ type: 'end' });
    await c.until('ended (or an error)', () => c.of('ended').length + c.of('error').length > 0, 60_000);
    expect(c.of('error')).toEqual([]);
    return c.of('ended')[0]!.sessionId;
  } finally {
    await c.close();
  }
}

describe('a finished session’s job survives an unavailable bus', () => {
  let dir: string;
  let nats: NatsServerHandle;
  let nc: NatsConnection;
  let bus: JobBus & { close(): Promise<void> };
  let artifacts: NatsArtifactStore;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'jm-completion-'));
    nats = await startNatsServer();
    nc = await connect({ servers: nats.url, maxReconnectAttempts: -1, reconnectTimeWait: 100 });
    bus = await createNatsJobBus({ nc, outbox: await Outbox.open(join(dir, 'outbox')), logger: silentLogger, maxStreamJobs: 1, publishTimeoutMs: 1_000 });
    artifacts = await NatsArtifactStore.open(nc);
  });
  afterAll(async () => {
    await bus?.close();
    await nc?.close();
    await nats?.dispose();
    await rm(dir, { recursive: true, force: true });
  });
  // Few, quick recording-publish attempts: the outage outlasts them on purpose.
  const publisher = () => createRecordingPublisher(artifacts, { attempts: 2, firstDelayMs: 50 });

  it('NATS down at `end`, server restarted meanwhile: the job is published once NATS is back', async () => {
    const dataDir = join(dir, 'node-restart');
    const first = await startServer({ dataDir, deps: { bus, publishRecording: (r) => publisher().publish(r) } });
    const sessionId = await session(first.ws, () => nats.stop());
    // Acknowledged with the job on disk, nothing in the store yet.
    expect(await readdir(join(dataDir, 'completions'))).toHaveLength(1);
    expect(await (await fetch(`${first.http}/metrics`)).text()).toMatch(/^jepa_pending_jobs 1$/m);
    await first.close();

    await nats.restart();
    await untilJetStream(nc);
    const got = deferred<AssessmentCompleted>();
    const consumption = await bus.consume(JobSubject.ASSESSMENT_COMPLETED, async (e, ctx) => {
      if (ctx.id === jobIdFor(sessionId)) got.resolve(e as AssessmentCompleted);
    });
    const second = await startServer({ dataDir, deps: { bus, publishRecording: (r) => publisher().publish(r) } });
    try {
      const event = await within(got.promise, 30_000, 'the queued job on the bus after the restart');
      expect(event).toMatchObject({ sessionId, clinic: 'c1', patientId: 'p1', reason: 'end', recording: { frames: 5 } });
      expect(await artifacts.has(recordingKey('c1', sessionId))).toBe(true);
      await within(waitEmpty(join(dataDir, 'completions')), 10_000, 'the completion queue emptied');
    } finally {
      await consumption.stop();
      await second.close();
    }
  }, 120_000);

  it('JetStream refuses the job (BUS_FULL): queued, and published once the stream has room', async () => {
    const dataDir = join(dir, 'node-full');
    // The stream holds one job (maxStreamJobs 1): fill it so the session's publish is refused.
    await bus.publish(JobSubject.ASSESSMENT_COMPLETED, filler(), { id: 'filler-1' });
    const h = await startServer({ dataDir, deps: { bus, publishRecording: (r) => publisher().publish(r) } });
    try {
      const sessionId = await session(h.ws, async () => undefined);
      expect(await readdir(join(dataDir, 'completions'))).toHaveLength(1);
      const seen: string[] = [];
      const got = deferred();
      const consumption = await bus.consume(JobSubject.ASSESSMENT_COMPLETED, async (_e, ctx) => {
        seen.push(ctx.id);
        if (ctx.id === jobIdFor(sessionId)) got.resolve();
      });
      try {
        await within(got.promise, 30_000, 'the refused job on the bus once the filler was consumed');
      } finally {
        await consumption.stop();
      }
      expect(seen).toEqual(['filler-1', jobIdFor(sessionId)]);
      await within(waitEmpty(join(dataDir, 'completions')), 10_000, 'the completion queue emptied');
    } finally {
      await h.close();
    }
  }, 120_000);
});

function filler(): AssessmentCompleted {
  const at = new Date().toISOString();
  return {
    sessionId: 'filler',
    clinic: 'c0',
    patientId: 'p0',
    assessment: 'gait',
    model: { id: 'pretrained', kind: 'pretrained', version: '1' },
    startedAt: at,
    endedAt: at,
    reason: 'end',
    recording: { path: '/nonexistent/filler.jmrl', sha256: '0'.repeat(64), frames: 0, records: 0 },
  };
}

/** The client reconnects on its own schedule, and JetStream answers a moment after the server is up. */
async function untilJetStream(nc: NatsConnection): Promise<void> {
  const deadline = Date.now() + 20_000;
  for (;;) {
    try {
      await (await jetstreamManager(nc, { timeout: 1_000 })).streams.info('JEPA_JOBS');
      return;
    } catch (error) {
      if (Date.now() > deadline) throw error;
      await new Promise((r) => setTimeout(r, 100));
    }
  }
}

async function waitEmpty(d: string): Promise<void> {
  while ((await readdir(d)).length > 0) await new Promise((r) => setTimeout(r, 50));
}
