// The JobBus contract against a real nats-server (JetStream), plus the outbox across an outage.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { jetstreamManager } from '@nats-io/jetstream';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createNatsJobBus, DEFAULT_STREAM, type NatsJobBus } from '../../src/jobs/nats-job-bus.js';
import { JobErrorCode } from '../../src/jobs/errors.js';
import { JobSubject, encodeEvent, type SettledInfo } from '../../src/jobs/job-bus.js';
import { Outbox } from '../../src/jobs/outbox.js';
import { deferred, within } from '../src/jobs/deferred.js';
import { jobBusSuite } from '../src/jobs/job-bus.suite.js';
import { startNatsServer, type NatsServerHandle } from '../src/jobs/nats-server.js';
import { completed, taskpackRequest } from '../src/jobs/payloads.js';

let server: NatsServerHandle;
beforeAll(async () => {
  server = await startNatsServer();
});
afterAll(async () => {
  await server?.dispose();
});

const connectTo = (url: string): Promise<NatsConnection> =>
  connect({ servers: url, maxReconnectAttempts: -1, reconnectTimeWait: 50, reconnectJitter: 0, pingInterval: 1000 });

async function makeBus(): Promise<{ bus: NatsJobBus; nc: NatsConnection; dispose(): Promise<void> }> {
  const nc = await connectTo(server.url);
  // A fresh stream per test: work-queue state from one test must not leak into the next.
  const jsm = await jetstreamManager(nc);
  await jsm.streams.delete(DEFAULT_STREAM).catch(() => false);
  const dir = await mkdtemp(join(tmpdir(), 'nats-outbox-'));
  const bus = await createNatsJobBus({ nc, outbox: await Outbox.open(dir), publishTimeoutMs: 2_000, pollMs: 1_000 });
  return {
    bus,
    nc,
    dispose: async () => {
      await bus.close();
      await nc.close();
      await rm(dir, { recursive: true, force: true });
    },
  };
}

jobBusSuite('NATS JetStream', makeBus);

