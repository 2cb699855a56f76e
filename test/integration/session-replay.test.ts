// GET /v1/recordings and GET /v1/sessions/:id/replay over real sockets: a real recording streamed by
// the simulator through the real pipeline; the replay must give the states a dashboard saw live
// (same stages: identical joints, phase and metrics at the same seq), to therapists of that clinic only.
import WebSocket from 'ws';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadRecordings, simulate } from '../../clients/simulator/simulate.js';
import { decodeReplay, type Update } from '../../src/protocol/index.js';
import { livePipeline } from '../../src/sessions/live-pipeline.js';
import type { FinishedSession, SessionReplaySource } from '../../src/sessions/session-replay.js';
import { MAX_CONCURRENT_REPLAYS } from '../../src/transport/http-routes.js';
import { startTestServer, token, type TestServer } from '../clients/fixture.js';
import { hasMotionData, motion } from '../helpers/motion-data.js';
import { Client } from '../src/transport/harness.js';

const get = (base: string, path: string, tok: string) => fetch(`${base}${path}`, { headers: { authorization: `Bearer ${tok}` } });
const therapist = (clinic = 'c1') => token({ clinic, role: 'therapist' });

describe.skipIf(!hasMotionData)('finished sessions and their replay', () => {
  let srv: TestServer;
  let sessionId = '';
  let frames = 0;
  const live: Update[] = [];

  beforeAll(async () => {
    srv = await startTestServer({ deps: { pipeline: livePipeline() } });
    const dash = await Client.connect(srv.ws, 'live', therapist());
    dash.send({ type: 'subscribe', clinic: 'c1' });
    const report = await simulate({
      url: srv.ws,
      token: token({ clinic: 'c1', role: 'device', patient: 'p1' }),
      recordings: await loadRecordings([motion('opensim-gait', 'subject01_walk1.trc')]),
      sessions: 1,
      speed: 1,
      patientId: 'p1',
      rampMs: 0,
      WebSocket,
    });
    frames = report.frames_sent;
    await dash.until('session.ended', () => dash.of('session.ended').length === 1);
    sessionId = dash.of('session.ended')[0]!.sessionId;
    live.push(...dash.of('update'));
    await dash.close();
  }, 60_000);
  afterAll(async () => {
    await srv?.close();
  });

  it('lists the clinic’s finished sessions, narrowed by patient; other clinics and devices get none', async () => {
    const mine = (await (await get(srv.http, '/v1/recordings', therapist())).json()) as { sessions: FinishedSession[] };
    expect(mine.sessions).toEqual([expect.objectContaining({ sessionId, patientId: 'p1', assessment: 'gait' })]);
    expect(Date.parse(mine.sessions[0]!.endedAt)).toBeGreaterThanOrEqual(Date.parse(mine.sessions[0]!.startedAt));
    expect(((await (await get(srv.http, '/v1/recordings?patient=p2', therapist())).json()) as { sessions: unknown[] }).sessions).toEqual([]);
    expect(((await (await get(srv.http, '/v1/recordings', therapist('c2'))).json()) as { sessions: unknown[] }).sessions).toEqual([]);
    expect((await get(srv.http, '/v1/recordings', token({ clinic: 'c1', role: 'device', patient: 'p1' }))).status).toBe(403);
  });

  it('replays the recording through the same stages as live: the states a dashboard saw, at the same seq', async () => {
    const res = await get(srv.http, `/v1/sessions/${sessionId}/replay`, therapist());
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toBe('application/msgpack');
    const decoded = decodeReplay(new Uint8Array(await res.arrayBuffer()));
    if (!decoded.ok) throw new Error(decoded.message);
    const r = decoded.replay;
    expect(r).toMatchObject({ sessionId, clinic: 'c1', patientId: 'p1', assessment: 'gait', frames, updateHz: srv.config.liveUpdateHz, truncated: false });
    // one state per 1/updateHz of device time: about half of a 60 Hz recording at 30 Hz
    expect(r.updates.length).toBeGreaterThan(frames / 2 - 3);
    expect(r.updates.length).toBeLessThanOrEqual(Math.ceil(frames / 2) + 1);
    expect(r.updates.every((u) => u.sessionId === sessionId)).toBe(true);
    const seqs = r.updates.map((u) => u.seq);
    expect(seqs).toEqual([...seqs].sort((a, b) => a - b));
    expect(r.updates.at(-1)?.metrics['knee_flexion_deg_left']).toBeTypeOf('number');
    expect(Object.keys(r.updates.at(-1)?.metrics ?? {}).some((k) => k.startsWith('quality_passed_'))).toBe(true);
    expect(r.updates.at(-1)?.predictions.map((p) => p.h)).toEqual([1]); // the inference double's horizon
    // Same stages as live: wherever live and replay hold the same frame, they agree exactly.
    const bySeq = new Map(r.updates.map((u) => [u.seq, u]));
    // Live updates are thinned by wall clock (≤ LIVE_UPDATE_HZ, newest wins) and the replay by device
    // time, so how many frames both hold depends on the box's load: at least one, all compared.
    const common = live.filter((u) => bySeq.has(u.seq));
    expect(common.length).toBeGreaterThan(0);
    for (const u of common) {
      const x = bySeq.get(u.seq)!;
      expect(Array.from(x.joints)).toEqual(Array.from(u.joints));
      expect(x.phase).toBe(u.phase);
      expect(x.contacts).toEqual(u.contacts);
      expect(x.metrics).toEqual(u.metrics);
      expect(x.uncertainty).toBe(u.uncertainty);
    }
  });

  it('is "not found" for another clinic, an unknown or malformed id; devices are refused', async () => {
    for (const [path, tok] of [
      [`/v1/sessions/${sessionId}/replay`, therapist('c2')],
      ['/v1/sessions/no-such-session/replay', therapist()],
      ['/v1/sessions/..%2F..%2Fpackage.json/replay', therapist()],
    ] as const) {
      const r = await get(srv.http, path, tok);
      expect(r.status).toBe(404);
      expect(await r.json()).toMatchObject({ code: 'SESSION_NOT_FOUND' });
    }
    expect((await get(srv.http, `/v1/sessions/${sessionId}/replay`, token({ clinic: 'c1', role: 'device', patient: 'p1' }))).status).toBe(403);
  });
});

