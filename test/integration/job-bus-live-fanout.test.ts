// Cross-node live fan-out over core NATS: two connections stand in for two server nodes.
import { connect, type NatsConnection } from '@nats-io/transport-node';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { JobErrorCode } from '../../src/jobs/errors.js';
import { createNatsLiveFanout, type LiveMessage } from '../../src/jobs/live-fanout.js';
import { deferred, within } from '../src/jobs/deferred.js';
import { startNatsServer, type NatsServerHandle } from '../src/jobs/nats-server.js';

let server: NatsServerHandle;
let ncA: NatsConnection;
let ncB: NatsConnection;
beforeAll(async () => {
  server = await startNatsServer();
  ncA = await connect({ servers: server.url });
  ncB = await connect({ servers: server.url });
});
afterAll(async () => {
  await ncA?.close();
  await ncB?.close();
  await server?.dispose();
});

it('delivers updates to other nodes by clinic or session, never across clinics, never back to the sender', async () => {
  const a = createNatsLiveFanout(ncA, { nodeId: 'node-a' });
  const b = createNatsLiveFanout(ncB, { nodeId: 'node-b' });
  const clinicWide: LiveMessage[] = [];
  const oneSession: LiveMessage[] = [];
  const otherClinic: LiveMessage[] = [];
  const echoed: LiveMessage[] = [];
  const marker = deferred();
  b.subscribe({ clinic: 'c1' }, (m) => {
    clinicWide.push(m);
    if (m.data[0] === 9) marker.resolve();
  });
  b.subscribe({ clinic: 'c1', sessionId: 's2' }, (m) => oneSession.push(m));
  b.subscribe({ clinic: 'c2' }, (m) => otherClinic.push(m));
  a.subscribe({ clinic: 'c1' }, (m) => echoed.push(m));
  await ncA.flush();
  await ncB.flush();
  a.publish('c1', 's1', new Uint8Array([1]));
  a.publish('c1', 's2', new Uint8Array([2]));
  a.publish('c1', 's1', new Uint8Array([9]));
  await within(marker.promise, 5_000, 'updates on node b');
  expect(clinicWide.map((m) => [m.clinic, m.sessionId, m.data[0]])).toEqual([
    ['c1', 's1', 1],
    ['c1', 's2', 2],
    ['c1', 's1', 9],
  ]);
  expect(oneSession.map((m) => m.data[0])).toEqual([2]);
  await ncA.flush();
  expect(otherClinic).toEqual([]);
  expect(echoed).toEqual([]);
  expect(a.stats.published).toBe(3);
  expect(() => a.publish('c1.x', 's1', new Uint8Array())).toThrow(expect.objectContaining({ code: JobErrorCode.BAD_REQUEST }));
  expect(() => a.publish('c1', '>', new Uint8Array())).toThrow(expect.objectContaining({ code: JobErrorCode.BAD_REQUEST }));
  await a.close();
  await b.close();
});

it('drops (and counts) updates while the connection is closed instead of throwing or buffering', async () => {
  const nc = await connect({ servers: server.url });
  const f = createNatsLiveFanout(nc, { nodeId: 'n' });
  await nc.close();
  f.publish('c1', 's1', new Uint8Array([1]));
  expect(f.stats).toEqual({ published: 0, dropped: 1, received: 0 });
});
