import { readFile, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import { beforeAll, describe, expect, it } from 'vitest';
import { AdapterParams, initAdapter, type AdapterLayer, type AdapterWeights } from '../../models/adapters.js';
import { selectBackend } from '../../models/backend.js';
import { createBatchedInference } from '../../models/batched-inference.js';
import { wasmKernels } from '../../models/wasm-kernels.js';
import { createMaskBank, mcPredict } from '../../models/mc-dropout.js';
import type { ProbeDecoder } from '../../models/probe-decoder.js';
import { POSE_DIM } from '../../models/probe-pose.js';
import { createRng } from '../../models/rng.js';
import { WorldModel, initWeights, resolveModelConfig } from '../../models/world-model.js';

const F = 9;
const horizons = [1, 5, 30];
const rng = createRng(31);
const row = () => Float32Array.from({ length: F }, () => rng.normal());

beforeAll(async () => {
  await selectBackend('wasm');
});

function trainedLike(config: ReturnType<typeof resolveModelConfig>, seed: number, layers: readonly AdapterLayer[], rank: number, alpha = rank): AdapterWeights {
  const a = initAdapter(config, { rank, layers, alpha }, seed);
  const r = createRng(seed + 100);
  for (const l of Object.values(a.layers)) if (l) for (let i = 0; i < l.b.length; i++) l.b[i] = 0.2 * r.normal();
  return a;
}

describe('wasm kernels (models/kernels/mc-kernels.wasm)', () => {
  it('the committed binary is what `npm run build:kernels` compiles from the source', async () => {
    const pkg = JSON.parse(await readFile('package.json', 'utf8')) as { scripts: Record<string, string> };
    const args = (pkg.scripts['build:kernels'] ?? '').split(/\s+/).slice(1);
    const o = args.indexOf('-o');
    expect(o).toBeGreaterThan(0);
    const dir = await mkdtemp(join(tmpdir(), 'jm-kernel-'));
    try {
      args[o + 1] = join(dir, 'mc-kernels.wasm');
      const asc = (await import('assemblyscript/asc')).default;
      const { error, stderr } = await asc.main(args);
      expect(error, stderr.toString()).toBeFalsy();
      expect(Buffer.compare(await readFile(args[o + 1]!), await readFile('models/kernels/mc-kernels.wasm'))).toBe(0);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  }, 60_000);

  it('adds (u·A_s)·B_s of each frame’s slot to the base, in plain-loop arithmetic; slot −1 = base only; bad shapes throw', () => {
    const k = wasmKernels();
    expect(k).not.toBeNull();
    const kernel = (p: Parameters<NonNullable<typeof k>['lowRankAdd']>[0]) => k!.lowRankAdd(p);
    // reps 6: one block of four rows sharing the frame's adapter, then two rows alone.
    const [n, reps, inDim, inFull, rank, outDim, S] = [5, 6, 7, 9, 8, 12, 3];
    const r = createRng(5);
    const rand = (k: number) => Float32Array.from({ length: k }, () => r.normal());
    const u = rand(n * reps * inDim);
    const a = rand(S * inFull * rank);
    const b = rand(S * rank * outDim);
    const base = rand(n * reps * outDim);
    const slots = Int32Array.of(2, -1, 0, 1, 2);
    const want = base.slice();
    for (let row = 0; row < n * reps; row++) {
      const s = slots[Math.floor(row / reps)]!;
      if (s < 0) continue;
      for (let o = 0; o < outDim; o++) {
        let v = 0;
        for (let k = 0; k < rank; k++) {
          let t = 0;
          for (let i = 0; i < inDim; i++) t += u[row * inDim + i]! * a[s * inFull * rank + i * rank + k]!;
          v += t * b[(s * rank + k) * outDim + o]!;
        }
        want[row * outDim + o] = want[row * outDim + o]! + v;
      }
    }
    const args = {
      u: tf.tensor2d(u, [n * reps, inDim]),
      reps,
      slots: tf.tensor1d(slots, 'int32'),
      a: tf.tensor1d(a),
      aSlot: inFull * rank,
      b: tf.tensor1d(b),
      rank,
      outDim,
    };
    const before = tf.memory().numTensors;
    const got = tf.tidy(() => kernel({ ...args, base: tf.tensor2d(base, [n * reps, outDim]) }).dataSync());
    const noBase = tf.tidy(() => kernel(args).dataSync());
    expect(tf.memory().numTensors).toBe(before);
    for (let i = 0; i < want.length; i++) {
      expect(got[i]).toBeCloseTo(want[i]!, 4);
      expect(noBase[i]).toBeCloseTo(want[i]! - base[i]!, 4);
    }
    expect(() => tf.tidy(() => kernel({ ...args, rank: 6 }))).toThrow(/inconsistent shapes/);
    expect(() => tf.tidy(() => kernel({ ...args, reps: 4 }))).toThrow(/inconsistent shapes/);
    expect(() => tf.tidy(() => kernel({ ...args, base: tf.zeros([n * reps, outDim + 4]) as tf.Tensor2D }))).toThrow(/inconsistent shapes/);
    tf.dispose([args.u, args.slots, args.a, args.b]);
  });

  it('ReLU + dropout masks read in place from the bank: copies, horizon broadcast and the unmasked copy 0 as plain loops; windows outside the bank throw', () => {
    const k = wasmKernels()!;
    const [n, P, H, hid] = [3, 4, 2, 8];
    const r = createRng(6);
    const rand = (len: number) => Float32Array.from({ length: len }, () => r.normal());
    const bankData = rand(500);
    const a = rand(n * hid);
    const z = rand(n * P * hid);
    const sShared = rand(H * hid);
    const sFrame = rand(n * H * hid);
    const bank = tf.tensor1d(bankData);
    const relu = (v: number) => Math.max(0, v);
    const before = tf.memory().numTensors;
    // The same z with a copy 0 in front of each frame's P rows: the masked rows must not change.
    const z0 = rand(n * hid);
    const zWith0 = new Float32Array(n * (P + 1) * hid);
    for (let f = 0; f < n; f++) {
      zWith0.set(z0.subarray(f * hid, (f + 1) * hid), f * (P + 1) * hid);
      zWith0.set(z.subarray(f * P * hid, (f + 1) * P * hid), (f * (P + 1) + 1) * hid);
    }
    const [copies, shared, perFrame, withCopy0, copy0] = tf.tidy(() => [
      k.reluMaskCopies(tf.tensor2d(a, [n, hid]), P, { bank, offset: 7 }).dataSync(),
      k.reluAddMask(tf.tensor2d(z, [n * P, hid]), tf.tensor2d(sShared, [H, hid]), H, P, { bank, offset: 11 })[0]!.dataSync(),
      k.reluAddMask(tf.tensor2d(z, [n * P, hid]), tf.tensor2d(sFrame, [n * H, hid]), H, P, { bank, offset: 0 })[0]!.dataSync(),
      ...k.reluAddMask(tf.tensor2d(zWith0, [n * (P + 1), hid]), tf.tensor2d(sFrame, [n * H, hid]), H, P, { bank, offset: 0 }, true).map((t) => t.dataSync()),
    ]);
    expect(Array.from(withCopy0!)).toEqual(Array.from(perFrame!));
    for (let f = 0; f < n; f++)
      for (let h = 0; h < H; h++)
        for (let j = 0; j < hid; j++) expect(copy0![(f * H + h) * hid + j]).toBeCloseTo(relu(z0[f * hid + j]! + sFrame[(f * H + h) * hid + j]!), 6);
    expect(tf.memory().numTensors).toBe(before);
    for (let f = 0; f < n; f++)
      for (let j = 0; j < hid; j++) {
        const h = relu(a[f * hid + j]!);
        expect(copies[f * (P + 1) * hid + j]).toBeCloseTo(h, 6);
        for (let p = 0; p < P; p++) expect(copies[(f * (P + 1) + 1 + p) * hid + j]).toBeCloseTo(h * bankData[7 + (f * P + p) * hid + j]!, 6);
      }
    for (let f = 0; f < n; f++)
      for (let h = 0; h < H; h++)
        for (let p = 0; p < P; p++)
          for (let j = 0; j < hid; j++) {
            const row = (f * H + h) * P + p;
            const zv = z[(f * P + p) * hid + j]!;
            expect(shared[row * hid + j]).toBeCloseTo(relu(zv + sShared[h * hid + j]!) * bankData[11 + row * hid + j]!, 6);
            expect(perFrame[row * hid + j]).toBeCloseTo(relu(zv + sFrame[(f * H + h) * hid + j]!) * bankData[row * hid + j]!, 6);
          }
    expect(() => tf.tidy(() => k.reluMaskCopies(tf.zeros([n, hid]) as tf.Tensor2D, P, { bank, offset: 500 - n * P * hid + 1 }))).toThrow(/outside the bank/);
    expect(() => tf.tidy(() => k.reluAddMask(tf.zeros([n * P, hid]) as tf.Tensor2D, tf.zeros([H + 1, hid]) as tf.Tensor2D, H, P, { bank, offset: 0 }))).toThrow(
      /bad shapes/,
    );
    bank.dispose();
  });

  it('pass moments: mean over passes and mean std over dims of z + s·y (residual) or y, as plain loops', () => {
    const k = wasmKernels()!;
    const [n, H, P, L] = [2, 3, 5, 8];
    const r = createRng(12);
    const y = Float32Array.from({ length: n * H * P * L }, () => r.normal());
    const z = Float32Array.from({ length: n * (P + 1) * L }, () => r.normal());
    const sH = Float32Array.of(0.5, 2, -1);
    for (const residual of [true, false]) {
      const [mean, unc] = tf.tidy(() =>
        k.passMoments(tf.tensor2d(y, [n * H * P, L]), tf.tensor2d(z, [n * (P + 1), L]), tf.tensor1d(sH), P, residual).map((t) => t.dataSync()),
      ) as [Float32Array, Float32Array];
      for (let f = 0; f < n; f++)
        for (let h = 0; h < H; h++) {
          let stds = 0;
          for (let d = 0; d < L; d++) {
            const v = Array.from({ length: P }, (_, p) => {
              const yv = y[((f * H + h) * P + p) * L + d]!;
              return residual ? z[(f * (P + 1) + 1 + p) * L + d]! + sH[h]! * yv : yv;
            });
            const m = v.reduce((a, b) => a + b, 0) / P;
            expect(mean[(f * H + h) * L + d]).toBeCloseTo(m, 5);
            stds += Math.sqrt(v.reduce((a, b) => a + (b - m) ** 2, 0) / P);
          }
          expect(unc[f * H + h]).toBeCloseTo(stds / L, 5);
        }
    }
    expect(() => tf.tidy(() => k.passMoments(tf.zeros([n * H * P, L]) as tf.Tensor2D, tf.zeros([n * P, L]) as tf.Tensor2D, tf.tensor1d(sH), P, true))).toThrow(
      /bad shapes/,
    );
  });

  it('mixed patients in one batch (ranks 2/4/6, different layers) match each patient’s own mcPredict with the same masks', () => {
    const config = resolveModelConfig({ featureDim: F });
    const weights = initWeights(config, 3);
    const E = 1 << 18;
    const P = 6;
    const ads: Record<string, AdapterWeights> = {
      A: trainedLike(config, 1, ['encoder.fc1', 'encoder.fc2', 'predictor.fc1', 'predictor.fc2'], 4),
      B: trainedLike(config, 2, ['encoder.fc2', 'predictor.fc1'], 2, 3),
      C: trainedLike(config, 3, ['predictor.fc1', 'predictor.fc2'], 6),
    };
    const bi = createBatchedInference({ modelConfig: config, weights }, { horizons, passes: P, seed: 8, maskBankEntries: E });
    for (const [id, a] of Object.entries(ads)) bi.setAdapter(id, a);
    const twin = createMaskBank(8, E, config.dropout);
    const model = new WorldModel(config, weights);
    const params = Object.fromEntries(Object.entries(ads).map(([id, a]) => [id, new AdapterParams(a, false)]));
    const patients = ['A', null, 'C', 'B', 'A', 'nobody', 'C'];
    const rows = patients.map((patient) => ({ x: row(), patient }));
    const n = rows.length;
    const hid = config.hiddenDim;
    const H = horizons.length;
    try {
      const out = bi.run(rows);
      const w = twin.window(n, P, H, hid)!;
      const [m1, m2] = [w.m1.dataSync() as Float32Array, w.m2.dataSync() as Float32Array].map((m) => m.slice()) as [Float32Array, Float32Array];
      tf.dispose([w.m1, w.m2]);
      expect(out.map((r) => r.adapted)).toEqual([true, false, true, true, true, false, true]);
      rows.forEach((r, i) => {
        const adapter = r.patient ? params[r.patient] : undefined;
        const masks = { m1: m1.slice(i * P * hid, (i + 1) * P * hid), m2: m2.slice(i * H * P * hid, (i + 1) * H * P * hid) };
        const ref = mcPredict(model, r.x, { horizons, passes: P, masks, ...(adapter ? { adapter } : {}) });
        for (let d = 0; d < 64; d++) expect(out[i]!.latent[d]).toBeCloseTo(ref.latent[d]!, 4);
        horizons.forEach((_, k) => {
          for (let d = 0; d < 64; d++) expect(out[i]!.predictions[k]![d]).toBeCloseTo(ref.predictions[k]![d]!, 4);
          expect(out[i]!.uncertaintyPerHorizon[k]).toBeCloseTo(ref.uncertainty[k]![0]!, 4);
        });
      });
    } finally {
      bi.dispose();
      twin.dispose();
      model.dispose();
      for (const p of Object.values(params)) p.dispose();
    }
  });

  it('give the plain tfjs path’s results (same mask windows), predicted poses included, and leak no tensors', () => {
    const before = tf.memory().numTensors;
    const config = resolveModelConfig({ featureDim: F });
    const weights = initWeights(config, 4);
    const r = createRng(9);
    const probe: ProbeDecoder = {
      kind: 'ridge',
      latentDim: config.latentDim,
      weights: Float32Array.from({ length: config.latentDim * POSE_DIM }, () => 0.05 * r.normal()),
      bias: Float32Array.from({ length: POSE_DIM }, () => 0.3 * r.normal()),
      trained: Array.from({ length: 20 }, () => true),
      lambda: Array.from({ length: 20 }, () => 1e-3),
      lo: new Float32Array(POSE_DIM).fill(-5),
      hi: new Float32Array(POSE_DIM).fill(5),
    };
    const make = (wasmKernels: boolean) => createBatchedInference({ modelConfig: config, weights }, { horizons, passes: 5, seed: 2, probe, wasmKernels });
    const [withKernel, withMatMul] = [make(true), make(false)];
    const ids = Array.from({ length: 6 }, (_, k) => `p${k}`);
    ids.forEach((id, k) => {
      const a = trainedLike(config, 20 + k, ['encoder.fc1', 'encoder.fc2', 'predictor.fc1', 'predictor.fc2'], 4);
      withKernel.setAdapter(id, a);
      withMatMul.setAdapter(id, a);
    });
    const n = 16;
    const batch = {
      n,
      x: Float32Array.from({ length: n * F }, () => r.normal()),
      patients: Array.from({ length: n }, (_, i) => (i % 5 === 4 ? null : `p${i % 6}`)),
      poses: Float32Array.from({ length: n * POSE_DIM }, (_, i) => (i % 3 === 1 ? 1 : 0.2 * r.normal())),
    };
    try {
      for (let call = 0; call < 2; call++) {
        const [a, b] = [withKernel.runPacked(batch), withMatMul.runPacked(batch)];
        for (const key of ['latent', 'predictions', 'horizonUncertainty', 'poses'] as const) {
          const [x, y] = [a[key]!, b[key]!];
          expect(x.length).toBe(y.length);
          for (let i = 0; i < x.length; i++) expect(Math.abs(x[i]! - y[i]!)).toBeLessThan(1e-4);
        }
      }
    } finally {
      withKernel.dispose();
      withMatMul.dispose();
    }
    expect(tf.memory().numTensors).toBe(before);
  });
});
