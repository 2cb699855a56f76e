// Limits of every JetStream stream the jobs use, filled against a real private nats-server: the work
// queue (JEPA_JOBS) holds jobs only, notifications go to their own limits stream (JEPA_NOTICES) that
// drops its oldest and never refuses, and contracts are enforced on both sides.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DiscardPolicy, RetentionPolicy, StorageType, jetstream, jetstreamManager, type JetStreamManager } from '@nats-io/jetstream';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { JOB_SUBJECTS, NOTICE_SUBJECTS, NoticeSubject, type ModelUpdated } from '../../src/jobs/contracts.js';
import { JobErrorCode } from '../../src/jobs/errors.js';
import { JobSubject, encodeEvent, type PublishResult, type SettledInfo } from '../../src/jobs/job-bus.js';
import { createNatsJobBus, DEFAULT_STREAM } from '../../src/jobs/nats-job-bus.js';
import { createNatsNoticeBus, DEFAULT_NOTICE_STREAM, type NoticeOutcome } from '../../src/jobs/notices.js';
import { Outbox } from '../../src/jobs/outbox.js';
import { countdown, deferred, eventually, within } from '../src/jobs/deferred.js';
import { startNatsServer, type NatsServerHandle } from '../src/jobs/nats-server.js';
import { completed, modelUpdated } from '../src/jobs/payloads.js';

let server: NatsServerHandle;
let nc: NatsConnection;
let jsm: JetStreamManager;
let dir: string;
beforeAll(async () => {
  server = await startNatsServer();
  nc = await connect({ servers: server.url });
  jsm = await jetstreamManager(nc);
  dir = await mkdtemp(join(tmpdir(), 'jm-streams-'));
});
afterAll(async () => {
  await nc?.close();
  await server?.dispose();
  if (dir) await rm(dir, { recursive: true, force: true });
});
beforeEach(async () => {
  for (const s of [DEFAULT_STREAM, DEFAULT_NOTICE_STREAM]) await jsm.streams.delete(s).catch(() => false);
});

const outbox = async (name: string): Promise<Outbox> => Outbox.open(join(dir, name));

