// Session logic with test doubles for the colleagues' parts (recording log, inference, pipeline);
// test/integration/server.test.ts runs the same flow with the real ones over real sockets.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { encodeClientMessage, encodeServerMessage, ErrorCode, FrameValidator, type Frame, type Hello, type Update } from '../../../src/protocol/index.js';
import { silentLogger } from '../../../src/logger.js';
import { LiveHub } from '../../../src/sessions/live-hub.js';
import { SessionManager, type AssessmentCompleted } from '../../../src/sessions/session-manager.js';
import type { InferenceOk, InferenceShed, OutMessage, Peer, PipelineFactory, RecordingSink, RecordingStore } from '../../../src/sessions/types.js';
import { DiskRecordingStore } from '../../../src/sessions/recording-store.js';
import { readRecording } from '../../../src/storage/recording-reader.js';
import { FakeClock } from './fake-clock.js';

function deferred<T>() {
  let resolve!: (v: T) => void;
  let reject!: (e: unknown) => void;
  const promise = new Promise<T>((res, rej) => ((resolve = res), (reject = rej)));
  return { promise, resolve, reject };
}

const tick = () => new Promise<void>((r) => setImmediate(r));
async function until(cond: () => boolean, what: string, max = 200): Promise<void> {
  for (let i = 0; i < max; i++) {
    if (cond()) return;
    await tick();
  }
  throw new Error(`timed out waiting for ${what}`);
}

class TestPeer implements Peer {
  static next = 1;
  readonly id = TestPeer.next++;
  closed = false;
  closeCode: number | undefined;
  out: OutMessage[] = [];
  constructor(readonly principal = { clinic: 'c1', role: 'device' as const, patient: 'p1', exp: 2e9, iat: 1 }) {}
  send(msg: OutMessage) {
    if (this.closed) return 'closed' as const;
    this.out.push(msg);
    return 'sent' as const;
  }
  cork(fn: () => void) {
    fn();
  }
  close(code: number) {
    this.closed = true;
    this.closeCode = code;
  }
  of<T extends OutMessage['type']>(type: T) {
    return this.out.filter((m) => m.type === type) as Extract<OutMessage, { type: T }>[];
  }
}

class RecordingDouble implements RecordingSink {
  readonly location = '/tmp/rec';
  appended: Uint8Array[] = [];
  pending: { resolve: () => void; reject: (e: unknown) => void }[] = [];
  manual = false;
  finalized = false;
  append(record: Uint8Array): Promise<void> {
    this.appended.push(record);
    if (!this.manual) return Promise.resolve();
    const d = deferred<void>();
    this.pending.push(d);
    return d.promise;
  }
  async finalize() {
    this.finalized = true;
    return { records: this.appended.length + 1, sha256: 'ab'.repeat(32), location: this.location };
  }
}

const hello: Hello = {
  type: 'hello',
  protocol: 1,
  patientId: 'p1',
  assessment: 'gait',
  fps: 60,
  skeleton: 'arkit91',
  device: { model: 'iPad', os: 'iPadOS 17' },
};
const frame = (seq: number, t = seq / 60): Frame => ({
  type: 'frame',
  seq,
  t,
  anchor: new Float32Array([1, 0, 0, 0, 0, 1, 0, 0, 0, 0, 1, 0, 0, 0, 0, 1]),
  joints: new Float32Array(273),
});
const raw = (m: unknown) => new TextEncoder().encode(JSON.stringify({ seq: (m as { seq?: number }).seq }));

// A pipeline double: one state per frame; the feature row carries t so inference can be steered.
const pipeline: PipelineFactory = () => ({
  step: (f) => ({
    t: f.t,
    joints: new Float32Array(60),
    phase: 'stance',
    contacts: { left: true, right: false },
    metrics: { steps: f.seq, bad: Number.NaN },
    features: new Float32Array([f.seq]),
  }),
  close: () => undefined,
});

