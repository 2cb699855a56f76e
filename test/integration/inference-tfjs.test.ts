// The inference service with the real engine (models/batched-inference.ts on tfjs-wasm in a worker
// thread) on feature rows of a real recording, checked against the same model computed in-process.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mergeAdapter } from '../../models/adapters.js';
import { selectBackend } from '../../models/backend.js';
import { loadFeatureSequence } from '../../models/feature-sequences.js';
import { normalizeRows } from '../../models/dataset.js';
import type { FeatureSequence } from '../../models/types.js';
import { encode, WorldModel, type WorldModelWeights } from '../../models/world-model.js';
import { buildBenchCheckpoints, type BenchCheckpoints } from '../../src/inference/bench-checkpoints.js';
import { createCheckpointLoader } from '../../src/inference/checkpoint-loader.js';
import { InferenceErrorCode } from '../../src/inference/errors.js';
import { createInferenceService } from '../../src/inference/inference-service.js';
import { createEngine } from '../../src/inference/tfjs-engine.js';
import type { InferenceResult, InferenceService, Shed } from '../../src/inference/types.js';
import { hasMotionData, motion } from '../helpers/motion-data.js';

const HORIZONS = [1, 5, 10];
let dir = '';
let seq: FeatureSequence;
let ck: BenchCheckpoints;
let service: InferenceService | undefined;

/** Encoder output with dropout off, computed in this process (cpu backend) — the reference. */
function referenceLatents(weights: WorldModelWeights, rows: Float32Array): Float32Array {
  const m = new WorldModel(ck.base.modelConfig, weights);
  try {
    return encode(m, normalizeRows(rows, ck.base.normalization));
  } finally {
    m.dispose();
  }
}

function baseWeights(): WorldModelWeights {
  if (ck.base.kind !== 'base') throw new Error('expected a base checkpoint');
  return ck.base.weights;
}

const ok = (r: InferenceResult | Shed): InferenceResult => {
  if (r.shed) throw new Error(`row ${r.sessionId}/${r.seq} shed: ${r.reason}`);
  return r;
};

