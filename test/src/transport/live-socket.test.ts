// /v1/live over real sockets: authorisation, snapshot + updates + lifecycle, slow dashboards.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ErrorCode, type Update } from '../../../src/protocol/index.js';
import { Client, HELLO, startServer, syntheticFrame, token, type Harness } from './harness.js';

let h: Harness;
beforeAll(async () => {
  h = await startServer({ env: { LIVE_UPDATE_HZ: '60', SNAPSHOT_SECONDS: '1', MAX_BACKPRESSURE_BYTES: '262144', MAX_INVALID_MSGS: '3' } });
});
afterAll(async () => {
  await h?.close();
});

const therapist = (clinic = 'c1') => token({ clinic, role: 'therapist' });

async function startSession(): Promise<{ c: Client; sessionId: string }> {
  const c = await Client.connect(h.ws, 'ingest', token({ clinic: 'c1', role: 'device', patient: 'p1' }));
  c.send(HELLO);
  await c.until('ready', () => c.of('ready').length === 1);
  return { c, sessionId: c.of('ready')[0]!.sessionId };
}

describe('/v1/live', () => {
  it('a therapist of the clinic gets session.started, a snapshot, updates and session.ended', async () => {
    const dash = await Client.connect(h.ws, 'live', therapist());
    dash.send({ type: 'subscribe', clinic: 'c1' });
    const { c, sessionId } = await startSession();
    await dash.until('session.started', () => dash.of('session.started').some((m) => m.sessionId === sessionId));
    for (let s = 0; s < 30; s++) c.send(syntheticFrame(s));
    await c.until('feedback', () => c.of('feedback').length === 30);
    await dash.until('an update for the last frame', () => dash.of('update').some((u) => u.seq === 29));
    const seqs = dash.of('update').map((u) => u.seq);
    expect([...seqs].sort((a, b) => a - b)).toEqual(seqs);

    const late = await Client.connect(h.ws, 'live', therapist());
    late.send({ type: 'subscribe', sessionId });
    await late.until('snapshot', () => late.of('snapshot').length === 1);
    const snap = late.of('snapshot')[0]!;
    expect(snap.sessionId).toBe(sessionId);
    expect(snap.updates.length).toBeGreaterThan(0);
    expect(snap.updates.at(-1)?.seq).toBe(29);

    c.send({ type: 'end' });
    await dash.until('session.ended', () => dash.of('session.ended').length === 1);
    await late.until('session.ended (session topic)', () => late.of('session.ended').length === 1);
    expect(dash.of('session.ended')[0]).toMatchObject({ sessionId, frames: 30 });
    await Promise.all([dash.close(), late.close(), c.closed]);
  });

  it('a text frame closes with 4002 at once', async () => {
    const dash = await Client.connect(h.ws, 'live', therapist());
    dash.socket.send('subscribe c1');
    expect(await dash.closed).toBe(4002);
    expect(dash.of('error').map((e) => e.code)).toEqual([ErrorCode.INVALID_MESSAGE]);
  });

  it('MAX_INVALID_MSGS (3 here) invalid messages are answered and the connection goes on; one more closes with 4002', async () => {
    const dash = await Client.connect(h.ws, 'live', therapist());
    const bad = { type: 'subscribe', clinic: 'no spaces allowed' } as never;
    for (let i = 0; i < 3; i++) dash.send(bad);
    dash.send({ type: 'subscribe', sessionId: 'no-such-session' });
    await dash.until('4 errors', () => dash.of('error').length === 4);
    expect(dash.of('error').map((e) => e.code)).toEqual([
      ErrorCode.INVALID_MESSAGE,
      ErrorCode.INVALID_MESSAGE,
      ErrorCode.INVALID_MESSAGE,
      ErrorCode.SESSION_NOT_FOUND,
    ]);
    expect(dash.closeCode).toBeUndefined();
    dash.send(bad);
    expect(await dash.closed).toBe(4002);
    expect(dash.closeReason).toMatch(/more than 3 invalid messages in 10 s/);
  });

  it('devices and other clinics cannot subscribe (FORBIDDEN); unknown sessions are SESSION_NOT_FOUND', async () => {
    const { c, sessionId } = await startSession();
    const other = await Client.connect(h.ws, 'live', therapist('c2'));
    other.send({ type: 'subscribe', sessionId });
    other.send({ type: 'subscribe', clinic: 'c1' });
    other.send({ type: 'subscribe', sessionId: 'no-such-session' });
    const dev = await Client.connect(h.ws, 'live', token({ clinic: 'c1', role: 'device', patient: 'p1' }));
    dev.send({ type: 'subscribe', clinic: 'c1' });
    dev.send({ type: 'subscribe', sessionId });
    await other.until('3 errors', () => other.of('error').length === 3);
    await dev.until('2 errors', () => dev.of('error').length === 2);
    expect(other.of('error').map((e) => e.code)).toEqual([ErrorCode.FORBIDDEN, ErrorCode.FORBIDDEN, ErrorCode.SESSION_NOT_FOUND]);
    expect(dev.of('error').map((e) => e.code)).toEqual([ErrorCode.FORBIDDEN, ErrorCode.FORBIDDEN]);
    expect(other.of('snapshot')).toEqual([]);
    await Promise.all([other.close(), dev.close(), c.close()]);
  });

  it('a dashboard that stops reading is skipped (dropped count rises), stays bounded, and gets the newest state after draining', async () => {
    const dash = await Client.connect(h.ws, 'live', therapist('c9'));
    dash.send({ type: 'subscribe', clinic: 'c9' });
    // A subscribed snapshot-free clinic; wait until the server has processed the subscription.
    const probe = 'probe-session';
    h.server.hub.sessionStarted({ sessionId: probe, clinic: 'c9', patientId: 'p1', assessment: 'gait', startedAt: 1 });
    await dash.until('probe started', () => dash.of('session.started').length === 1);
    const tcp = (dash.socket as unknown as { _socket: { pause(): void; resume(): void } })._socket;
    tcp.pause();
    const dropped = () => h.server.metrics.droppedUpdates.get({ reason: 'slow_subscriber' });
    const before = dropped();
    // Offer rounds of updates (one per session) until the OS socket buffers behind the paused reader
    // are full and the hub starts skipping; from then on every further update must be skipped.
    const ids = Array.from({ length: 1000 }, (_, i) => `s${i}`);
    for (const id of ids) h.server.hub.sessionStarted({ sessionId: id, clinic: 'c9', patientId: 'p1', assessment: 'gait', startedAt: 1 });
    const update = (sessionId: string, seq: number): Update => ({
      type: 'update',
      sessionId,
      seq,
      t: seq / 60,
      joints: new Float32Array(60),
      phase: 'stance',
      contacts: { left: true, right: false },
      metrics: { cadence_spm: 110, steps: seq },
      uncertainty: 0.1,
      surprise: 0.2,
    });
    let seq = 0;
    const round = async () => {
      for (const id of ids) h.server.hub.update(id, update(id, seq));
      seq += 1;
      await new Promise<void>((r) => setImmediate(r)); // let uWS flush between rounds
    };
    // How much the OS buffers behind the paused reader depends on TCP autotuning (up to tcp_rmem max);
    // keep offering until the hub has skipped 20 rounds' worth of updates for this subscriber.
    while (dropped() - before < 20 * ids.length) {
      if (seq > 2000) throw new Error(`the hub never skipped the paused dashboard enough (skipped ${dropped() - before})`);
      await round();
    }
    const rounds = seq;
    // uWS closes a socket whose buffer passes maxBackpressure (closeOnBackpressureLimit): still open
    // means the server never held more than 256 KiB for this dashboard however much was offered.
    expect(dash.closeCode).toBeUndefined();
    expect(h.server.metrics.sendResults.get({ route: 'live', result: 'dropped' })).toBe(0);
    tcp.resume();
    // After draining, every session's newest state reaches the dashboard.
    const newest = new Set<string>();
    let cursor = 0;
    await dash.until(
      'newest state of every session',
      () => {
        for (; cursor < dash.messages.length; cursor++) {
          const m = dash.messages[cursor]!;
          if (m.type === 'update' && m.seq === rounds - 1) newest.add(m.sessionId);
        }
        return newest.size === ids.length;
      },
      30_000,
    );
    expect(dash.of('update').length).toBeLessThan(rounds * ids.length - (dropped() - before) + ids.length);
    for (const id of [probe, ...ids]) h.server.hub.sessionEnded(id, { frames: 0 });
    await dash.close();
  }, 60_000);
});