function setup(
  opts: {
    inference?: (seq: number, req: { x: Float32Array; pose?: Float32Array }) => Promise<InferenceOk | InferenceShed>;
    resumeWindowS?: number;
    recordings?: RecordingStore;
    clock?: FakeClock;
    pipeline?: PipelineFactory;
  } = {},
) {
  const clock = opts.clock ?? new FakeClock();
  const rec = new RecordingDouble();
  const events: AssessmentCompleted[] = [];
  const updates: number[] = [];
  const fullUpdates: Update[] = [];
  const hub = new LiveHub(
    { updateHz: 1000, snapshotSeconds: 1, slowThresholdBytes: 1e6, maxSubscriptions: 8 },
    { clock, encode: encodeServerMessage, publish: () => undefined, onDropped: () => undefined, onSend: () => undefined },
  );
  const realHubUpdate = hub.update.bind(hub);
  hub.update = (id, u) => {
    updates.push(u.seq);
    fullUpdates.push(u);
    realHubUpdate(id, u);
  };
  const ok = (seq: number): InferenceOk => ({ latent: new Float32Array(4), predictions: [{ horizon: 1 }], uncertainty: 0.01 * seq, surprise: 0.5 });
  const mgr = new SessionManager(
    { resumeWindowS: opts.resumeWindowS ?? 30, horizons: [1, 5], maxSessions: 10, preReadyLimit: 10, protocolVersion: 1, helloTimeoutS: 10 },
    {
      recordings: opts.recordings ?? { open: async () => rec },
      bus: { publish: async (_s, e) => void events.push(e as AssessmentCompleted) },
      models: { modelFor: async () => ({ id: 'pretrained', kind: 'pretrained', version: '1' }) },
      newValidator: (after) => {
        const v = new FrameValidator(after ? { after } : {});
        return {
          check: (f) => {
            const r = v.check(f);
            return r.ok ? null : r.error;
          },
        };
      },
      pipeline: opts.pipeline ?? pipeline,
      inference: { submit: (req) => (opts.inference ? opts.inference(req.seq, req) : Promise.resolve(ok(req.seq))) },
      hub,
      clock,
      logger: silentLogger,
      canIngest: (p, patient) => p.role === 'admin' || (p.role === 'device' && p.patient === patient),
      metrics: { onFrame: () => undefined, onFeedback: () => undefined, onError: () => undefined, onSend: () => undefined, onFinalized: () => undefined },
    },
  );
  return { mgr, rec, events, updates, fullUpdates, clock, hub };
}

async function start(mgr: SessionManager, peer: TestPeer, h: Hello = hello, maxTicks?: number) {
  mgr.connected(peer);
  mgr.message(peer, raw(h), h);
  await until(() => peer.of('ready').length > 0 || peer.closed, 'ready', maxTicks);
  return peer.of('ready')[0];
}

