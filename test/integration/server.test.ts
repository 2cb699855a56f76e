// The live server end to end with the real parts: uWS on 127.0.0.1:0, src/protocol + src/auth, the
// durable recording log, the in-process job bus, streams/adapt + the session pipeline, and the
// inference service running the tfjs engine in a worker thread. Frames are a real recording (OpenSim
// treadmill walk, 151 frames at 60 Hz) turned into ARKit frames the way the iPad sends them.
import { mkdtemp, rm } from 'node:fs/promises';
import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import WebSocket from 'ws';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadFeatureSequence } from '../../models/feature-sequences.js';
import { canonicalToArkit } from '../../streams/adapters/arkit.js';
import { readRecording as readMotion } from '../../streams/adapters/read-recording.js';
import { bearerProtocols } from '../../src/auth/index.js';
import { buildBenchCheckpoints, type BenchCheckpoints } from '../../src/inference/bench-checkpoints.js';
import { createCheckpointLoader } from '../../src/inference/checkpoint-loader.js';
import { createInferenceService } from '../../src/inference/inference-service.js';
import type { InferenceService } from '../../src/inference/types.js';
import { createInProcessBus } from '../../src/jobs/in-process-bus.js';
import { JobSubject, type JobBus } from '../../src/jobs/job-bus.js';
import type { Frame } from '../../src/protocol/index.js';
import { livePipeline } from '../../src/sessions/live-pipeline.js';
import { DiskRecordingStore } from '../../src/sessions/recording-store.js';
import type { AssessmentCompleted } from '../../src/sessions/session-manager.js';
import { readRecording as readLog } from '../../src/storage/recording-reader.js';
import { silentLogger } from '../../src/logger.js';
import { Client, HELLO, startServer, token, waitFor } from '../src/transport/harness.js';
import { hasMotionData, motion } from '../helpers/motion-data.js';

const WALK = motion('opensim-gait', 'subject01_walk1.trc');
const HORIZONS = [1, 5, 10];
let dir = '';
let ck: BenchCheckpoints;
let inference: InferenceService | undefined;
let frames: Frame[] = [];
let floorY = 0;

/** Canonical world poses → ARKit wire frames: anchor at the root (as ARKit's body anchor), 91 model-space joints. */
function toArkitFrames(poses: readonly { t: number; joints: Float32Array }[]): Frame[] {
  return poses.map((p, seq) => {
    const anchor = new Float32Array([1, 0, 0, 0, 0, 1, 0, 0, 0, 0, 1, 0, p.joints[0]!, p.joints[1]!, p.joints[2]!, 1]);
    const joints = canonicalToArkit(p.joints, anchor);
    const tracked = new Uint8Array(91).fill(1);
    for (let j = 0; j < 91; j++) {
      if (![0, 1, 2].every((k) => Number.isFinite(joints[j * 3 + k]))) {
        tracked[j] = 0; // ARKit reports untracked joints with a flag, never NaN
        joints.fill(0, j * 3, j * 3 + 3);
      }
    }
    return { type: 'frame', seq, t: 10 + p.t, anchor, joints, tracked };
  });
}

function servingDeps(bus: JobBus) {
  return {
    bus,
    inference: inference!,
    pipeline: livePipeline(),
  };
}

function captureCompleted(bus: JobBus): AssessmentCompleted[] {
  const events: AssessmentCompleted[] = [];
  void bus.consume(JobSubject.ASSESSMENT_COMPLETED, async (e) => void events.push(e as AssessmentCompleted));
  return events;
}

const device = () => token({ clinic: 'c1', role: 'device', patient: 'p1' });

async function recordedFrameSeqs(path: string): Promise<number[]> {
  const { entries, end } = await readLog(path);
  expect(end.status).toBe('complete');
  return entries
    .map((e) => e.value as { type: string; seq?: number })
    .filter((v) => v.type === 'frame')
    .map((v) => v.seq!);
}

/** Sends frames in windows so the connection stays under its message-rate limit, like a 60 Hz device. */
async function stream(c: Client, fs: readonly Frame[], window = 60, resent = false): Promise<void> {
  for (let i = 0; i < fs.length; i += window) {
    for (const f of fs.slice(i, i + window)) c.send(f);
    const last = fs[Math.min(i + window, fs.length) - 1]!.seq;
    // Resent after a resume, a frame the server already had is acknowledged, not answered again.
    const done = () => c.of('feedback').some((f) => f.seq === last) || (resent && c.of('ack').some((a) => a.seq >= last));
    await c.until(`feedback for ${last}`, done, 30_000);
  }
}

