// `taskpack.ready` reaches the dashboards following the pack's clinic, over real sockets: embedded (local
// notice bus) and across two server nodes (a private nats-server; the notice is published from a third
// connection, as a `jepa-motion worker` would). A dashboard of another clinic never hears of it.
// No timing: each dashboard waits for a pack of its own clinic published AFTER the other clinic's, and
// messages to one socket keep their order, so anything that leaked would already be in its list.
import { connect, type NatsConnection } from '@nats-io/transport-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { NoticeSubject, type TaskpackReady } from '../../src/jobs/contracts.js';
import { createLocalNoticeBus, createNatsNoticeBus, type NoticeBus } from '../../src/jobs/notices.js';
import { startNatsServer, type NatsServerHandle } from '../src/jobs/nats-server.js';
import { Client, startServer, token, type Harness } from '../src/transport/harness.js';

const pack = (clinic: string, n: number): TaskpackReady => ({
  taskpackId: `tp-${clinic}-${n}`,
  clinic,
  patientId: `patient-${clinic}`,
  sessionId: `session-${clinic}-${n}`,
  key: `taskpacks/${clinic}/patient-${clinic}.tp-${clinic}-${n}`,
  reportKey: `taskpacks/${clinic}/patient-${clinic}.tp-${clinic}-${n}/report.html`,
  createdAt: new Date().toISOString(),
});

const notify = (bus: NoticeBus, p: TaskpackReady): Promise<unknown> =>
  bus.notify(NoticeSubject.TASKPACK_READY, p, { id: `${NoticeSubject.TASKPACK_READY}.${p.taskpackId}` });

/** A therapist dashboard following its clinic; resolves once the server has the subscription. */
async function dashboard(h: Harness, clinic: string): Promise<Client> {
  const c = await Client.connect(h.ws, 'live', token({ clinic, role: 'therapist' }));
  c.send({ type: 'subscribe', clinic });
  // Answered in order after the subscribe: once this error is back, the clinic subscription is in place.
  c.send({ type: 'subscribe', sessionId: 'sync-marker' });
  await c.until('the sync marker', () => c.of('error').length === 1);
  return c;
}

const packsOf = (c: Client): string[] => c.of('taskpack.ready').map((m) => m.taskpackId);

describe('taskpack.ready on /v1/live, embedded', () => {
  let notices: NoticeBus;
  let h: Harness;
  beforeAll(async () => {
    notices = createLocalNoticeBus();
    h = await startServer({ deps: { notices } });
  });
  afterAll(async () => {
    await h?.close();
    await notices?.close();
  });

  it('goes to the subscribers of the pack’s clinic only', async () => {
    const a = await dashboard(h, 'clinic-a');
    const b = await dashboard(h, 'clinic-b');
    await notify(notices, pack('clinic-a', 1));
    await notify(notices, pack('clinic-b', 1));
    await a.until('clinic A’s pack', () => packsOf(a).length === 1);
    await b.until('clinic B’s pack', () => packsOf(b).length === 1);
    expect(a.of('taskpack.ready')).toEqual([
      { type: 'taskpack.ready', taskpackId: 'tp-clinic-a-1', sessionId: 'session-clinic-a-1', patientId: 'patient-clinic-a', clinic: 'clinic-a' },
    ]);
    expect(packsOf(b)).toEqual(['tp-clinic-b-1']);
    // After an unsubscribe the clinic's packs stop (B's second pack, published after, marks the end).
    a.send({ type: 'unsubscribe', clinic: 'clinic-a' });
    a.send({ type: 'subscribe', sessionId: 'sync-marker' });
    await a.until('the second sync marker', () => a.of('error').length === 2);
    await notify(notices, pack('clinic-a', 2));
    await notify(notices, pack('clinic-b', 2));
    await b.until('clinic B’s second pack', () => packsOf(b).length === 2);
    expect(packsOf(a)).toEqual(['tp-clinic-a-1']);
    await Promise.all([a.close(), b.close()]);
  });

  it('a pack whose ids the wire protocol refuses is not announced, and the server keeps going', async () => {
    const a = await dashboard(h, 'clinic-a');
    await notify(notices, { ...pack('clinic-a', 3), sessionId: 'a session id with spaces' });
    await notify(notices, pack('clinic-a', 4));
    await a.until('the valid pack', () => packsOf(a).length === 1);
    expect(packsOf(a)).toEqual(['tp-clinic-a-4']);
    await a.close();
  });
});

describe('taskpack.ready on /v1/live, two nodes over NATS', () => {
  let nats: NatsServerHandle;
  const conns: NatsConnection[] = [];
  const buses: NoticeBus[] = [];
  const nodes: Harness[] = [];
  let worker: NoticeBus;
  beforeAll(async () => {
    nats = await startNatsServer();
    for (let i = 0; i < 3; i++) {
      const nc = await connect({ servers: nats.url });
      conns.push(nc);
      buses.push(await createNatsNoticeBus({ nc }));
    }
    worker = buses[2]!;
    for (const n of buses.slice(0, 2)) nodes.push(await startServer({ deps: { notices: n } }));
    // Each node's SUB has reached the nats-server before anything is published.
    await Promise.all(conns.map((c) => c.flush()));
  });
  afterAll(async () => {
    for (const n of nodes) await n.close();
    for (const b of buses) await b.close();
    for (const c of conns) await c.close();
    await nats?.dispose();
  });

  it('every node tells its own dashboards of that clinic, and no dashboard of another clinic', async () => {
    const a1 = await dashboard(nodes[0]!, 'clinic-a');
    const a2 = await dashboard(nodes[1]!, 'clinic-a');
    const b2 = await dashboard(nodes[1]!, 'clinic-b');
    const b1 = await dashboard(nodes[0]!, 'clinic-b');
    await notify(worker, pack('clinic-a', 1));
    await notify(worker, pack('clinic-b', 1));
    await a1.until('clinic A’s pack on node 1', () => packsOf(a1).length === 1);
    await a2.until('clinic A’s pack on node 2', () => packsOf(a2).length === 1);
    await b1.until('clinic B’s pack on node 1', () => packsOf(b1).length === 1);
    await b2.until('clinic B’s pack on node 2', () => packsOf(b2).length === 1);
    expect(packsOf(a1)).toEqual(['tp-clinic-a-1']);
    expect(packsOf(a2)).toEqual(['tp-clinic-a-1']);
    expect(packsOf(b1)).toEqual(['tp-clinic-b-1']);
    expect(packsOf(b2)).toEqual(['tp-clinic-b-1']);
    expect(a2.of('taskpack.ready')[0]).toEqual({
      type: 'taskpack.ready',
      taskpackId: 'tp-clinic-a-1',
      sessionId: 'session-clinic-a-1',
      patientId: 'patient-clinic-a',
      clinic: 'clinic-a',
    });
    await Promise.all([a1.close(), a2.close(), b1.close(), b2.close()]);
  });
});