describe('SessionManager', () => {
  it('hello → ready, one feedback per frame in frame order even when inference answers out of order', async () => {
    const answers = new Map<number, ReturnType<typeof deferred<InferenceOk | InferenceShed>>>();
    const { mgr, updates } = setup({
      inference: (seq) => {
        const d = deferred<InferenceOk | InferenceShed>();
        answers.set(seq, d);
        return d.promise;
      },
    });
    const peer = new TestPeer();
    const ready = await start(mgr, peer);
    expect(ready).toMatchObject({ type: 'ready', model: { kind: 'pretrained' }, horizons: [1, 5] });
    for (let s = 0; s < 5; s++) mgr.message(peer, raw(frame(s)), frame(s));
    for (const s of [4, 2, 0, 3]) answers.get(s)!.resolve({ latent: new Float32Array(4), predictions: [], uncertainty: s, surprise: null });
    answers.get(1)!.resolve({ shed: true, reason: 'queue_full' });
    await until(() => peer.of('feedback').length === 5, '5 feedbacks');
    const fb = peer.of('feedback');
    expect(fb.map((f) => f.seq)).toEqual([0, 1, 2, 3, 4]);
    expect(fb[1]).toMatchObject({ shed: true, uncertainty: null, predictions: [] });
    expect(fb[2]).toMatchObject({ uncertainty: 2, phase: 'stance', metrics: { steps: 2 } });
    expect(fb[2]!.metrics).not.toHaveProperty('bad'); // NaN metrics are omitted on the wire
    expect(updates).toEqual([0, 1, 2, 3, 4]); // a shed frame still has a physical state for dashboards
  });

  it('a pipeline step that throws: the frame is answered (shed) with an INTERNAL error, and a fresh pipeline takes the next frames', async () => {
    const built: { closed: boolean; frames: number[] }[] = [];
    const failing: PipelineFactory = (o) => {
      const p = { closed: false, frames: [] as number[] };
      const inner = pipeline(o);
      built.push(p);
      return {
        step: (f) => {
          p.frames.push(f.seq);
          if (built.length === 1 && f.seq === 2) throw new Error('stage broke');
          return inner.step(f);
        },
        close: () => void (p.closed = true),
      };
    };
    const { mgr } = setup({ pipeline: failing });
    const peer = new TestPeer();
    await start(mgr, peer);
    for (let s = 0; s < 5; s++) mgr.message(peer, raw(frame(s)), frame(s));
    await until(() => peer.of('feedback').length === 5, '5 feedbacks');
    const fb = peer.of('feedback');
    expect(fb.map((f) => f.seq)).toEqual([0, 1, 2, 3, 4]);
    expect(fb[2]).toMatchObject({ shed: true, phase: 'unknown', predictions: [] });
    expect(fb[3]).toMatchObject({ phase: 'stance', metrics: { steps: 3 } });
    expect(fb[3]).not.toHaveProperty('shed');
    expect(peer.of('error')).toEqual([expect.objectContaining({ code: ErrorCode.INTERNAL, seq: 2 })]);
    expect(peer.of('error')[0]!.message).toContain('stage broke');
    expect(built.map((b) => b.frames)).toEqual([
      [0, 1, 2],
      [3, 4],
    ]);
    expect(built[0]!.closed).toBe(true);
    expect(built[1]!.closed).toBe(false);
  });

  it("feedback carries the frame's joints and, per horizon, its uncertainty and predicted pose; the dashboard update too", async () => {
    const poses = new Map<number, Float32Array | undefined>();
    const { mgr, fullUpdates } = setup({
      inference: (seq, req) => {
        poses.set(seq, req.pose);
        const pose = (h: number) => Float32Array.from({ length: 60 }, (_, k) => seq + h + k / 100);
        return Promise.resolve({
          latent: new Float32Array(4),
          // h = 5: no pose (an engine without a probe) and a non-finite uncertainty, which the wire leaves out.
          predictions: [
            { horizon: 1, uncertainty: 0.25, pose: pose(1) },
            { horizon: 5, uncertainty: Number.NaN },
          ],
          uncertainty: 0.5,
          surprise: null,
        });
      },
    });
    const peer = new TestPeer();
    await start(mgr, peer);
    mgr.message(peer, raw(frame(0)), frame(0));
    await until(() => peer.of('feedback').length === 1, 'feedback');
    // The session hands inference the frame's world joints to decode predictions against.
    expect(poses.get(0)).toEqual(new Float32Array(60));
    const fb = peer.of('feedback')[0]!;
    expect(fb.joints).toEqual(new Float32Array(60));
    expect(fb.predictions).toEqual([{ h: 1, uncertainty: 0.25, pose: Float32Array.from({ length: 60 }, (_, k) => 1 + k / 100) }, { h: 5 }]);
    expect(fullUpdates[0]?.predictions).toEqual(fb.predictions);
    expect(fullUpdates[0]?.prediction).toEqual(fb.predictions[0]?.pose);
  });

  it('acks a frame only after its record is persisted, in order', async () => {
    const { mgr, rec } = setup();
    const peer = new TestPeer();
    await start(mgr, peer);
    rec.manual = true;
    for (let s = 0; s < 3; s++) mgr.message(peer, raw(frame(s)), frame(s));
    await until(() => peer.of('feedback').length === 3, 'feedback');
    expect(peer.of('ack')).toEqual([]);
    rec.pending[1]!.resolve(); // a later record persisted first must not ack past the earlier one
    await tick();
    await tick();
    expect(peer.of('ack')).toEqual([]);
    rec.pending[0]!.resolve();
    await until(() => peer.of('ack').length === 1, 'ack');
    expect(peer.of('ack')).toEqual([{ type: 'ack', seq: 1 }]); // cumulative: 0 and 1 are both durable
    rec.pending[2]!.resolve();
    await until(() => peer.of('ack').length === 2, 'second ack');
    expect(peer.of('ack')[1]).toEqual({ type: 'ack', seq: 2 });
  });

  it('answers each bad frame with its code while the session goes on', async () => {
    const { mgr } = setup();
    const peer = new TestPeer();
    await start(mgr, peer);
    const nan = frame(2);
    nan.joints![5] = Number.NaN;
    const sent: Frame[] = [frame(0), frame(0), frame(1, 0), nan, frame(1)];
    for (const f of sent) mgr.message(peer, raw(f), f);
    await until(() => peer.of('feedback').length === 2, 'feedback');
    expect(peer.of('error').map((e) => [e.code, e.seq])).toEqual([
      [ErrorCode.DUPLICATE_SEQ, 0],
      [ErrorCode.TIME_NOT_MONOTONIC, 1],
      [ErrorCode.NON_FINITE, 2],
    ]);
    expect(peer.of('feedback').map((f) => f.seq)).toEqual([0, 1]);
    expect(peer.closed).toBe(false);
  });

  it('rejects frames before hello, a second hello, and a device streaming for another patient', async () => {
    const { mgr } = setup();
    const peer = new TestPeer();
    mgr.connected(peer);
    mgr.message(peer, raw(frame(0)), frame(0));
    expect(peer.of('error')[0]?.code).toBe(ErrorCode.HELLO_REQUIRED);
    await start(mgr, peer);
    mgr.message(peer, raw(hello), hello);
    expect(peer.of('error')[1]?.code).toBe(ErrorCode.ALREADY_STARTED);
    const other = new TestPeer();
    await start(mgr, other, { ...hello, patientId: 'p2' });
    expect(other.of('error')[0]?.code).toBe(ErrorCode.FORBIDDEN);
    expect(other.closeCode).toBe(4001);
  });

  it('end → finalised recording, assessment.completed published, ended reply', async () => {
    const { mgr, rec, events } = setup();
    const peer = new TestPeer();
    const ready = await start(mgr, peer);
    for (let s = 0; s < 4; s++) mgr.message(peer, raw(frame(s)), frame(s));
    mgr.message(peer, raw({}), { type: 'end' });
    await until(() => peer.of('ended').length === 1, 'ended');
    expect(peer.of('feedback')).toHaveLength(4); // every in-flight frame was answered before ended
    expect(rec.finalized).toBe(true);
    expect(rec.appended).toHaveLength(6); // hello + 4 frames + end
    expect(events).toHaveLength(1);
    expect(events[0]).toMatchObject({
      sessionId: ready!.sessionId,
      clinic: 'c1',
      patientId: 'p1',
      assessment: 'gait',
      reason: 'end',
      recording: { frames: 4, sha256: 'ab'.repeat(32) },
    });
    expect(peer.of('ended')[0]).toEqual({ type: 'ended', sessionId: ready!.sessionId, frames: 4, jobId: `assessment.completed.${ready!.sessionId}` });
    expect(peer.closeCode).toBe(1000);
    expect(mgr.size).toBe(0);
  });

  it('resume: duplicates of persisted frames are acked, not recorded; the recording has every frame once', async () => {
    const { mgr, rec, events } = setup();
    const a = new TestPeer();
    const ready = await start(mgr, a);
    for (let s = 0; s < 5; s++) mgr.message(a, raw(frame(s)), frame(s));
    await until(() => a.of('ack').at(-1)?.seq === 4, 'acks');
    a.closed = true;
    mgr.disconnected(a);
    const b = new TestPeer();
    const resumed = await start(mgr, b, { ...hello, resume: { sessionId: ready!.sessionId, lastAckedSeq: 2 } });
    expect(resumed).toMatchObject({ sessionId: ready!.sessionId, resumeFromSeq: 5 });
    for (let s = 3; s < 8; s++) mgr.message(b, raw(frame(s)), frame(s));
    await until(() => b.of('ack').at(-1)?.seq === 7, 'acks after resume');
    expect(b.of('error')).toEqual([]);
    expect(b.of('feedback').map((f) => f.seq)).toEqual([5, 6, 7]);
    const seqs = rec.appended.map((r) => (JSON.parse(new TextDecoder().decode(r)) as { seq?: number }).seq).filter((s) => s !== undefined);
    expect(seqs).toEqual([0, 1, 2, 3, 4, 5, 6, 7]);
    mgr.message(b, raw({}), { type: 'end' });
    await until(() => events.length === 1, 'published');
    expect(events[0]!.recording.frames).toBe(8);
  });

  it('the resume window expiring finalises and publishes; a later resume fails', async () => {
    const { mgr, events, clock } = setup({ resumeWindowS: 30 });
    const a = new TestPeer();
    const ready = await start(mgr, a);
    mgr.message(a, raw(frame(0)), frame(0));
    await until(() => a.of('ack').length === 1, 'ack');
    a.closed = true;
    mgr.disconnected(a);
    clock.advance(29_000);
    expect(events).toHaveLength(0);
    clock.advance(1_000);
    await until(() => events.length === 1, 'expiry publish');
    expect(events[0]).toMatchObject({ reason: 'resume_expired', recording: { frames: 1 } });
    const b = new TestPeer();
    await start(mgr, b, { ...hello, resume: { sessionId: ready!.sessionId, lastAckedSeq: 0 } });
    expect(b.of('error')[0]?.code).toBe(ErrorCode.RESUME_FAILED);
    expect(b.closeCode).toBe(4006);
  });
  it('a failed append stops acks and closes the connection; resume re-records what was lost, exactly once', async () => {
    const { mgr, rec, events } = setup();
    const a = new TestPeer();
    const ready = await start(mgr, a);
    rec.manual = true;
    for (let s = 0; s < 4; s++) mgr.message(a, raw(frame(s)), frame(s));
    rec.pending[0]!.resolve();
    rec.pending[1]!.reject(Object.assign(new Error('queue full'), { code: 'STORAGE_LOG_BACKPRESSURE' }));
    rec.pending[2]!.resolve(); // persisted after the failure: in the log, must not be recorded twice
    rec.pending[3]!.resolve();
    await until(() => a.closed, 'close after the failure');
    expect(a.closeCode).toBe(4012);
    expect(a.of('error')).toEqual([expect.objectContaining({ code: ErrorCode.INTERNAL, seq: 1 })]);
    expect(a.of('ack').map((x) => x.seq)).toEqual([0]);
    mgr.disconnected(a);
    rec.manual = false;
    const b = new TestPeer();
    const resumed = await start(mgr, b, { ...hello, resume: { sessionId: ready!.sessionId, lastAckedSeq: 0 } });
    expect(resumed).toMatchObject({ resumeFromSeq: 1 });
    for (let s = 1; s < 6; s++) mgr.message(b, raw(frame(s)), frame(s));
    await until(() => b.of('ack').at(-1)?.seq === 5, 'acks after resume');
    expect(b.of('error')).toEqual([]);
    const seqs = rec.appended.map((r) => (JSON.parse(new TextDecoder().decode(r)) as { seq?: number }).seq).filter((s) => s !== undefined);
    // Append attempts: 1 failed the first time and is appended again; 2 and 3 were already durable.
    expect(seqs).toEqual([0, 1, 2, 3, 1, 4, 5]);
    mgr.message(b, raw({}), { type: 'end' });
    await until(() => events.length === 1, 'published');
  });
  it('closes a connection that never says hello (HELLO_TIMEOUT), but not one that did', async () => {
    const { mgr, clock } = setup();
    const silent = new TestPeer();
    mgr.connected(silent);
    const talker = new TestPeer();
    await start(mgr, talker);
    clock.advance(9_999);
    expect(silent.closed).toBe(false);
    clock.advance(1);
    expect(silent.closeCode).toBe(4007);
    expect(talker.closed).toBe(false);
  });
});

