// bench:frame-path — main-thread CPU and heap allocation per frame of each per-frame step the server runs
// between a WebSocket message and the inference request: decode, stateful validation, the live stream
// pipeline (adapt → … → features → metrics → flattened wire metrics), the recording append, and the
// encoding of the frame's feedback.
// Frames are the real default recording, encoded as an iPad would send them.
//   npm run bench:frame-path -- [--rounds 9] [--frames 400] [--json]   (node flags: see package.json)
// µs/frame is the median over rounds; bytes/frame is heap + ArrayBuffer growth over one round after a
// full GC (a fixed 256 MB semi-space keeps scavenges out of a round: with a growing one, the bytes
// collected mid-round go uncounted). On a loaded box compare two builds
// A/B in alternating runs, not absolute numbers.
import { mkdtemp, rm } from 'node:fs/promises';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { Subject, map } from 'rxjs';
import { arkitFrames } from '../clients/simulator/arkit-frames.js';
import { decodeClientMessage, decodeServerMessage, encodeClientMessage, encodeServerMessage, encodeWithMsgpackr } from '../src/protocol/codec.js';
import { FrameValidator } from '../src/protocol/frame-validator.js';
import type { Frame } from '../src/protocol/ingest-messages.js';
import { flattenMetrics, livePipeline, liveStages, toArkitFrame, toPipelineState } from '../src/sessions/live-pipeline.js';
import { DiskRecordingStore } from '../src/sessions/recording-store.js';
import type { PipelineState } from '../src/sessions/types.js';
import { silentLogger } from '../src/logger.js';
import { adapt } from '../streams/adapt.js';
import { readRecording } from '../streams/adapters/read-recording.js';
import { centreOfMass } from '../streams/body-model.js';
import { featureVector } from '../streams/features.js';
import type { MetricsFrame } from '../streams/metrics.js';
import { sessionPipeline } from '../streams/session-pipeline.js';
import { DEFAULT_RECORDING } from './harness.js';

const { values } = parseArgs({
  options: {
    rounds: { type: 'string', default: '9' },
    frames: { type: 'string', default: '400' },
    json: { type: 'boolean', default: false },
  },
});
const rounds = Number(values.rounds);
const perRound = Number(values.frames);
const gc = (globalThis as { gc?: () => void }).gc;
if (!gc) throw new Error('run with node --expose-gc (see the header)');

const rec = await readRecording(DEFAULT_RECORDING);
const templates = [...arkitFrames(rec, { clockOffsetS: 100 })];
/** Wire bytes of frame i (seq/t keep increasing across loops of the recording). */
const wire = (i: number): Uint8Array => {
  const tpl = templates[i % templates.length]!;
  return encodeClientMessage({ type: 'frame', ...tpl, seq: i, t: 100 + i / 60 });
};
const total = rounds * perRound + perRound;
/** Frames before the measured ones (seq and t below theirs) that warm the pipelines up: 5 rounds' worth. */
const warmupCount = 5 * perRound;
const warmup = Array.from({ length: warmupCount }, (_, i) => {
  const d = decodeClientMessage(wire(i), 'ingest');
  if (!d.ok || d.message.type !== 'frame') throw new Error('bench frame does not decode');
  return d.message as Frame;
});
const raws = Array.from({ length: total }, (_, i) => wire(warmupCount + i));
const frames = raws.map((r) => {
  const d = decodeClientMessage(r, 'ingest');
  if (!d.ok || d.message.type !== 'frame') throw new Error('bench frame does not decode');
  return d.message as Frame;
});

// Reference outputs of the full chain, inputs of the per-function rows.
const metricsFrames: MetricsFrame[] = [];
{
  // The live chain without its last map (to PipelineState): the per-function rows' inputs.
  const src = new Subject<Frame>();
  src.pipe(map(toArkitFrame), adapt(), sessionPipeline({ assessment: 'gait', fps: 60 })).subscribe((m) => metricsFrames.push(m));
  for (const f of frames.slice(0, perRound)) src.next(f);
  src.complete();
}
if (metricsFrames.length === 0) throw new Error('pipeline produced no frames');

interface Row {
  readonly step: string;
  readonly usPerFrame: number;
  readonly bytesPerFrame: number;
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)] ?? NaN;
}

/** Runs `round(r)` (which processes `perRound` frames) `rounds` times after one warm-up round. */
async function measure(step: string, round: (r: number) => void | Promise<void>): Promise<Row> {
  await round(0);
  const us: number[] = [];
  const bytes: number[] = [];
  for (let r = 1; r <= rounds; r++) {
    gc!();
    const m0 = process.memoryUsage();
    const t0 = performance.now();
    await round(r);
    const t1 = performance.now();
    const m1 = process.memoryUsage();
    us.push(((t1 - t0) * 1000) / perRound);
    bytes.push((m1.heapUsed - m0.heapUsed + (m1.arrayBuffers - m0.arrayBuffers)) / perRound);
  }
  return { step, usPerFrame: Math.round(median(us) * 100) / 100, bytesPerFrame: Math.round(median(bytes)) };
}

const slice = (r: number): Frame[] => frames.slice(r * perRound, (r + 1) * perRound);
const rows: Row[] = [];

