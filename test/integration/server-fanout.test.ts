// Two server nodes behind one real nats-server: a dashboard on node B follows a clinic whose session
// streams into node A (cross-node fan-out on `live.<clinic>.<sessionId>`, src/jobs/live-fanout.ts).
import { connect, type NatsConnection } from '@nats-io/transport-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createNatsLiveFanout } from '../../src/jobs/live-fanout.js';
import { startNatsServer, type NatsServerHandle } from '../src/jobs/nats-server.js';
import { Client, HELLO, startServer, syntheticFrame, token, type Harness } from '../src/transport/harness.js';

let nats: NatsServerHandle;
let ncA: NatsConnection;
let ncB: NatsConnection;
let a: Harness;
let b: Harness;

beforeAll(async () => {
  nats = await startNatsServer();
  ncA = await connect({ servers: nats.url });
  ncB = await connect({ servers: nats.url });
  a = await startServer({ deps: { liveFanout: createNatsLiveFanout(ncA, { nodeId: 'node-a' }) } });
  b = await startServer({ deps: { liveFanout: createNatsLiveFanout(ncB, { nodeId: 'node-b' }) } });
}, 60_000);

afterAll(async () => {
  await a?.close();
  await b?.close();
  await ncA?.close();
  await ncB?.close();
  await nats?.dispose();
});

describe('cross-node live fan-out', () => {
  it('a dashboard on another node sees session.started, updates and session.ended; other clinics see nothing', async () => {
    const dash = await Client.connect(b.ws, 'live', token({ clinic: 'c1', role: 'therapist' }));
    const other = await Client.connect(b.ws, 'live', token({ clinic: 'c2', role: 'therapist' }));
    // A local probe session on B makes the subscription observable (its snapshot comes back).
    b.server.hub.sessionStarted({ sessionId: 'probe', clinic: 'c1', patientId: 'p0', assessment: 'gait', startedAt: 1 });
    dash.send({ type: 'subscribe', clinic: 'c1' });
    other.send({ type: 'subscribe', clinic: 'c2' });
    await dash.until('probe snapshot', () => dash.of('snapshot').length === 1);
    await ncB.flush(); // node B's interest in live.c1.* has reached the NATS server

    const device = await Client.connect(a.ws, 'ingest', token({ clinic: 'c1', role: 'device', patient: 'p1' }));
    device.send(HELLO);
    await device.until('ready', () => device.of('ready').length === 1);
    const { sessionId } = device.of('ready')[0]!;
    for (let s = 0; s < 30; s++) device.send(syntheticFrame(s));
    await device.until('feedback', () => device.of('feedback').length === 30);
    device.send({ type: 'end' });
    await device.until('ended', () => device.of('ended').length === 1);

    await dash.until('session.ended from node A', () => dash.of('session.ended').some((m) => m.sessionId === sessionId));
    // session.started repeats as presence (LIVE_PRESENCE_MS): each session at least once, no other
    expect([...new Set(dash.of('session.started').map((m) => m.sessionId))]).toEqual(['probe', sessionId]);
    const updates = dash.of('update').filter((u) => u.sessionId === sessionId);
    expect(updates.length).toBeGreaterThan(0);
    expect(updates.map((u) => u.seq)).toEqual([...updates.map((u) => u.seq)].sort((x, y) => x - y));
    expect(other.messages.filter((m) => 'sessionId' in m && m.sessionId === sessionId)).toEqual([]);
    b.server.hub.sessionEnded('probe', { frames: 0 });
    await Promise.all([dash.close(), other.close()]);
  });

  it('a dashboard that subscribes after a session began on the other node still lists it (presence beat)', async () => {
    const device = await Client.connect(a.ws, 'ingest', token({ clinic: 'c1', role: 'device', patient: 'p1' }));
    device.send(HELLO);
    await device.until('ready', () => device.of('ready').length === 1);
    const { sessionId } = device.of('ready')[0]!;
    // The session is idle (no frames): only the presence beat can tell node B about it.
    const dash = await Client.connect(b.ws, 'live', token({ clinic: 'c1', role: 'therapist' }));
    const other = await Client.connect(b.ws, 'live', token({ clinic: 'c2', role: 'therapist' }));
    dash.send({ type: 'subscribe', clinic: 'c1' });
    other.send({ type: 'subscribe', clinic: 'c2' });
    await dash.until('session.started from node A', () => dash.of('session.started').some((m) => m.sessionId === sessionId));
    expect(dash.of('session.started').find((m) => m.sessionId === sessionId)).toMatchObject({ clinic: 'c1', patientId: 'p1', assessment: 'gait' });
    device.send({ type: 'end' });
    await dash.until('session.ended', () => dash.of('session.ended').some((m) => m.sessionId === sessionId));
    expect(other.messages.filter((m) => 'sessionId' in m && m.sessionId === sessionId)).toEqual([]);
    await Promise.all([dash.close(), other.close(), device.close()]);
  });
});
