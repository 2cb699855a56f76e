import WebSocket from 'ws';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { arkitFrames, bodyAnchor, floorPlane } from '../../clients/simulator/arkit-frames.js';
import { LatencyHistogram } from '../../clients/simulator/latency-histogram.js';
import { loadRecordings, simulate } from '../../clients/simulator/simulate.js';
import { patientClaim, replayCommand } from '../../src/cli/replay.js';
import type { CliIo } from '../../src/cli/io.js';
import { livePipeline } from '../../src/sessions/live-pipeline.js';
import { arkitToCanonical } from '../../streams/adapters/arkit.js';
import { readRecording } from '../../streams/adapters/read-recording.js';
import { hasMotionData, motion } from '../helpers/motion-data.js';
import { startTestServer, token, type TestServer } from './fixture.js';

const WALK = motion('opensim-gait', 'subject01_walk1.trc');
const CAMARGO = motion('camargo-levelground', 'levelground_ccw_fast_01_01.trc');

describe.skipIf(!hasMotionData)('recording → ARKit frames', () => {
  it('round-trips the canonical joints through anchor + 91 model-space joints (OpenSim walk)', async () => {
    const rec = await readRecording(WALK);
    const frames = [...arkitFrames(rec, { clockOffsetS: 100 })];
    expect(frames).toHaveLength(rec.frames.length);
    let worst = 0;
    frames.forEach((f, i) => {
      expect(f.seq).toBe(i);
      expect(f.t).toBeCloseTo(100 + (rec.frames[i]?.t ?? NaN), 9);
      expect(f.joints).toHaveLength(273);
      expect(f.tracked).toBeUndefined(); // every joint present in this recording
      const back = arkitToCanonical(f.anchor, f.joints ?? new Float32Array());
      const src = rec.frames[i]?.joints ?? new Float32Array();
      for (let k = 0; k < 60; k++) {
        // heels are estimated from ankle + toe on the way back; compare the 18 mapped joints
        if (k >= 21 && k < 27) continue;
        worst = Math.max(worst, Math.abs((back[k] ?? NaN) - (src[k] ?? NaN)));
      }
    });
    expect(worst).toBeLessThan(1e-4);
    // the anchor sits at the root and is a rotation about y (orthonormal, y axis = up)
    const a = frames[10]?.anchor ?? new Float32Array();
    expect([a[4], a[5], a[6]]).toEqual([0, 1, 0]);
    expect(Math.hypot(a[0] ?? 0, a[1] ?? 0, a[2] ?? 0)).toBeCloseTo(1, 5);
  });

  it('puts the floor plane under the feet (OpenSim: heel markers 56–75 mm above y = 0)', async () => {
    const rec = await readRecording(WALK);
    const floor = floorPlane(rec);
    expect(floor?.classification).toBe('floor');
    const y = floor?.transform[13] ?? NaN;
    expect(y).toBeGreaterThan(-0.05);
    expect(y).toBeLessThan(0.12);
  });

  it('marks joints the source lacks as untracked and sends finite zeros (Camargo: no upper body)', async () => {
    const rec = await readRecording(CAMARGO);
    const first = arkitFrames(rec).next().value;
    expect(first?.tracked).toBeInstanceOf(Uint8Array);
    expect(first?.tracked?.includes(0)).toBe(true);
    expect(first?.tracked?.includes(1)).toBe(true);
    expect(first?.joints?.every(Number.isFinite)).toBe(true);
  });

  it('keeps the previous anchor when the root is missing', () => {
    const noRoot = new Float32Array(60).fill(Number.NaN);
    const prev = new Float32Array(16).fill(2);
    expect(bodyAnchor(noRoot, prev)).toBe(prev);
    expect(bodyAnchor(noRoot, undefined)).toBeUndefined();
  });
});

describe('latency histogram', () => {
  it('gives percentiles within 1 % and the exact max', () => {
    const h = new LatencyHistogram();
    for (let i = 1; i <= 1000; i++) h.record(i / 10); // 0.1 … 100 ms
    const s = h.summary();
    expect(s.count).toBe(1000);
    expect(s.p50).toBeGreaterThanOrEqual(50 * 0.99);
    expect(s.p50).toBeLessThanOrEqual(50 * 1.01);
    expect(s.p99).toBeGreaterThanOrEqual(99 * 0.99);
    expect(s.p99).toBeLessThanOrEqual(99 * 1.01);
    expect(s.max).toBe(100);
    h.record(Number.NaN);
    expect(h.count).toBe(1000);
  });
});