rows.push(
  await measure('decode (codec)', (r) => {
    for (const raw of raws.slice(r * perRound, (r + 1) * perRound)) decodeClientMessage(raw, 'ingest');
  }),
);
{
  const v = new FrameValidator();
  rows.push(
    await measure('validate (FrameValidator.check)', (r) => {
      for (const f of slice(r)) v.check(f);
    }),
  );
}
{
  // One live pipeline fed every round's frames in order (its state carries across rounds like a session):
  // the synchronous step the server runs, and the same stages as the RxJS operator chain. Both run the
  // same stage step functions: both are warmed up before either is measured, so neither row pays the
  // other's JIT work.
  const live = livePipeline()({ assessment: 'gait', fps: 60, planes$: new Subject() });
  const src = new Subject<Frame>();
  let out = 0;
  src
    .pipe(
      liveStages(() => adapt(), { assessment: 'gait', fps: 60, env: new Subject() }),
      map(toPipelineState),
    )
    .subscribe((_s: PipelineState) => (out += 1));
  for (const f of warmup) {
    live.step(f);
    src.next(f);
  }
  rows.push(
    await measure('live pipeline (adapt…metrics, flattened)', (r) => {
      for (const f of slice(r)) if (live.step(f)) out += 1;
    }),
  );
  rows.push(
    await measure('  same stages as RxJS operators', (r) => {
      for (const f of slice(r)) src.next(f);
    }),
  );
  if (out === 0) throw new Error('live pipeline produced nothing');
}
const cycle = <T>(xs: readonly T[], r: number, i: number): T => xs[(r * perRound + i) % xs.length]!;
rows.push(
  await measure('  flattenMetrics', (r) => {
    for (let i = 0; i < perRound; i++) flattenMetrics(cycle(metricsFrames, r, i).metrics);
  }),
);
rows.push(
  await measure('  featureVector', (r) => {
    for (let i = 0; i < perRound; i++) featureVector(cycle(metricsFrames, r, i));
  }),
);
rows.push(
  await measure('  centreOfMass', (r) => {
    for (let i = 0; i < perRound; i++) centreOfMass(cycle(metricsFrames, r, i).joints);
  }),
);
{
  // The feedback each frame gets, as the session builds it (the pipeline's state, 4 horizons with their
  // decoded poses), encoded by the codec's own writer and by msgpackr after toWire (what it replaced).
  const pose = new Float32Array(60).fill(0.5);
  const feedbacks = metricsFrames.map((m, i) => {
    const st = toPipelineState(m);
    const predictions = [1, 5, 10, 30].map((h) => ({ h, uncertainty: 0.1, pose }));
    return {
      type: 'feedback',
      seq: i,
      t: st.t,
      phase: st.phase,
      contacts: st.contacts,
      metrics: st.metrics,
      joints: st.joints,
      uncertainty: 0.1,
      surprise: 0.2,
      predictions,
    } as const;
  });
  rows.push(
    await measure('feedback encode (codec)', (r) => {
      for (let i = 0; i < perRound; i++) encodeServerMessage(cycle(feedbacks, r, i));
    }),
  );
  rows.push(
    await measure('  same with msgpackr (toWire + pack)', (r) => {
      for (let i = 0; i < perRound; i++) encodeWithMsgpackr(cycle(feedbacks, r, i));
    }),
  );
  // What every iPad (and the load generator, once per frame of every session) pays to read it: the SDK's decode.
  const wireFeedbacks = feedbacks.map((f) => encodeServerMessage(f));
  rows.push(
    await measure('feedback decode (SDK, decodeServerMessage)', (r) => {
      for (let i = 0; i < perRound; i++) if (!decodeServerMessage(cycle(wireFeedbacks, r, i), 'ingest').ok) throw new Error('feedback does not decode');
    }),
  );
}
{
  // The synchronous part of a recording append (what the event loop pays per frame; the write/fsync run
  // on libuv's pool). fsync `never` so the disk does not dominate.
  const dir = await mkdtemp(join(tmpdir(), 'jepa-bench-frame-path-'));
  const store = new DiskRecordingStore({ dir, fsync: { mode: 'never' } }, silentLogger);
  const sink = await store.open('bench', { sessionId: 'bench' });
  const pending: Promise<void>[] = [];
  rows.push(
    await measure('recording append (sync part)', async (r) => {
      for (const raw of raws.slice(r * perRound, (r + 1) * perRound)) pending.push(sink.append(raw));
      await Promise.all(pending.splice(0));
    }),
  );
  await sink.finalize();
  await rm(dir, { recursive: true, force: true });
}

const result = { recording: DEFAULT_RECORDING.split('/').slice(-2).join('/'), rounds, framesPerRound: perRound, loadAvg1m: loadavg()[0], rows };
if (values.json) process.stdout.write(`${JSON.stringify(result)}\n`);
else {
  process.stdout.write(`frame path, ${perRound} frames × ${rounds} rounds, load average ${loadavg()[0]?.toFixed(1)}\n`);
  process.stdout.write(`${'step'.padEnd(44)}${'µs/frame'.padStart(10)}${'bytes/frame'.padStart(13)}\n`);
  for (const r of rows) process.stdout.write(`${r.step.padEnd(44)}${r.usPerFrame.toFixed(2).padStart(10)}${String(r.bytesPerFrame).padStart(13)}\n`);
}
