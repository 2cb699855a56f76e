// Bench: the live server end to end on this machine. N simulated iPads (ws clients in this process)
// stream a real recording (OpenSim walk, looped) at 60 Hz for D seconds through the real protocol,
// recording log (FSYNC=batch), stream pipeline and tfjs-wasm inference worker. Prints JSON:
// frames/s answered, feedback and ack latency percentiles (send → message), shed and error counts.
//   node --import tsx src/transport/bench-server.ts [sessions=20] [seconds=10]
// The clients share the 2 cores with the server, so the numbers are a lower bound for the server.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import WebSocket from 'ws';
import { loadFeatureSequence } from '../../models/bench/feature-sequences.js';
import { adapt } from '../../streams/adapt.js';
import { canonicalToArkit } from '../../streams/adapters/arkit.js';
import { readRecording } from '../../streams/adapters/read-recording.js';
import { bearerProtocols, hmacKeyConfig, mintToken } from '../auth/index.js';
import { loadConfig } from '../config.js';
import { buildBenchCheckpoints } from '../inference/bench-checkpoints.js';
import { createCheckpointLoader } from '../inference/checkpoint-loader.js';
import { createInferenceService } from '../inference/inference-service.js';
import { createInProcessBus } from '../jobs/in-process-bus.js';
import { silentLogger } from '../logger.js';
import { decodeServerMessage, encodeClientMessage, type Frame } from '../protocol/index.js';
import { createServer } from '../server.js';
import { livePipeline } from '../sessions/live-pipeline.js';

const WALK = new URL('../../../shared/data/motion/opensim-gait/subject01_walk1.trc', import.meta.url).pathname;
const sessions = Number(process.argv[2] ?? 20);
const seconds = Number(process.argv[3] ?? 10);
const secret = 'bench-secret-that-is-long-enough-for-hs256';
/** Latencies of the first 2 s (wasm compile, JIT warm-up) are not counted. */
const WARMUP_FRAMES = 120;

const pct = (xs: number[], p: number): number => {
  const s = [...xs].sort((a, b) => a - b);
  return Math.round((s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))] ?? NaN) * 10) / 10;
};

const dir = await mkdtemp(join(tmpdir(), 'jm-bench-server-'));
const rec = await readRecording(WALK, { fps: 60 });
const base = rec.frames.map((p) => {
  const anchor = new Float32Array([1, 0, 0, 0, 0, 1, 0, 0, 0, 0, 1, 0, p.joints[0]!, p.joints[1]!, p.joints[2]!, 1]);
  const joints = canonicalToArkit(p.joints, anchor);
  const tracked = new Uint8Array(91).fill(1);
  for (let j = 0; j < 91; j++) {
    if ([0, 1, 2].every((k) => Number.isFinite(joints[j * 3 + k]))) continue;
    tracked[j] = 0; // the iPad flags untracked joints; it never sends NaN
    joints.fill(0, j * 3, j * 3 + 3);
  }
  return { anchor, joints, tracked };
});
const ck = await buildBenchCheckpoints(dir, [await loadFeatureSequence({ path: WALK, assessment: 'gait', subject: 's01' })], []);
const config = loadConfig(['--port', '0', '--host', '127.0.0.1', '--data', dir], { JEPA_JWT_SECRET: secret });
const inference = await createInferenceService(
  {
    workers: config.inferWorkers,
    maxBatch: 64,
    maxWaitMs: config.inferMaxWaitMs,
    backend: 'wasm',
    engine: { module: new URL('../inference/tfjs-engine.ts', import.meta.url), options: { checkpointDir: ck.base.dir, horizons: [1, 5, 10], passes: config.mcPasses } },
  },
  { loadModel: createCheckpointLoader({ base: ck.base, resolve: () => Promise.resolve(null) }) },
);
const bus = createInProcessBus();
const server = await createServer(config, {
  logger: silentLogger,
  bus,
  inference,
  pipeline: livePipeline(() => adapt()),
  models: { modelFor: async () => ({ id: 'pretrained', kind: 'pretrained', version: '1' }), list: async () => [] },
  taskpacks: { list: async () => [], get: async () => undefined },
});