describe('SessionManager across a graceful restart (recordings on disk)', () => {
  const wire = (m: Hello | Frame) => encodeClientMessage(m);
  /** File I/O runs on libuv's pool: allow many event-loop turns (still a bound, not a sleep). */
  const IO_TICKS = 100_000;
  async function withStore<T>(fn: (store: DiskRecordingStore, dir: string) => Promise<T>): Promise<T> {
    const dir = await mkdtemp(join(tmpdir(), 'jm-suspend-'));
    try {
      return await fn(new DiskRecordingStore({ dir, fsync: { mode: 'never' } }, silentLogger), dir);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  }
  const frameSeqs = async (path: string) =>
    (await readRecording(path)).entries.map((e) => e.value as { type?: string; seq?: number }).flatMap((v) => (v.type === 'frame' ? [v.seq!] : []));

  /** Session started on a first manager, 5 frames persisted, then the first manager shuts down. */
  async function suspendOne(store: DiskRecordingStore, clock: FakeClock) {
    const first = setup({ recordings: store, clock });
    const a = new TestPeer();
    first.mgr.connected(a);
    first.mgr.message(a, wire(hello), hello);
    await until(() => a.of('ready').length > 0, 'ready', IO_TICKS);
    const sessionId = a.of('ready')[0]!.sessionId;
    for (let s = 0; s < 5; s++) first.mgr.message(a, wire(frame(s)), frame(s));
    await until(() => a.of('ack').at(-1)?.seq === 4, 'acks', IO_TICKS);
    await first.mgr.shutdown();
    expect(a.closeCode).toBe(4000);
    expect(first.events).toEqual([]); // suspended, not finalised
    return sessionId;
  }

  it('suspends a session inside its window at shutdown; after a restart the device continues it, every frame once', async () => {
    await withStore(async (store) => {
      const clock = new FakeClock();
      const sessionId = await suspendOne(store, clock);
      clock.advance(10_000); // the restart took 10 s of the 30 s window
      const { recovered, resumable } = await store.recover(clock.now());
      expect(recovered).toEqual([]);
      expect(resumable.map((r) => [r.meta.sessionId, r.frames, r.lastSeq, r.resumableUntil])).toEqual([[sessionId, 5, 4, 30_000]]);
      const second = setup({ recordings: store, clock });
      second.mgr.restore(resumable);
      expect(second.mgr.get(sessionId)).toMatchObject({ state: 'detached', frames: 5, persistedSeq: 4 });
      const b = new TestPeer();
      const ready = await start(second.mgr, b, { ...hello, resume: { sessionId, lastAckedSeq: 3 } }, IO_TICKS);
      expect(ready).toMatchObject({ sessionId, resumeFromSeq: 5 });
      for (let s = 4; s < 8; s++) second.mgr.message(b, wire(frame(s)), frame(s)); // 4 again: acked, not recorded
      await until(() => b.of('ack').at(-1)?.seq === 7, 'acks after resume', IO_TICKS);
      expect(b.of('error')).toEqual([]);
      expect(b.of('feedback').map((f) => f.seq)).toEqual([5, 6, 7]);
      second.mgr.message(b, wire(hello), { type: 'end' });
      await until(() => second.events.length === 1, 'published', IO_TICKS);
      expect(second.events[0]).toMatchObject({ sessionId, reason: 'end', recording: { frames: 8 } });
      expect(await frameSeqs(second.events[0]!.recording.path)).toEqual([0, 1, 2, 3, 4, 5, 6, 7]);
    });
  });

  it('a restored session nobody resumes is finalised at its original deadline (resume_expired)', async () => {
    await withStore(async (store) => {
      const clock = new FakeClock();
      const sessionId = await suspendOne(store, clock);
      clock.advance(10_000);
      const second = setup({ recordings: store, clock });
      second.mgr.restore((await store.recover(clock.now())).resumable);
      clock.advance(19_999);
      expect(second.events).toEqual([]);
      clock.advance(1);
      await until(() => second.events.length === 1, 'expiry publish', IO_TICKS);
      expect(second.events[0]).toMatchObject({ sessionId, reason: 'resume_expired', recording: { frames: 5 } });
      expect((await readRecording(second.events[0]!.recording.path)).end.status).toBe('complete');
    });
  });

  it('a restart after the window finalises the suspended recording and publishes it as resume_expired', async () => {
    await withStore(async (store) => {
      const clock = new FakeClock();
      const sessionId = await suspendOne(store, clock);
      clock.advance(30_000);
      const { recovered, resumable } = await store.recover(clock.now());
      expect(resumable).toEqual([]);
      expect(recovered.map((r) => [r.meta.sessionId, r.reason, r.frames])).toEqual([[sessionId, 'resume_expired', 5]]);
      const second = setup({ recordings: store, clock });
      await second.mgr.publishRecovered(recovered);
      expect(second.events[0]).toMatchObject({ sessionId, reason: 'resume_expired' });
      expect(await frameSeqs(recovered[0]!.path)).toEqual([0, 1, 2, 3, 4]);
    });
  });

  it('with RESUME_WINDOW_S = 0 a shutdown finalises as before', async () => {
    await withStore(async (store) => {
      const first = setup({ recordings: store, resumeWindowS: 0 });
      const a = new TestPeer();
      first.mgr.connected(a);
      first.mgr.message(a, wire(hello), hello);
      await until(() => a.of('ready').length > 0, 'ready', IO_TICKS);
      first.mgr.message(a, wire(frame(0)), frame(0));
      await until(() => a.of('ack').length === 1, 'ack', IO_TICKS);
      await first.mgr.shutdown();
      expect(first.events).toMatchObject([{ reason: 'shutdown', recording: { frames: 1 } }]);
    });
  });
});