describe('NATS bus outbox', () => {
  it('queues publishes while NATS is down and delivers each exactly once, in order, after it returns', async () => {
    const { bus, nc, dispose } = await makeBus();
    try {
      const S = JobSubject.TASKPACK_REQUESTED;
      // The consumer runs across the outage: its fetch loop must survive the server restart.
      const seen: Array<[string, unknown]> = [];
      const first = deferred<SettledInfo>();
      const last = deferred<SettledInfo>();
      const c = await bus.consume(S, async (ev, ctx) => void seen.push([ctx.id, ev]), {
        backoffMs: [5],
        onSettled: (i) => (i.id === 'before' ? first.resolve(i) : i.id === 'after' ? last.resolve(i) : undefined),
      });
      expect(await bus.publish(S, taskpackRequest('n0'), { id: 'before' })).toEqual({ status: 'sent', duplicate: false });
      await within(first.promise, 10_000, 'first delivery');

      await server.stop();
      const disconnected = deferred();
      void (async () => {
        for await (const s of nc.status()) if (s.type === 'disconnect' || s.type === 'reconnecting') return disconnected.resolve();
      })();
      await within(disconnected.promise, 5_000, 'client notices the outage');
      const queued = [];
      for (let i = 1; i <= 3; i++) queued.push(await bus.publish(S, taskpackRequest(`n${i}`), { id: `during-${i}` }));
      expect(queued.map((r) => r.status)).toEqual(['queued', 'queued', 'queued']);
      expect(bus.queued).toBe(3);

      await server.restart();
      await bus.flushed(15_000);
      expect(await bus.publish(S, taskpackRequest('n4'), { id: 'after' })).toEqual({ status: 'sent', duplicate: false });
      // Replaying an id that went through the outbox is still deduplicated by JetStream.
      expect(await bus.publish(S, taskpackRequest('n1'), { id: 'during-1' })).toEqual({ status: 'sent', duplicate: true });

      await within(last.promise, 15_000, 'all delivered');
      await c.stop();
      expect(seen).toEqual([
        ['before', taskpackRequest('n0')],
        ['during-1', taskpackRequest('n1')],
        ['during-2', taskpackRequest('n2')],
        ['during-3', taskpackRequest('n3')],
        ['after', taskpackRequest('n4')],
      ]);
      // Exactly once: nothing left in the work queue to redeliver.
      expect(await bus.depth(S)).toBe(0);
    } finally {
      await dispose();
    }
  }, 60_000);

  it('flushes what a previous process left in the outbox when the bus starts', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'nats-outbox-'));
    const nc = await connectTo(server.url);
    try {
      const jsm = await jetstreamManager(nc);
      await jsm.streams.delete(DEFAULT_STREAM).catch(() => false);
      const left = await Outbox.open(dir);
      await left.append({ subject: JobSubject.ASSESSMENT_COMPLETED, id: 'left-behind', payload: encodeEvent(completed('s9')) });
      const bus = await createNatsJobBus({ nc, outbox: await Outbox.open(dir), pollMs: 1_000 });
      await bus.flushed(10_000);
      const got = deferred<[string, unknown]>();
      const c = await bus.consume(JobSubject.ASSESSMENT_COMPLETED, async (ev, ctx) => got.resolve([ctx.id, ev]));
      expect(await within(got.promise, 10_000, 'delivery')).toEqual(['left-behind', completed('s9')]);
      await c.stop();
      await bus.close();
    } finally {
      await nc.close();
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('with the connection gone, publish is accepted locally until the outbox is full, then rejects with OUTBOX_FULL', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'nats-outbox-'));
    const nc = await connectTo(server.url);
    try {
      const bus = await createNatsJobBus({ nc, outbox: await Outbox.open(dir, { maxEvents: 2 }), pollMs: 1_000 });
      await nc.close();
      const S = JobSubject.ASSESSMENT_COMPLETED;
      expect(await bus.publish(S, completed('m1'), { id: 'm1' })).toEqual({ status: 'queued', duplicate: false });
      expect(await bus.publish(S, completed('m2'), { id: 'm2' })).toEqual({ status: 'queued', duplicate: false });
      await expect(bus.publish(S, completed('m3'), { id: 'm3' })).rejects.toMatchObject({ name: 'JobError', code: JobErrorCode.OUTBOX_FULL });
      expect(bus.queued).toBe(2);
      await bus.close();
      // Still on disk for the next process.
      expect((await Outbox.open(dir)).size).toBe(2);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('a full stream (the server refusing, not an outage) rejects with BUS_FULL instead of queueing', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'nats-outbox-'));
    const nc = await connectTo(server.url);
    try {
      const jsm = await jetstreamManager(nc);
      await jsm.streams.delete(DEFAULT_STREAM).catch(() => false);
      const bus = await createNatsJobBus({ nc, outbox: await Outbox.open(dir), maxStreamJobs: 2 });
      const S = JobSubject.ASSESSMENT_COMPLETED;
      await bus.publish(S, completed('f1'), { id: 'f1' });
      await bus.publish(S, completed('f2'), { id: 'f2' });
      await expect(bus.publish(S, completed('f3'), { id: 'f3' })).rejects.toMatchObject({ name: 'JobError', code: JobErrorCode.BUS_FULL });
      expect(bus.queued).toBe(0);
      await bus.close();
      await jsm.streams.delete(DEFAULT_STREAM);
    } finally {
      await nc.close();
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('redeliverAfterMs: a running job is not redelivered however long it takes; a dead worker’s job moves on after the window', async () => {
    const one = await makeBus();
    const dir = await mkdtemp(join(tmpdir(), 'nats-outbox-'));
    const nc2 = await connectTo(server.url);
    const other = await createNatsJobBus({ nc: nc2, outbox: await Outbox.open(dir), pollMs: 1_000 });
    const S = JobSubject.TASKPACK_REQUESTED;
    const WINDOW = 900;
    const hold = deferred();
    try {
      const attempts: string[] = [];
      const done = deferred<SettledInfo>();
      // Worker 1 holds the job for 4 windows without calling working() itself; worker 2 waits beside it.
      const c1 = await one.bus.consume(
        S,
        async (_e, ctx) => {
          attempts.push(`w1:${ctx.attempt}`);
          await new Promise((r) => setTimeout(r, 4 * WINDOW));
        },
        { redeliverAfterMs: WINDOW, onSettled: (i) => done.resolve(i) },
      );
      const c2 = await other.consume(S, async (_e, ctx) => void attempts.push(`w2:${ctx.attempt}`), { redeliverAfterMs: WINDOW });
      await one.bus.publish(S, taskpackRequest('long'), { id: 'long-job' });
      expect(await within(done.promise, 20_000, 'long job acked')).toMatchObject({ outcome: 'ack', attempt: 1 });
      expect(attempts).toEqual(['w1:1']);
      await c1.stop();

      // Worker 1 takes the next job and its connection dies (no ack, no heartbeat): worker 2 gets it.
      const taken = deferred();
      const redelivered = deferred<number>();
      await c2.stop();
      const c3 = await one.bus.consume(S, () => (taken.resolve(), hold.promise), { redeliverAfterMs: WINDOW });
      await one.bus.publish(S, taskpackRequest('orphan'), { id: 'orphan-job' });
      await within(taken.promise, 10_000, 'worker 1 took the job');
      const died = Date.now();
      await one.nc.close();
      const c4 = await other.consume(S, async (_e, ctx) => redelivered.resolve(ctx.attempt), { redeliverAfterMs: WINDOW });
      expect(await within(redelivered.promise, 15_000, 'redelivered to worker 2')).toBe(2);
      // Within a few windows of the death, not the default 10 min ack wait.
      expect(Date.now() - died).toBeLessThan(10_000);
      hold.resolve();
      await c3.stop().catch(() => undefined);
      await c4.stop();
    } finally {
      hold.resolve();
      await other.close();
      await nc2.close();
      await one.dispose().catch(() => undefined);
      await rm(dir, { recursive: true, force: true });
    }
  }, 60_000);
});
