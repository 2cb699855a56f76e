import WebSocket from 'ws';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  ClientError,
  ClientErrorCode,
  connectIngest,
  connectLive,
  predictionAt,
  type FrameInput,
  type HelloInfo,
  type IngestClient,
} from '../../clients/sdk/index.js';
import type { Feedback, Update } from '../../src/protocol/index.js';
import { cuttableProxy, deferred, startTestServer, token, type TestServer } from './fixture.js';

const HELLO: HelloInfo = { patientId: 'p1', assessment: 'gait', fps: 60, device: { model: 'iPad13,8', os: 'iPadOS 17.4', app: 'sdk-test' } };
const device = () => token({ clinic: 'c1', role: 'device', patient: 'p1' });
const therapist = (clinic = 'c1') => token({ clinic, role: 'therapist' });

function frame(seq: number): FrameInput {
  const anchor = new Float32Array([1, 0, 0, 0, 0, 1, 0, 0, 0, 0, 1, 0, seq / 100, 0, -2, 1]);
  return { seq, t: 10 + seq / 60, anchor, joints: new Float32Array(273).fill(0.1) };
}

/** Collects feedback and resolves once `n` distinct seqs arrived. */
function collect(client: IngestClient, n: number) {
  const got: Feedback[] = [];
  const done = deferred<Feedback[]>(`${n} feedback messages`);
  client.on('feedback', (f) => {
    got.push(f);
    if (got.length === n) done.resolve(got);
  });
  return { got, done: done.promise };
}

let srv: TestServer;
beforeAll(async () => {
  srv = await startTestServer({ env: { RESUME_WINDOW_S: '30' } });
});
afterAll(async () => {
  await srv.close();
});