describe('replay concurrency bound', () => {
  it(`answers 503 BUSY beyond ${MAX_CONCURRENT_REPLAYS} replays being computed, and serves again once they finish`, async () => {
    const waiting: (() => void)[] = [];
    let onAsk = (): void => undefined;
    const finished: SessionReplaySource = {
      list: async () => [],
      replay: () =>
        new Promise((resolve) => {
          waiting.push(() => resolve(undefined));
          onAsk();
        }),
    };
    /** Resolves once the server has asked the source for `n` replays in all (a latch, not a sleep). */
    const asked = (n: number) =>
      new Promise<void>((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`the server did not ask for ${n} replays in 10 s`)), 10_000);
        onAsk = () => {
          if (waiting.length < n) return;
          clearTimeout(timer);
          resolve();
        };
        onAsk();
      });
    const srv = await startTestServer({ deps: { finished } });
    try {
      const slow = Array.from({ length: MAX_CONCURRENT_REPLAYS }, () => get(srv.http, '/v1/sessions/s1/replay', therapist()));
      await asked(MAX_CONCURRENT_REPLAYS);
      const busy = await get(srv.http, '/v1/sessions/s1/replay', therapist());
      expect(busy.status).toBe(503);
      expect(await busy.json()).toMatchObject({ code: 'BUSY' });
      for (const w of waiting.splice(0)) w();
      for (const r of await Promise.all(slow)) expect(r.status).toBe(404);
      const again = get(srv.http, '/v1/sessions/s1/replay', therapist());
      await asked(1);
      waiting.splice(0).forEach((w) => w());
      expect((await again).status).toBe(404);
    } finally {
      await srv.close();
    }
  });
});