describe.skipIf(!hasMotionData)('inference service with the tfjs engine (real recording)', () => {
  beforeAll(async () => {
    await selectBackend('cpu');
    dir = await mkdtemp(join(tmpdir(), 'jm-inference-'));
    seq = await loadFeatureSequence({ path: motion('opensim-gait', 'subject01_walk1.trc'), assessment: 'gait', subject: 'subject01' });
    ck = await buildBenchCheckpoints(dir, [seq], ['patient-a']);
    const patientDir = ck.patients.get('patient-a')!;
    service = await createInferenceService(
      {
        workers: 1,
        maxBatch: 32,
        maxWaitMs: 2,
        maxQueueAgeMs: 60_000, // correctness here, not latency: nothing may go stale on a loaded CI box
        backend: 'wasm',
        engine: {
          module: new URL('../../src/inference/tfjs-engine.ts', import.meta.url),
          options: { checkpointDir: ck.base.dir, horizons: HORIZONS, passes: 10 },
        },
      },
      {
        loadModel: createCheckpointLoader({
          base: ck.base,
          resolve: (pid, ref) => Promise.resolve(ref ?? (pid === 'patient-a' ? patientDir : null)),
        }),
      },
    );
  }, 120_000);

  afterAll(async () => {
    await service?.close();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it('answers every frame of two sessions (own adapter vs base) in shared batches, matching the in-process model', async () => {
    const s = service!;
    expect(s.backend).toBe('wasm');
    expect([s.featureDim, s.latentDim, [...s.horizons]]).toEqual([seq.names.length, 64, HORIZONS]);
    expect(s.featureNames).toEqual(seq.names);
    expect(await s.ensureModel('patient-a')).toBe(ck.patients.get('patient-a'));
    expect(await s.ensureModel('patient-b')).toBe('base');

    const F = seq.names.length;
    const T = seq.t.length;
    const pending: Promise<InferenceResult | Shed>[] = [];
    for (let t = 0; t < T; t++) {
      const x = seq.x.subarray(t * F, (t + 1) * F);
      pending.push(s.submit({ sessionId: 'sa', patientId: 'patient-a', seq: t, x }));
      pending.push(s.submit({ sessionId: 'sb', patientId: 'patient-b', seq: t, x }));
    }
    const out = (await Promise.all(pending)).map(ok);
    const a = out.filter((r) => r.sessionId === 'sa');
    const b = out.filter((r) => r.sessionId === 'sb');
    expect(a.map((r) => r.seq)).toEqual(Array.from({ length: T }, (_, i) => i));

    const refBase = referenceLatents(baseWeights(), seq.x);
    const refA = referenceLatents(mergeAdapter(baseWeights(), ck.adapters.get('patient-a')!), seq.x);
    let maxErrA = 0;
    let maxErrB = 0;
    let minDiffAB = Infinity;
    for (let t = 0; t < T; t++) {
      const za = a[t]!.latent;
      const zb = b[t]!.latent;
      let dAB = 0;
      for (let d = 0; d < 64; d++) {
        maxErrA = Math.max(maxErrA, Math.abs(za[d]! - refA[t * 64 + d]!));
        maxErrB = Math.max(maxErrB, Math.abs(zb[d]! - refBase[t * 64 + d]!));
        dAB += Math.abs(za[d]! - zb[d]!);
      }
      minDiffAB = Math.min(minDiffAB, dAB);
    }
    expect(maxErrA).toBeLessThan(1e-3);
    expect(maxErrB).toBeLessThan(1e-3);
    expect(minDiffAB).toBeGreaterThan(1e-3); // the adapter really changed patient-a's rows

    for (const r of out) {
      expect(r.predictions.map((p) => p.horizon)).toEqual(HORIZONS);
      expect(r.predictions.every((p) => p.latent.length === 64 && p.latent.every(Number.isFinite))).toBe(true);
      expect(r.uncertainty).toBeGreaterThan(0); // MC-dropout passes disagree
    }
    expect(a[0]!.surprise).toBeNull();
    expect(a.slice(1).every((r) => r.surprise !== null && Number.isFinite(r.surprise) && r.surpriseHorizon === 1)).toBe(true);
    expect(a.every((r) => r.model === ck.patients.get('patient-a'))).toBe(true);
    expect(b.every((r) => r.model === 'base')).toBe(true);
    // rows of both patients shared batches
    expect(Math.max(...out.map((r) => r.batchSize))).toBeGreaterThan(1);
    const st = s.stats();
    expect(st.shed).toEqual({ queue_full: 0, stale: 0, engine_error: 0, no_workers: 0, shutdown: 0 });
    expect(st.rows).toBeGreaterThanOrEqual(2 * T);
  }, 120_000);

  it('swaps a patient onto a new model between batches', async () => {
    const s = service!;
    const x = seq.x.subarray(0, seq.names.length);
    const before = ok(await s.submit({ sessionId: 'sc', patientId: 'patient-c', seq: 0, x }));
    expect(before.model).toBe('base');
    await s.swapModel('patient-c', ck.patients.get('patient-a')!);
    const after = ok(await s.submit({ sessionId: 'sc', patientId: 'patient-c', seq: 1, x }));
    expect(after.model).toBe(ck.patients.get('patient-a'));
    const ref = referenceLatents(mergeAdapter(baseWeights(), ck.adapters.get('patient-a')!), x);
    after.latent.forEach((v, d) => expect(v).toBeCloseTo(ref[d]!, 3));
  }, 60_000);

  it('the engine (as a worker runs it) leaks no tensors across batches, adapter swaps and dispose', async () => {
    const before = tf.memory().numTensors;
    const engine = await createEngine({ backend: 'cpu', options: { checkpointDir: ck.base.dir, horizons: HORIZONS, passes: 3 } });
    const F = engine.featureDim;
    const n = 8;
    const x = seq.x.slice(0, n * F);
    const patients = Array.from({ length: n }, (_, i) => (i % 2 ? 'patient-a' : null));
    engine.setAdapter('patient-a', ck.adapters.get('patient-a')!);
    await engine.run({ n, x, patients }); // the first run after a change may build per-adapter tensors
    const after1 = tf.memory().numTensors;
    for (let i = 0; i < 3; i++) {
      const out = await engine.run({ n, x, patients });
      expect(out.latent).toHaveLength(n * 64);
      expect(out.predictions).toHaveLength(n * HORIZONS.length * 64);
      expect(tf.memory().numTensors).toBe(after1);
    }
    engine.setAdapter('patient-a', null);
    engine.dispose?.();
    expect(tf.memory().numTensors).toBe(before);
  });

  it('takes horizons and MC passes from its options (the configuration) and refuses them missing or malformed', async () => {
    const dirOf = { checkpointDir: ck.base.dir };
    for (const options of [
      dirOf,
      { ...dirOf, passes: 3 },
      { ...dirOf, horizons: [5, 1], passes: 3 },
      { ...dirOf, horizons: [], passes: 3 },
      { ...dirOf, horizons: HORIZONS },
      { ...dirOf, horizons: HORIZONS, passes: 0 },
    ]) {
      await expect(createEngine({ backend: 'cpu', options }), JSON.stringify(options)).rejects.toMatchObject({
        name: 'InferenceError',
        code: InferenceErrorCode.INVALID_OPTIONS,
      });
    }
    const engine = await createEngine({ backend: 'cpu', options: { ...dirOf, horizons: [2, 30], passes: 2 } });
    expect(engine.horizons).toEqual([2, 30]);
    engine.dispose?.();
  });

  it('refuses a checkpoint that is not a patient adapter of this base, and keeps serving the old model', async () => {
    const s = service!;
    const notPatient = await s.swapModel('patient-a', ck.base.dir).catch((e: unknown) => e);
    expect(notPatient).toMatchObject({ name: 'InferenceError', code: InferenceErrorCode.MODEL_LOAD_FAILED });
    const other = await buildBenchCheckpoints(join(dir, 'other'), [seq], ['stranger'], 7);
    const wrongBase = await s.swapModel('patient-a', other.patients.get('stranger')!).catch((e: unknown) => e);
    expect(wrongBase).toMatchObject({ code: InferenceErrorCode.MODEL_LOAD_FAILED, cause: { name: 'ModelError', code: 'MODEL_BASE_MISMATCH' } });
    const r = ok(await s.submit({ sessionId: 'sa2', patientId: 'patient-a', seq: 0, x: seq.x.subarray(0, seq.names.length) }));
    expect(r.model).toBe(ck.patients.get('patient-a'));
    expect(s.stats().models.loadFailures).toBe(2);
  });
});