describe('ingest client', () => {
  it('gets one feedback per frame in order, cumulative acks, and ended with the frame count', async () => {
    const client = await connectIngest({ url: srv.ws, token: device(), hello: HELLO, WebSocket });
    expect(client.sessionId).toMatch(/^[A-Za-z0-9]/);
    expect(client.ready?.model.kind).toBe('pretrained');
    const fb = collect(client, 90);
    for (let s = 0; s < 90; s++) client.sendFrame(frame(s));
    const feedback = await fb.done;
    expect(feedback.map((f) => f.seq)).toEqual([...Array(90).keys()]);
    expect(feedback[45]?.phase).toBe('swing');
    // Predictions come typed: per horizon its uncertainty and the predicted pose as a Float32Array.
    const p = predictionAt(feedback[10]!, 1);
    expect(p?.uncertainty).toBe(0.02);
    expect(p?.pose).toBeInstanceOf(Float32Array);
    expect(feedback[10]?.joints).toBeInstanceOf(Float32Array);
    expect(Array.from(p!.pose!)).toEqual(Array.from(feedback[10]!.joints!, (v) => Math.fround(v + 0.01)));
    expect(predictionAt(feedback[10]!, 5)).toBeUndefined();
    const ended = await client.end();
    expect(ended).toMatchObject({ type: 'ended', sessionId: client.sessionId, frames: 90 });
    expect(client.stats).toMatchObject({ framesSent: 90, framesResent: 0, lastAckedSeq: 89, unacked: 0, feedback: 90 });
    expect(client.currentState).toBe('ended');
  });

  it('refuses a missing or forged token with UNAUTHORIZED', async () => {
    const forged = `${device().slice(0, -4)}AAAA`;
    const err = await connectIngest({ url: srv.ws, token: forged, hello: HELLO, WebSocket }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ClientError);
    expect((err as ClientError).code).toBe(ClientErrorCode.UNAUTHORIZED);
  });

  it('reports a bad frame as a wire error and the session goes on', async () => {
    const client = await connectIngest({ url: srv.ws, token: device(), hello: HELLO, WebSocket });
    const err = deferred<string>('error message');
    client.on('error', (e) => err.resolve(`${e.code}:${e.seq}`));
    const fb = collect(client, 2);
    client.sendFrame(frame(0));
    const bad = frame(1);
    bad.joints?.fill(Number.NaN, 30, 33);
    client.sendFrame(bad);
    client.sendFrame(frame(2));
    expect(await err.promise).toBe('NON_FINITE:1');
    expect((await fb.done).map((f) => f.seq)).toEqual([0, 2]);
    expect((await client.end()).frames).toBe(2);
  });

  it('rejects a non-increasing seq locally with BAD_FRAME', async () => {
    const client = await connectIngest({ url: srv.ws, token: device(), hello: HELLO, WebSocket });
    client.sendFrame(frame(5));
    expect(() => client.sendFrame(frame(5))).toThrow(expect.objectContaining({ code: ClientErrorCode.BAD_FRAME }));
    await client.end();
    expect(() => client.sendFrame(frame(6))).toThrow(expect.objectContaining({ code: ClientErrorCode.CLOSED }));
  });

  it('resumes after a lost connection: resends unacked frames, feedback once per frame, recording complete', async () => {
    const proxy = await cuttableProxy(srv.server.port);
    try {
      const client = await connectIngest({ url: proxy.url, token: device(), hello: HELLO, WebSocket, backoff: { initialMs: 20, maxMs: 100 } });
      const fb = collect(client, 200);
      const firstAcks = deferred('acks before the cut');
      client.on('ack', (a) => a.seq >= 49 && firstAcks.resolve());
      for (let s = 0; s < 100; s++) client.sendFrame(frame(s));
      await firstAcks.promise;
      const reconnecting = deferred('reconnecting');
      client.on('state', (s) => s === 'reconnecting' && reconnecting.resolve());
      proxy.paused = true;
      proxy.cut();
      await reconnecting.promise;
      // state$ replays the current state ('reconnecting') on subscribe, so this waits for the next 'ready'.
      const readyAgain = deferred('ready again');
      client.on('state', (s) => s === 'ready' && readyAgain.resolve());
      // Frames captured while offline wait in the unacked buffer.
      for (let s = 100; s < 200; s++) client.sendFrame(frame(s));
      expect(client.stats.unacked).toBeGreaterThanOrEqual(100);
      proxy.paused = false;
      await readyAgain.promise;
      const feedback = await fb.done;
      expect(feedback.map((f) => f.seq)).toEqual([...Array(200).keys()]);
      const ended = await client.end();
      expect(ended.frames).toBe(200);
      expect(client.stats.reconnects).toBeGreaterThanOrEqual(1);
      expect(client.stats.unacked).toBe(0);
      expect(proxy.connections).toBeGreaterThanOrEqual(2);
    } finally {
      await proxy.close();
    }
  });

  it('refuses new frames with BUFFER_FULL when the unacked buffer is full, keeping the old ones', async () => {
    const proxy = await cuttableProxy(srv.server.port);
    try {
      const client = await connectIngest({ url: proxy.url, token: device(), hello: HELLO, WebSocket, maxUnacked: 8, backoff: { initialMs: 20, maxMs: 50 } });
      const reconnecting = deferred('reconnecting');
      client.on('state', (s) => s === 'reconnecting' && reconnecting.resolve());
      proxy.paused = true;
      proxy.cut();
      await reconnecting.promise;
      for (let s = 0; s < 8; s++) client.sendFrame(frame(s));
      expect(() => client.sendFrame(frame(8))).toThrow(expect.objectContaining({ name: 'ClientError', code: ClientErrorCode.BUFFER_FULL }));
      const fb = collect(client, 8);
      const acked = deferred('ack of frame 7');
      client.on('ack', (a) => a.seq === 7 && acked.resolve());
      proxy.paused = false;
      expect((await fb.done).map((f) => f.seq)).toEqual([0, 1, 2, 3, 4, 5, 6, 7]);
      await acked.promise;
      // Acked frames leave the buffer: there is room again.
      client.sendFrame(frame(8));
      expect((await client.end()).frames).toBe(9);
    } finally {
      await proxy.close();
    }
  });
});