describe('job and notification streams (real nats-server)', () => {
  it('after 10,000 completed jobs the job stream holds no notifications and every publish still succeeded', async () => {
    // Both streams far smaller than the run: a notification in the work queue would fill it after 50.
    const bus = await createNatsJobBus({ nc, outbox: await outbox('ten-thousand'), maxStreamJobs: 50, pollMs: 1_000 });
    const notices = await createNatsNoticeBus({ nc, maxMsgs: 20 });
    const N = 10_000;
    const WINDOW = 25;
    const acked = countdown(N);
    const outcomes: NoticeOutcome[] = [];
    const settled: SettledInfo[] = [];
    let inFlight = 0;
    let slot = deferred();
    const c = await bus.consume(
      JobSubject.ASSESSMENT_COMPLETED,
      async (ev, ctx) => {
        // What a retrain does when it registers a model: a notification per completed job.
        outcomes.push(await notices.notify(NoticeSubject.MODEL_UPDATED, modelUpdated(ev.patientId, Number(ev.sessionId)), { id: `mu.${ctx.id}` }));
      },
      {
        concurrency: WINDOW,
        onSettled: (i) => {
          if (i.outcome !== 'ack') settled.push(i);
          inFlight -= 1;
          slot.resolve();
          acked.hit();
        },
      },
    );
    const results: PublishResult[] = [];
    for (let i = 1; i <= N; i++) {
      while (inFlight >= WINDOW) {
        await slot.promise;
        slot = deferred();
      }
      inFlight += 1;
      results.push(await bus.publish(JobSubject.ASSESSMENT_COMPLETED, completed(String(i), { patientId: `p${i % 7}` }), { id: `job-${i}` }));
    }
    await within(acked.done, 120_000, `${N} jobs acked`);
    await c.stop();
    expect(settled).toEqual([]);
    expect(results.every((r) => r.status === 'sent' && !r.duplicate)).toBe(true);
    expect(results).toHaveLength(N);
    expect(outcomes.filter((o) => o === 'sent')).toHaveLength(N);

    const jobs = await jsm.streams.info(DEFAULT_STREAM);
    expect(jobs.config.subjects.sort()).toEqual([...JOB_SUBJECTS].sort());
    expect(jobs.state.messages).toBe(0);
    expect(jobs.state.last_seq).toBe(N);
    const kept = await jsm.streams.info(DEFAULT_NOTICE_STREAM);
    expect(kept.config).toMatchObject({ retention: RetentionPolicy.Limits, discard: DiscardPolicy.Old, max_msgs: 20 });
    expect(kept.state.messages).toBe(20);
    expect(kept.state.first_seq).toBe(N - 19);
    await notices.close();
    await bus.close();
  }, 180_000);

  it('narrows a job stream made before notifications left it: stray model.updated purged, jobs kept', async () => {
    await jsm.streams.add({
      name: DEFAULT_STREAM,
      subjects: [...JOB_SUBJECTS, NoticeSubject.MODEL_UPDATED],
      retention: RetentionPolicy.Workqueue,
      storage: StorageType.File,
      discard: DiscardPolicy.New,
      max_msgs: 100,
    });
    const js = jetstream(nc);
    for (let v = 1; v <= 3; v++) await js.publish(NoticeSubject.MODEL_UPDATED, encodeEvent(modelUpdated('p1', v)));
    await js.publish(JobSubject.ASSESSMENT_COMPLETED, encodeEvent(completed('kept')), { msgID: 'kept' });
    const bus = await createNatsJobBus({ nc, outbox: await outbox('narrow'), pollMs: 1_000 });
    const info = await jsm.streams.info(DEFAULT_STREAM);
    expect(info.config.subjects.sort()).toEqual([...JOB_SUBJECTS].sort());
    expect(info.state.messages).toBe(1);
    // The notification stream can take its subjects now (no overlap).
    const notices = await createNatsNoticeBus({ nc });
    expect((await jsm.streams.info(DEFAULT_NOTICE_STREAM)).config.subjects.sort()).toEqual([...NOTICE_SUBJECTS].sort());
    const got = deferred<string>();
    const c = await bus.consume(JobSubject.ASSESSMENT_COMPLETED, async (ev) => got.resolve(ev.sessionId));
    expect(await within(got.promise, 10_000, 'the kept job')).toBe('kept');
    await c.stop();
    await notices.close();
    await bus.close();
  });

  it('checks the contract on both sides: publish refuses, a poison delivery is terminated unseen', async () => {
    const bus = await createNatsJobBus({ nc, outbox: await outbox('poison'), pollMs: 1_000 });
    await expect(bus.publish(JobSubject.ASSESSMENT_COMPLETED, { ...completed('x'), recording: undefined } as never, { id: 'bad' })).rejects.toMatchObject({
      code: JobErrorCode.BAD_EVENT,
    });
    // Something bypassing the bus (an old version, another language) publishes a malformed job.
    await jetstream(nc).publish(JobSubject.ASSESSMENT_COMPLETED, encodeEvent({ sessionId: 'p', patientId: '../../etc' }), { msgID: 'poison' });
    await bus.publish(JobSubject.ASSESSMENT_COMPLETED, completed('good'), { id: 'good' });
    const seen: string[] = [];
    const both = countdown(2);
    const settled = new Map<string, SettledInfo>();
    const c = await bus.consume(JobSubject.ASSESSMENT_COMPLETED, async (ev) => void seen.push(ev.sessionId), {
      onSettled: (i) => (settled.set(i.id, i), both.hit()),
    });
    await within(both.done, 10_000, 'both settled');
    await c.stop();
    expect(seen).toEqual(['good']);
    expect(settled.get('poison')).toMatchObject({ outcome: 'term', attempt: 1, error: { code: JobErrorCode.BAD_EVENT } });
    expect(settled.get('good')?.outcome).toBe('ack');
    // A term is not confirmed by the server (an ack is): poll until it has been applied.
    await eventually(
      () => bus.depth(JobSubject.ASSESSMENT_COMPLETED),
      (d) => d === 0,
      10_000,
      'both gone from the queue',
    );
    await bus.close();

    const notices = await createNatsNoticeBus({ nc });
    await expect(notices.notify(NoticeSubject.MODEL_UPDATED, { ...modelUpdated('p', 1), sessionIds: [] }, { id: 'empty' })).rejects.toMatchObject({
      code: JobErrorCode.BAD_EVENT,
    });
    await notices.close();
  });

  it('fans notifications out to listeners on other connections; malformed ones are skipped', async () => {
    const other = await connect({ servers: server.url });
    try {
      const publisher = await createNatsNoticeBus({ nc });
      const listener = await createNatsNoticeBus({ nc: other });
      const got: ModelUpdated[] = [];
      const two = countdown(2);
      const sub = listener.subscribe(NoticeSubject.MODEL_UPDATED, (n) => (got.push(n), two.hit()));
      await other.flush();
      expect(await publisher.notify(NoticeSubject.MODEL_UPDATED, modelUpdated('p1', 1), { id: 'n1' })).toBe('sent');
      nc.publish(NoticeSubject.MODEL_UPDATED, encodeEvent({ patientId: 'p1' }));
      expect(await publisher.notify(NoticeSubject.MODEL_UPDATED, modelUpdated('p1', 2), { id: 'n2' })).toBe('sent');
      await within(two.done, 10_000, 'two notifications');
      expect(got).toEqual([modelUpdated('p1', 1), modelUpdated('p1', 2)]);
      sub.stop();
      await listener.close();
      // A connection gone: notify reports 'dropped' instead of failing the job that sent it.
      const gone = await connect({ servers: server.url });
      const lost = await createNatsNoticeBus({ nc: gone, publishTimeoutMs: 500 });
      await gone.close();
      expect(await lost.notify(NoticeSubject.MODEL_UPDATED, modelUpdated('p1', 3), { id: 'n3' })).toBe('dropped');
      await publisher.close();
    } finally {
      await other.close();
    }
  });
});
