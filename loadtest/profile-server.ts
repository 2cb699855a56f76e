// One fixed-N load step against the jepa-motion bench server (or another server file), optionally under
// the V8 CPU profiler — the tool behind the throughput work (bench-server.ts searches for the largest
// passing N; this answers "what does N sessions cost, and where does the time go").
//   node --import tsx loadtest/profile-server.ts [sessions=5] [cpu-prof-dir] [server-file]
// Prints one JSON line: latency percentiles, missing/shed counts, server CPU (% of one core, all threads)
// and RSS, server CPU µs per answered frame by thread role during the load only (server-process.ts),
// the time each role's threads (and this process's) were runnable but waiting for a core, this
// (load-generating) process's CPU, the server's own view from /metrics (frame → feedback latency,
// rows per batch, and the inference latency split into the wait for dispatch, the batch's round trip and
// the engine's time), and the 1-minute load average. With a profile dir,
// every thread of the server writes a .cpuprofile there on exit. Extra node flags for the server:
// PROF_NODE_ARGS="--trace-gc". PROF_WARM_S=10 runs 10 s of the same load first, unmeasured (JIT
// warm-up). Checkpoints are built once into $PROF_CK_DIR (default /tmp/jepa-prof-ck).
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import WebSocket from 'ws';
import type { WebSocketConstructor } from '../clients/sdk/index.js';
import { hmacKeyConfig, mintToken } from '../src/auth/index.js';
import { readRecording } from '../streams/adapters/read-recording.js';
import { DEFAULT_RECORDING } from './harness.js';
import { runScenario } from './scenario.js';
import { runQueueWait, sampleUsage, THREAD_CLASSES, THREAD_ROLES_ENV, THREAD_ROLES_PRELOAD } from './server-process.js';
import { writeCheckpointSet } from './servers/checkpoints.js';

const sessions = Number(process.argv[2] ?? 5);
const profDir = process.argv[3] ?? '';
const serverFile = process.argv[4] ?? new URL('./servers/jepa-server.ts', import.meta.url).pathname;
const ckDir = process.env.PROF_CK_DIR ?? join(tmpdir(), 'jepa-prof-ck');
const patients = Array.from({ length: 8 }, (_, i) => `bench-p${i}`);
if (!existsSync(join(ckDir, 'set.json'))) await writeCheckpointSet(ckDir, DEFAULT_RECORDING, patients);
const dataDir = await mkdtemp(join(tmpdir(), 'jepa-prof-data-'));
const rolesDir = await mkdtemp(join(tmpdir(), 'jepa-prof-threads-'));
const secret = randomBytes(16).toString('hex');
const nodeArgs = process.env.PROF_NODE_ARGS ? process.env.PROF_NODE_ARGS.split(' ') : [];
const args = [
  ...THREAD_ROLES_PRELOAD,
  '--import',
  'tsx',
  ...nodeArgs,
  ...(profDir ? ['--cpu-prof', '--cpu-prof-dir', profDir] : []),
  serverFile,
  ckDir,
  dataDir,
];
const child = spawn(process.execPath, args, {
  env: { ...process.env, JEPA_JWT_SECRET: secret, LOG_LEVEL: 'silent', [THREAD_ROLES_ENV]: rolesDir },
  stdio: ['ignore', 'pipe', 'inherit'],
});
const exited = new Promise<void>((r) => child.once('exit', () => r()));
try {
  // The first JSON line carries the port; anything else (e.g. --trace-gc output) is passed through.
  const lines = createInterface({ input: child.stdout as NodeJS.ReadableStream });
  const port = await new Promise<number>((resolve, reject) => {
    child.once('exit', (code) => reject(new Error(`${serverFile} exited with ${code} before listening`)));
    lines.on('line', (l) => {
      if (l.startsWith('{"port"')) resolve(Number((JSON.parse(l) as { port: number }).port));
      else process.stderr.write(`${l}\n`);
    });
  });
  const token = mintToken({ clinic: 'bench', role: 'admin', ttlSeconds: 3600 }, hmacKeyConfig(secret), Date.now());
  const recording = await readRecording(DEFAULT_RECORDING);
  const scenario = (durationS: number, warmupS: number) =>
    runScenario({
      url: `ws://127.0.0.1:${port}`,
      token,
      sessions,
      durationS,
      rampS: 2,
      fps: 60,
      recording,
      patients,
      WebSocket: WebSocket as WebSocketConstructor,
      warmupS,
    });
  // PROF_WARM_S: the same load, unmeasured, first (JIT warm-up; see bench-server.ts --warm).
  const warmS = Number(process.env.PROF_WARM_S ?? 0);
  if (!(Number.isFinite(warmS) && warmS >= 0)) throw new RangeError(`PROF_WARM_S=${process.env.PROF_WARM_S}: seconds ≥ 0 expected`);
  if (warmS > 0) await scenario(warmS, 0);
  // Sampled from here on, so the per-thread figures leave out startup (module loading, checkpoints),
  // which otherwise dilutes a per-frame figure by a few seconds of CPU.
  const metrics0 = await scrapeMetrics(port);
  const usage = sampleUsage(child.pid ?? -1, 250, rolesDir);
  const c0 = process.cpuUsage();
  const w0 = performance.now();
  const clientWait = runQueueWait(process.pid);
  const r = await scenario(10, 2);
  const u = usage.stop();
  const clientWaitPct = clientWait.stop();
  const server = serverSide(metrics0, await scrapeMetrics(port));
  const answered = r.feedback_received - r.shed;
  const usPerFrame = Object.fromEntries(THREAD_CLASSES.map((c) => [c, Math.round(((u.threadCpuS[c] ?? NaN) * 1e6) / Math.max(1, answered))]));
  const cu = process.cpuUsage(c0);
  const clientCpuPct = Math.round(((cu.user + cu.system) / 1000 / (performance.now() - w0)) * 1000) / 10;
  const out = {
    sessions,
    latency_ms: r.latency_ms,
    missing: r.missing_feedback,
    missingAck: r.missing_ack,
    shed: r.shed,
    frames: r.frames_sent,
    ...u,
    clientCpuPct,
    /** This process's threads runnable but without a core, % of the wall time (u.threadWaitPct: the server's). */
    clientWaitPct,
    server,
    load: loadavg()[0],
    /** Server CPU µs per answered frame during the load, by thread role. */
    usPerFrame,
  };
  process.stdout.write(`${JSON.stringify(out)}\n`);
} finally {
  child.kill('SIGTERM');
  await exited;
  await rm(dataDir, { recursive: true, force: true });
  await rm(rolesDir, { recursive: true, force: true });
}