describe('ingest client when the session cannot be resumed', () => {
  it('fails with RESUME_FAILED (ended rejects) when the server dropped the session (RESUME_WINDOW_S=0)', async () => {
    const strict = await startTestServer({ env: { RESUME_WINDOW_S: '0' } });
    const proxy = await cuttableProxy(strict.server.port);
    try {
      const client = await connectIngest({ url: proxy.url, token: device(), hello: HELLO, WebSocket, backoff: { initialMs: 20, maxMs: 50 } });
      const fb = collect(client, 10);
      for (let s = 0; s < 10; s++) client.sendFrame(frame(s));
      await fb.done;
      proxy.cut();
      const err = await client.ended.catch((e: unknown) => e);
      expect(err).toBeInstanceOf(ClientError);
      expect((err as ClientError).code).toBe(ClientErrorCode.RESUME_FAILED);
      expect(client.currentState).toBe('failed');
      expect(() => client.sendFrame(frame(10))).toThrow(expect.objectContaining({ code: ClientErrorCode.CLOSED }));
    } finally {
      await proxy.close();
      await strict.close();
    }
  });
});

describe('live client', () => {
  it('reconnects after a lost connection and re-subscribes (fresh snapshot)', async () => {
    const proxy = await cuttableProxy(srv.server.port);
    try {
      const ingest = await connectIngest({ url: srv.ws, token: device(), hello: HELLO, WebSocket });
      for (let s = 0; s < 20; s++) ingest.sendFrame(frame(s));
      const live = await connectLive({ url: proxy.url, token: therapist(), WebSocket, backoff: { initialMs: 20, maxMs: 50 } });
      let snapshots = 0;
      const second = deferred('second snapshot');
      live.snapshots$.subscribe(() => ++snapshots === 2 && second.resolve());
      const first = deferred('first snapshot');
      live.snapshots$.subscribe(() => first.resolve());
      live.subscribe({ sessionId: ingest.sessionId });
      await first.promise;
      proxy.cut();
      await second.promise;
      expect(live.reconnects).toBe(1);
      expect(live.currentState).toBe('open');
      const upd = deferred('update after reconnect');
      live.updates$.subscribe(() => upd.resolve());
      for (let s = 20; s < 40; s++) ingest.sendFrame(frame(s));
      await upd.promise;
      live.close();
      await ingest.end();
    } finally {
      await proxy.close();
    }
  });

  it('subscribes to a session: snapshot, throttled updates, session.ended', async () => {
    const ingest = await connectIngest({ url: srv.ws, token: device(), hello: HELLO, WebSocket });
    for (let s = 0; s < 30; s++) ingest.sendFrame(frame(s));
    const live = await connectLive({ url: srv.ws, token: therapist(), WebSocket });
    const snap = deferred<number>('snapshot');
    const updates: Update[] = [];
    const endedEvt = deferred<number>('session.ended');
    live.snapshots$.subscribe((s) => snap.resolve(s.updates.length));
    live.updates$.subscribe((u) => updates.push(u));
    live.sessionEvents$.subscribe((e) => e.type === 'session.ended' && endedEvt.resolve(e.frames));
    live.subscribe({ sessionId: ingest.sessionId });
    expect(await snap.promise).toBeGreaterThan(0);
    const gotUpdate = deferred('an update after subscribe');
    live.updates$.subscribe(() => gotUpdate.resolve());
    for (let s = 30; s < 60; s++) ingest.sendFrame(frame(s));
    await gotUpdate.promise;
    await ingest.end();
    expect(await endedEvt.promise).toBe(60);
    expect(updates.every((u) => u.sessionId === ingest.sessionId && u.joints.length === 60)).toBe(true);
    expect(updates.every((u) => predictionAt(u, 1)?.pose instanceof Float32Array)).toBe(true);
    // ≤ 30 Hz: never more updates than frames
    expect(updates.length).toBeLessThanOrEqual(30);
    live.close();
    await live.closed;
  });

  it("gets FORBIDDEN for another clinic's session and the connection goes on", async () => {
    const ingest = await connectIngest({ url: srv.ws, token: device(), hello: HELLO, WebSocket });
    const live = await connectLive({ url: srv.ws, token: therapist('c2'), WebSocket });
    const err = deferred<string>('error');
    live.errors$.subscribe((e) => err.resolve(e.code));
    live.subscribe({ sessionId: ingest.sessionId });
    expect(['FORBIDDEN', 'SESSION_NOT_FOUND']).toContain(await err.promise);
    expect(live.currentState).toBe('open');
    live.close();
    await ingest.end();
  });
});