const feedbackMs: number[] = [];
const ackMs: number[] = [];
let answered = 0;
let shed = 0;
let errors = 0;
const key = hmacKeyConfig(secret);
const clients = await Promise.all(
  Array.from({ length: sessions }, async (_, i) => {
    const tok = mintToken({ clinic: 'bench', role: 'device', patient: `p${i}`, ttlSeconds: 3600 }, key, Date.now());
    const ws = new WebSocket(`ws://127.0.0.1:${server.port}/v1/ingest`, bearerProtocols(tok));
    const sentAt = new Map<number, number>();
    let ackedUpTo = -1;
    const ready = new Promise<void>((resolve) => {
      ws.on('message', (data: Buffer) => {
        const r = decodeServerMessage(new Uint8Array(data), 'ingest');
        if (!r.ok) return void (errors += 1);
        const m = r.message;
        const now = performance.now();
        if (m.type === 'ready') resolve();
        else if (m.type === 'feedback') {
          answered += 1;
          if (m.shed) shed += 1;
          if (m.seq >= WARMUP_FRAMES) feedbackMs.push(now - (sentAt.get(m.seq) ?? now));
        } else if (m.type === 'ack') {
          for (let s = ackedUpTo + 1; s <= m.seq; s++) {
            if (s >= WARMUP_FRAMES) ackMs.push(now - (sentAt.get(s) ?? now));
            sentAt.delete(s);
          }
          ackedUpTo = m.seq;
        } else if (m.type === 'error') errors += 1;
      });
    });
    await new Promise<void>((resolve) => ws.once('open', () => resolve()));
    ws.send(encodeClientMessage({ type: 'hello', protocol: 1, patientId: `p${i}`, assessment: 'gait', fps: 60, skeleton: 'arkit91', device: { model: 'bench', os: 'node' } }));
    await ready;
    return { ws, sentAt, offset: i / sessions };
  }),
);

// Monotonic schedule: frame k of session i is due at start + (k + offset) / 60 s (staggered sessions).
const start = performance.now();
let sent = 0;
const total = Math.floor(seconds * 60);
await new Promise<void>((resolve) => {
  const next = clients.map(() => 0);
  const tick = () => {
    const now = performance.now();
    clients.forEach((c, i) => {
      while (next[i]! < total && start + ((next[i]! + c.offset) * 1000) / 60 <= now) {
        const k = next[i]!;
        const b = base[k % base.length]!;
        const f: Frame = { type: 'frame', seq: k, t: 1 + k / 60, anchor: b.anchor, joints: b.joints, tracked: b.tracked };
        c.sentAt.set(k, performance.now());
        c.ws.send(encodeClientMessage(f));
        next[i] = k + 1;
        sent += 1;
      }
    });
    if (next.every((n) => n >= total)) resolve();
    else setTimeout(tick, 2);
  };
  tick();
});
const deadline = performance.now() + 10_000;
while (answered < sent && performance.now() < deadline) await new Promise((r) => setTimeout(r, 20));
const elapsed = (performance.now() - start) / 1000;
const stats = inference.stats();
process.stdout.write(
  JSON.stringify(
    {
      sessions,
      seconds,
      frames_sent: sent,
      feedback: answered,
      shed,
      errors,
      frames_per_s: Math.round(answered / elapsed),
      event_loop_utilization: Math.round(performance.eventLoopUtilization().utilization * 100) / 100,
      feedback_ms: { p50: pct(feedbackMs, 50), p95: pct(feedbackMs, 95), p99: pct(feedbackMs, 99), max: pct(feedbackMs, 100) },
      ack_ms: { p50: pct(ackMs, 50), p99: pct(ackMs, 99) },
      inference: { backend: stats.backend, batches: stats.batches, mean_batch: Math.round((stats.rows / Math.max(1, stats.batches)) * 10) / 10 },
      fsync: `${config.fsync}/${config.fsyncIntervalMs}ms`,
    },
    null,
    2,
  ) + '\n',
);
for (const c of clients) c.ws.close();
await server.close();
await inference.close();
await bus.close();
await rm(dir, { recursive: true, force: true });