/** The server's own /metrics series (name{labels} → value) of the histograms read below. */
async function scrapeMetrics(port: number): Promise<Map<string, number>> {
  const text = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
  const out = new Map<string, number>();
  for (const line of text.split('\n')) {
    const m =
      /^(jepa_(?:feedback_latency_seconds|inference_batch_size|inference_(?:latency|wait|batch|engine)_seconds)_(?:bucket|sum|count)(?:\{[^}]*\})?) ([^ ]+)$/.exec(
        line,
      );
    if (m) out.set(m[1]!, Number(m[2]));
  }
  return out;
}

/**
 * What the server itself saw during the measured load (differences of its histograms): frame received →
 * feedback sent, as the share of frames answered within each bucket bound, and the mean rows per
 * inference batch. Latency the load generator measures beyond this is spent outside the server's
 * handlers: in the kernel, the event loops' queues, or the generator itself.
 */
function serverSide(before: Map<string, number>, after: Map<string, number>) {
  const d = (k: string) => (after.get(k) ?? 0) - (before.get(k) ?? 0);
  const meanMs = (name: string) => Math.round((d(`${name}_sum`) / Math.max(1, d(`${name}_count`))) * 1e4) / 10;
  const total = d('jepa_feedback_latency_seconds_count');
  const within: Record<string, number> = {};
  for (const k of after.keys()) {
    const le = /^jepa_feedback_latency_seconds_bucket\{le="([^"]+)"\}$/.exec(k)?.[1];
    if (le && le !== '+Inf') within[`${Number(le) * 1000}ms`] = Math.round((d(k) / Math.max(1, total)) * 1000) / 1000;
  }
  return {
    feedback: total,
    feedbackMeanMs: Math.round((d('jepa_feedback_latency_seconds_sum') / Math.max(1, total)) * 1e4) / 10,
    feedbackWithin: within,
    meanBatchRows: Math.round((d('jepa_inference_batch_size_sum') / Math.max(1, d('jepa_inference_batch_size_count'))) * 10) / 10,
    inferenceMeanMs: meanMs('jepa_inference_latency_seconds'),
    // The inference latency's parts: waiting to be dispatched, then the batch from dispatch to results, of
    // which the engine's own time; a batch far above its engine time waited for the CPU or the main thread.
    inferenceWaitMeanMs: meanMs('jepa_inference_wait_seconds'),
    batchMeanMs: meanMs('jepa_inference_batch_seconds'),
    engineMeanMs: meanMs('jepa_inference_engine_seconds'),
    batchesOver20Ms: Math.round((1 - d('jepa_inference_batch_seconds_bucket{le="0.02"}') / Math.max(1, d('jepa_inference_batch_seconds_count'))) * 1000) / 1000,
  };
}