describe.skipIf(!hasMotionData)('live server with the real pipeline and inference (OpenSim walk)', () => {
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'jm-server-it-'));
    const rec = await readMotion(WALK, { fps: 60 });
    frames = toArkitFrames(rec.frames);
    floorY = Math.min(...rec.frames.flatMap((f) => [...f.joints].filter((_, i) => i % 3 === 1 && Number.isFinite(f.joints[i]!))));
    const seq = await loadFeatureSequence({ path: WALK, assessment: 'gait', subject: 'subject01' });
    ck = await buildBenchCheckpoints(dir, [seq], []);
    inference = await createInferenceService(
      {
        workers: 1,
        maxBatch: 64,
        maxWaitMs: 4,
        maxQueueAgeMs: 60_000, // correctness here, not latency: nothing may go stale on a loaded 2-core box
        backend: 'wasm',
        engine: {
          module: new URL('../../src/inference/tfjs-engine.ts', import.meta.url),
          options: { checkpointDir: ck.base.dir, horizons: HORIZONS, passes: 10, poses: true },
        },
      },
      { loadModel: createCheckpointLoader({ base: ck.base, resolve: () => Promise.resolve(null) }) },
    );
  }, 120_000);

  afterAll(async () => {
    await inference?.close();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it('answers every frame once, in order, with physical state and predictions; acks after fsync; end publishes the recording', async () => {
    const bus = createInProcessBus();
    const events = captureCompleted(bus);
    const h = await startServer({ deps: servingDeps(bus) });
    try {
      const c = await Client.connect(h.ws, 'ingest', device());
      c.send(HELLO);
      await c.until('ready', () => c.of('ready').length === 1);
      const { sessionId } = c.of('ready')[0]!;
      // The floor plane ARKit would report: horizontal, at the height of the lowest foot point.
      c.send({
        type: 'env',
        planes: [{ transform: [1, 0, 0, 0, 0, 1, 0, 0, 0, 0, 1, 0, 0, floorY, 0, 1], extent: [4, 4], alignment: 'horizontal', classification: 'floor' }],
      });
      await stream(c, frames);
      await c.until('last ack', () => c.of('ack').at(-1)?.seq === frames.length - 1);
      const fb = c.of('feedback');
      expect(fb.map((f) => f.seq)).toEqual(frames.map((f) => f.seq));
      expect(c.of('error')).toEqual([]);
      expect(fb.filter((f) => f.shed)).toEqual([]);
      // Physical state from the real stages: both feet touch down during two treadmill strides.
      expect(fb.some((f) => f.contacts.left) && fb.some((f) => f.contacts.right)).toBe(true);
      expect(new Set(fb.map((f) => f.phase)).size).toBeGreaterThan(1);
      // MC-dropout uncertainty on every frame; surprise once a prediction for the frame exists.
      expect(fb.every((f) => f.uncertainty !== null && f.uncertainty > 0)).toBe(true);
      expect(fb.slice(20).every((f) => f.surprise !== null)).toBe(true);
      expect(fb[0]!.predictions.map((p) => p.h)).toEqual(HORIZONS);
      // Each horizon: its uncertainty and a predicted world pose decoded by the probe beside the model,
      // standing where the patient stands (the root is the frame's own; the limbs move, not the room).
      for (const f of fb) {
        expect(f.joints?.length).toBe(60);
        for (const p of f.predictions) {
          expect(p.uncertainty).toBeGreaterThan(0);
          expect(p.pose).toBeInstanceOf(Float32Array);
          expect(p.pose?.length).toBe(60);
          for (let c = 0; c < 3; c++) expect(p.pose![c]).toBeCloseTo(f.joints![c]!, 4);
          let far = 0;
          for (let j = 1; j < 20; j++) far = Math.max(far, Math.hypot(p.pose![3 * j]! - f.joints![0]!, p.pose![3 * j + 2]! - f.joints![2]!));
          expect(far).toBeLessThan(2); // metres from the pelvis on the floor plane: a body, not a point across the room
        }
      }
      expect(Object.keys(fb.at(-1)!.metrics)).toContain('steps');

      c.send({ type: 'end' });
      await c.until('ended', () => c.of('ended').length === 1);
      expect(c.of('ended')[0]).toMatchObject({ sessionId, frames: frames.length });
      await waitFor('assessment.completed', (resolve) => {
        const poll = () => (events.length === 1 ? resolve(undefined) : setImmediate(poll));
        poll();
      });
      const ev = events[0]!;
      expect(ev).toMatchObject({ sessionId, clinic: 'c1', patientId: 'p1', assessment: 'gait', reason: 'end', recording: { frames: frames.length } });
      expect(await recordedFrameSeqs(ev.recording.path)).toEqual(frames.map((f) => f.seq));
      expect(
        createHash('sha256')
          .update(await readFile(ev.recording.path))
          .digest('hex'),
      ).toBe(ev.recording.sha256);
      const metrics = await (await fetch(`${h.http}/metrics`)).text();
      expect(metrics).toMatch(/jepa_inference_batch_size_count [1-9]\d*/);
      expect(metrics).toContain('jepa_inference_backend{backend="wasm"} 1');
    } finally {
      await h.close();
      await bus.close();
    }
  }, 120_000);

  it('resume after a dropped connection gives a complete recording (every frame exactly once)', async () => {
    const bus = createInProcessBus();
    const events = captureCompleted(bus);
    const h = await startServer({ deps: servingDeps(bus) });
    try {
      const a = await Client.connect(h.ws, 'ingest', device());
      a.send(HELLO);
      await a.until('ready', () => a.of('ready').length === 1);
      const { sessionId } = a.of('ready')[0]!;
      await stream(a, frames.slice(0, 80));
      // The device sent 20 more frames, then Wi-Fi dropped: some were acked, some maybe not.
      for (const f of frames.slice(80, 100)) a.send(f);
      a.socket.terminate();
      await a.closed;
      const lastAckedSeq = a.of('ack').at(-1)?.seq ?? -1;

      const b = new Client(new WebSocket(`${h.ws}/v1/ingest`, bearerProtocols(device())), 'ingest');
      await b.opened;
      b.send({ ...HELLO, resume: { sessionId, lastAckedSeq } });
      await b.until('ready', () => b.of('ready').length === 1);
      const ready = b.of('ready')[0]!;
      expect(ready.sessionId).toBe(sessionId);
      expect(ready.resumeFromSeq).toBeGreaterThan(lastAckedSeq);
      // Like the SDK: resend everything not acked, then carry on.
      await stream(b, frames.slice(lastAckedSeq + 1), 60, true);
      await b.until('last ack', () => b.of('ack').at(-1)?.seq === frames.length - 1);
      expect(b.of('error')).toEqual([]);
      b.send({ type: 'end' });
      await b.until('ended', () => b.of('ended').length === 1);
      expect(b.of('ended')[0]!.frames).toBe(frames.length);
      await waitFor('assessment.completed', (resolve) => {
        const poll = () => (events.length === 1 ? resolve(undefined) : setImmediate(poll));
        poll();
      });
      expect(await recordedFrameSeqs(events[0]!.recording.path)).toEqual(frames.map((f) => f.seq));
    } finally {
      await h.close();
      await bus.close();
    }
  }, 120_000);

  it('graceful shutdown with no resume window answers in-flight frames, finalises the recording and closes with SHUTDOWN', async () => {
    // (Inside a resume window the session is suspended instead: test/integration/serve-restart-resume.test.ts.)
    const bus = createInProcessBus();
    const events = captureCompleted(bus);
    const dataDir = await mkdtemp(join(tmpdir(), 'jm-server-shutdown-'));
    const h = await startServer({ dataDir, env: { RESUME_WINDOW_S: '0' }, deps: servingDeps(bus) });
    const c = await Client.connect(h.ws, 'ingest', device());
    c.send(HELLO);
    await c.until('ready', () => c.of('ready').length === 1);
    for (const f of frames.slice(0, 50)) c.send(f);
    await c.until('first feedback', () => c.of('feedback').length > 0);
    await h.close();
    expect(await c.closed).toBe(4000);
    const answered = c.of('feedback').map((f) => f.seq);
    expect(answered).toEqual(frames.slice(0, answered.length).map((f) => f.seq));
    await waitFor('assessment.completed', (resolve) => {
      const poll = () => (events.length === 1 ? resolve(undefined) : setImmediate(poll));
      poll();
    });
    expect(events[0]).toMatchObject({ reason: 'shutdown' });
    // Every frame the server accepted before closing is in the recording.
    expect(await recordedFrameSeqs(events[0]!.recording.path)).toEqual(frames.slice(0, events[0]!.recording.frames).map((f) => f.seq));
    expect(events[0]!.recording.frames).toBeGreaterThanOrEqual(answered.length);
    await bus.close();
    await rm(dataDir, { recursive: true, force: true });
  }, 120_000);

  it('a restarted server finalises recordings a crash left unfinished and publishes them', async () => {
    const dataDir = await mkdtemp(join(tmpdir(), 'jm-server-crash-'));
    // What a crashed server leaves: a session record and frames, no trailer.
    const store = new DiskRecordingStore({ dir: join(dataDir, 'recordings'), fsync: { mode: 'always' } }, silentLogger);
    const meta = {
      sessionId: 'crashed-1',
      clinic: 'c1',
      patientId: 'p1',
      assessment: 'gait',
      fps: 60,
      startedAt: 1_700_000_000_000,
      model: { id: 'pretrained', kind: 'pretrained', version: '1' },
    };
    const sink = await store.open('crashed-1', meta);
    const { encodeClientMessage } = await import('../../src/protocol/index.js');
    for (const f of frames.slice(0, 30)) await sink.append(encodeClientMessage(f));
    const bus = createInProcessBus();
    const events = captureCompleted(bus);
    const h = await startServer({ dataDir, deps: servingDeps(bus) });
    try {
      await waitFor('recovered publish', (resolve) => {
        const poll = () => (events.length === 1 ? resolve(undefined) : setImmediate(poll));
        poll();
      });
      expect(events[0]).toMatchObject({ sessionId: 'crashed-1', clinic: 'c1', reason: 'recovered', recording: { frames: 30 } });
      expect(await recordedFrameSeqs(events[0]!.recording.path)).toEqual(frames.slice(0, 30).map((f) => f.seq));
    } finally {
      await h.close();
      await bus.close();
      await rm(dataDir, { recursive: true, force: true });
    }
  }, 120_000);
});