describe.skipIf(!hasMotionData)('simulator against a real server (real stream pipeline)', () => {
  let srv: TestServer;
  beforeAll(async () => {
    srv = await startTestServer({ deps: { pipeline: livePipeline() } });
  });
  afterAll(async () => {
    await srv.close();
  });

  it('replays the OpenSim walk at 4× in 2 sessions: one feedback and one ack per frame', async () => {
    const recordings = await loadRecordings([WALK]);
    const report = await simulate({
      url: srv.ws,
      token: token({ clinic: 'c1', role: 'device', patient: 'p-sim' }),
      recordings,
      sessions: 2,
      speed: 4,
      patientId: 'p-sim',
      rampMs: 100,
      WebSocket,
    });
    const n = recordings[0]?.recording.frames.length ?? 0;
    expect(report).toMatchObject({
      sessions: 2,
      frames_sent: 2 * n,
      feedback_received: 2 * n,
      acked: 2 * n,
      errors: 0,
      missing_feedback: 0,
      failed_sessions: 0,
    });
    expect(report.latency_ms.count).toBe(2 * n);
    expect(report.latency_ms.p50).toBeGreaterThan(0);
    // 151 frames = 2.5 s of walking; at 4× that is ≥ 0.62 s of pacing, not a burst
    expect(report.duration_s).toBeGreaterThan(2.5 / 4);
  });

  it('`jepa-motion replay` usage errors: no recording, no --url, no token, bad --speed', async () => {
    const io: CliIo = { out: () => undefined, err: () => undefined, env: {}, isTty: false };
    await expect(replayCommand(['--url', srv.ws, '--token', 't'], io)).rejects.toThrow(/at least one recording/);
    await expect(replayCommand([WALK, '--token', 't'], io)).rejects.toThrow(/--url is required/);
    await expect(replayCommand([WALK, '--url', srv.ws], io)).rejects.toThrow(/token is required/);
    await expect(replayCommand([WALK, '--url', srv.ws, '--token', 't', '--speed', '0'], io)).rejects.toThrow(/--speed 0/);
    await expect(replayCommand([WALK, '--url', srv.ws, '--token', 't', '--assessment', 'dance'], io)).rejects.toThrow(/--assessment dance/);
    await expect(replayCommand(['/nonexistent.trc', '--url', srv.ws, '--token', 't'], io)).rejects.toMatchObject({
      name: 'AdapterError',
      code: 'ADAPTER_NOT_FOUND',
    });
  });

  it('`jepa-motion replay --json` prints the report and exits 0; a wrong token exits 1', async () => {
    let out = '';
    let err = '';
    const io: CliIo = { out: (t) => (out += t), err: (t) => (err += t), env: {}, isTty: false };
    const code = await replayCommand(
      [WALK, '--url', srv.ws, '--speed', '3', '--patient', 'p2', '--json', '--token', token({ clinic: 'c1', role: 'device', patient: 'p2' })],
      io,
    );
    expect(err).toBe('');
    expect(code).toBe(0);
    const report = JSON.parse(out) as Record<string, unknown>;
    expect(Object.keys(report).slice(0, 6)).toEqual(['sessions', 'frames_sent', 'feedback_received', 'acked', 'errors', 'latency_ms']);
    expect(report).toMatchObject({ sessions: 1, frames_sent: 151, feedback_received: 151, acked: 151, errors: 0 });
    out = '';
    const bad = await replayCommand(
      [WALK, '--url', srv.ws, '--json', '--token', token({ clinic: 'c1', role: 'device', patient: 'other' }), '--patient', 'p3'],
      io,
    );
    expect(bad).toBe(1);
    expect(JSON.parse(out)).toMatchObject({ frames_sent: 0, failed_sessions: 1 });
  });

  it("`jepa-motion replay` without --patient streams for the device token's patient", async () => {
    let out = '';
    const io: CliIo = { out: (t) => (out += t), err: () => undefined, env: {}, isTty: false };
    const code = await replayCommand(
      [WALK, '--url', srv.ws, '--speed', '4', '--json', '--token', token({ clinic: 'c1', role: 'device', patient: 'p-token' })],
      io,
    );
    expect(code).toBe(0);
    expect(JSON.parse(out)).toMatchObject({ sessions: 1, frames_sent: 151, acked: 151, failed_sessions: 0 });
  });
});

describe('patientClaim (the token payload, unverified)', () => {
  it('reads the patient of a device token, nothing from other tokens or non-JWTs', () => {
    expect(patientClaim(token({ clinic: 'c1', role: 'device', patient: 'p-9' }))).toBe('p-9');
    expect(patientClaim(token({ clinic: 'c1', role: 'admin' }))).toBeUndefined();
    expect(patientClaim('not-a-jwt')).toBeUndefined();
    expect(patientClaim('a.%%%.c')).toBeUndefined();
    expect(patientClaim(`a.${Buffer.from('{"patient":7}').toString('base64url')}.c`)).toBeUndefined();
  });
});
