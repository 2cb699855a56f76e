/**
 * Inference service benchmark: S live sessions at `hz` frames/s each (open loop, staggered like real
 * iPads), feature rows from real recordings, half the sessions' patients with their own adapter.
 * Prints offered vs answered frames/s, shed counts, p50/p99 latency (submit → result), batch sizes,
 * engine time and event-loop delay; and, as the baseline in the same run, the engine alone in this
 * thread at the same batch size (no workers, no batching) — the ceiling the service approaches.
 *
 *   npx tsx src/inference/bench-inference.ts --sessions 200 --hz 60 --seconds 10 --workers 1 --maxBatch 64
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { monitorEventLoopDelay, performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { loadFeatureSequence } from '../../models/feature-sequences.js';
import type { FeatureSequence } from '../../models/types.js';
import { buildBenchCheckpoints } from './bench-checkpoints.js';
import { createCheckpointLoader } from './checkpoint-loader.js';
import { quantile } from './inference-stats.js';
import { createInferenceService } from './inference-service.js';
import { createEngine } from './tfjs-engine.js';
import type { InferenceResult, Shed } from './types.js';

const { values: a } = parseArgs({
  options: {
    sessions: { type: 'string', default: '200' },
    hz: { type: 'string', default: '60' },
    seconds: { type: 'string', default: '10' },
    warmup: { type: 'string', default: '2' },
    workers: { type: 'string', default: '1' },
    maxBatch: { type: 'string', default: '64' },
    maxWaitMs: { type: 'string', default: '5' },
    queueLimit: { type: 'string', default: '2048' },
    maxQueueAgeMs: { type: 'string', default: '250' },
    passes: { type: 'string', default: '10' },
    patients: { type: 'string', default: '0.5', description: 'fraction of sessions whose patient has an own adapter' },
    backend: { type: 'string', default: 'wasm' },
    data: { type: 'string', default: resolve(dirname(fileURLToPath(import.meta.url)), '../../../shared/data/motion') },
  },
});
const num = (k: keyof typeof a): number => Number(a[k]);
const S = num('sessions');
const HZ = num('hz');
const HORIZONS = [1, 5, 10];
const out = (line: string): void => void process.stdout.write(`${line}\n`);
const fmt = (v: number, d = 1): string => (Number.isFinite(v) ? v.toFixed(d) : String(v));

async function main(): Promise<void> {
  const specs = [
    { path: join(a.data, 'opensim-gait', 'subject01_walk1.trc'), assessment: 'gait' as const, subject: 'opensim-subject01' },
    { path: join(a.data, 'fukuchi-treadmill', 'fukuchi_WBDS19walkT01.c3d'), assessment: 'gait' as const, subject: 'fukuchi-WBDS19' },
  ];
  const seqs: FeatureSequence[] = [];
  for (const s of specs) seqs.push(await loadFeatureSequence(s));
  const F = seqs[0]!.names.length;
  const dir = await mkdtemp(join(tmpdir(), 'jm-bench-inference-'));
  try {
    const withAdapter = Math.round(S * num('patients'));
    const patientIds = Array.from({ length: withAdapter }, (_, i) => `patient-${i}`);
    const ck = await buildBenchCheckpoints(dir, seqs, patientIds);
    out(`# inference bench: ${S} sessions × ${HZ} Hz = ${S * HZ} frames/s offered; F=${F}, horizons [${HORIZONS}], ${num('passes')} MC passes`);
    out(`# rows from ${seqs.map((s) => `${s.source.file.split('/').pop()} (${s.t.length} frames)`).join(', ')}; ${withAdapter} patients with adapters`);

    // Baseline: the engine alone in this thread, full batches, no service.
    const engine = await createEngine({ backend: a.backend as 'wasm', options: { checkpointDir: ck.base.dir, horizons: HORIZONS, passes: num('passes') } });
    for (const [id] of ck.patients) engine.setAdapter(id, ck.adapters.get(id) ?? null);
    const B = num('maxBatch');
    const sizes = [...new Set([1, 16, B])];
    for (const n of sizes) {
      const x = new Float32Array(n * F);
      for (let i = 0; i < n; i++) x.set(seqs[0]!.x.subarray((i % seqs[0]!.t.length) * F, ((i % seqs[0]!.t.length) + 1) * F), i * F);
      const patients = Array.from({ length: n }, (_, i) => (i % 2 === 0 ? (patientIds[i % Math.max(1, withAdapter)] ?? null) : null));
      for (let i = 0; i < 3; i++) await engine.run({ n, x, patients });
      const bt: number[] = [];
      const t0 = performance.now();
      while (performance.now() - t0 < 2000) {
        const s = performance.now();
        await engine.run({ n, x, patients });
        bt.push(performance.now() - s);
      }
      out(
        `baseline engine alone (${engine.backend}, this thread, batch ${n}): ${fmt((n * 1000) / quantile(bt, 0.5), 0)} frames/s, batch p50 ${fmt(quantile(bt, 0.5))} ms p99 ${fmt(quantile(bt, 0.99))} ms`,
      );
    }
    engine.dispose?.();

    const service = await createInferenceService(
      {
        workers: num('workers'),
        maxBatch: B,
        maxWaitMs: num('maxWaitMs'),
        queueLimit: num('queueLimit'),
        maxQueueAgeMs: num('maxQueueAgeMs'),
        modelCacheSize: Math.max(1, withAdapter + S),
        backend: a.backend as 'wasm',
        engine: { module: new URL('./tfjs-engine.ts', import.meta.url), options: { checkpointDir: ck.base.dir, horizons: HORIZONS, passes: num('passes') } },
      },
      { loadModel: createCheckpointLoader({ base: ck.base, resolve: (pid, ref) => Promise.resolve(ref ?? ck.patients.get(pid) ?? null) }) },
    );
    const sessionPatient = (s: number): string => (s < withAdapter ? `patient-${s}` : `plain-${s}`);
    await Promise.all(Array.from({ length: S }, (_, s) => service.ensureModel(sessionPatient(s))));

    const period = 1000 / HZ;
    const start = performance.now() + 50;
    const warmEnd = start + num('warmup') * 1000;
    const end = warmEnd + num('seconds') * 1000;
    const next = Float64Array.from({ length: S }, (_, s) => start + (s / S) * period);
    const seqNo = new Uint32Array(S);
    const lat: number[] = [];
    const shed: Record<string, number> = {};
    let answered = 0;
    let offered = 0;
    const inflight = new Set<Promise<unknown>>();
    const loop = monitorEventLoopDelay({ resolution: 5 });
    const record = (measured: boolean) => (r: InferenceResult | Shed) => {
      if (!measured) return;
      if (r.shed) shed[r.reason] = (shed[r.reason] ?? 0) + 1;
      else {
        answered++;
        lat.push(r.latencyMs);
      }
    };
    let statsAtWarm = service.stats();
    let measuring = false;
    await new Promise<void>((done) => {
      const tick = (): void => {
        const now = performance.now();
        if (now >= end) return done();
        if (now >= warmEnd && !measuring) {
          measuring = true;
          loop.enable();
          statsAtWarm = service.stats();
        }
        for (let s = 0; s < S; s++) {
          while ((next[s] ?? Infinity) <= now) {
            const seq = seqs[s % seqs.length]!;
            const k = (seqNo[s]! + s * 7) % seq.t.length;
            const measured = next[s]! >= warmEnd;
            if (measured) offered++;
            const p = service
              .submit({ sessionId: `s${s}`, patientId: sessionPatient(s), seq: seqNo[s]!, x: seq.x.subarray(k * F, (k + 1) * F) })
              .then(record(measured));
            inflight.add(p);
            void p.finally(() => inflight.delete(p));
            seqNo[s]!++;
            next[s]! += period;
          }
        }
        setTimeout(tick, 1);
      };
      tick();
    });
    await Promise.all(inflight);
    loop.disable();
    const st = service.stats();
    await service.close();

    const secs = num('seconds');
    const batches = st.batches - statsAtWarm.batches;
    const rows = st.rows - statsAtWarm.rows;
    const engineMean = (st.engineMs.sum - statsAtWarm.engineMs.sum) / Math.max(1, st.engineMs.count - statsAtWarm.engineMs.count);
    out(
      `service (workers ${num('workers')}, maxBatch ${B}, maxWaitMs ${num('maxWaitMs')}): offered ${fmt(offered / secs, 0)} frames/s, answered ${fmt(answered / secs, 0)} frames/s, ` +
        `shed ${JSON.stringify(shed)}`,
    );
    out(
      `latency ms p50 ${fmt(quantile(lat, 0.5))} p90 ${fmt(quantile(lat, 0.9))} p99 ${fmt(quantile(lat, 0.99))} max ${fmt(quantile(lat, 1))}; ` +
        `batches ${batches}, mean batch ${fmt(rows / Math.max(1, batches))} rows, engine ${fmt(engineMean)} ms/batch; ` +
        `event loop delay p50 ${fmt(loop.percentile(50) / 1e6)} ms p99 ${fmt(loop.percentile(99) / 1e6)} ms; backend ${st.backend}`,
    );
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

await main();
