import * as tf from '@tensorflow/tfjs-core';
import { beforeAll, describe, expect, it } from 'vitest';
import { initAdapter, mergeAdapter, type AdapterLayer, type AdapterWeights } from '../../models/adapters.js';
import { selectBackend } from '../../models/backend.js';
import { createBatchedInference } from '../../models/batched-inference.js';
import { ModelErrorCode } from '../../models/errors.js';
import { createMaskBank, mcPredict, type MaskBank } from '../../models/mc-dropout.js';
import { decodePoses, type ProbeDecoder } from '../../models/probe-decoder.js';
import { canonicalPose, POSE_DIM, poseFrame, worldPose } from '../../models/probe-pose.js';
import { JOINT_INDEX } from '../../streams/skeleton.js';
import { createRng } from '../../models/rng.js';
import { WorldModel, encode, initWeights, predict, resolveModelConfig } from '../../models/world-model.js';

const F = 7;
const horizons = [1, 10];
const rng = createRng(11);
const row = () => Float32Array.from({ length: F }, () => rng.normal());

beforeAll(async () => {
  await selectBackend('wasm');
});

function trainedLikeAdapter(
  config: ReturnType<typeof resolveModelConfig>,
  seed: number,
  layers: readonly AdapterLayer[] = ['encoder.fc1', 'predictor.fc2'],
  rank = 4,
): AdapterWeights {
  const a = initAdapter(config, { rank, layers }, seed);
  const r = createRng(seed + 100);
  for (const l of Object.values(a.layers)) if (l) for (let i = 0; i < l.b.length; i++) l.b[i] = 0.2 * r.normal();
  return a;
}

/** One bank window copied to plain arrays (tensors disposed). */
function windowArrays(bank: MaskBank, n: number, P: number, H: number): [Float32Array, Float32Array] {
  const w = bank.window(n, P, H, 128);
  if (!w) throw new Error('window expected');
  try {
    return [(w.m1.dataSync() as Float32Array).slice(), (w.m2.dataSync() as Float32Array).slice()];
  } finally {
    tf.dispose([w.m1, w.m2]);
  }
}

describe('createBatchedInference', () => {
  it('mixed-patient batch (mixed ranks and layers) = each patient through its own merged model (dropout 0: exact maths)', () => {
    const config = resolveModelConfig({ featureDim: F, dropout: 0 });
    const weights = initWeights(config, 5);
    const bi = createBatchedInference({ modelConfig: config, weights }, { horizons, passes: 3 });
    const adA = trainedLikeAdapter(config, 1);
    // Different rank and layers from A: exercises zero-padding of ranks and absent layers in the stacks.
    const adB = trainedLikeAdapter(config, 2, ['encoder.fc2', 'predictor.fc1', 'predictor.fc2'], 2);
    bi.setAdapter('A', adA);
    bi.setAdapter('B', adB);
    const rows = [
      { x: row(), patient: 'A' },
      { x: row(), patient: null },
      { x: row(), patient: 'B' },
      { x: row(), patient: 'A' },
      { x: row(), patient: 'unknown' },
    ];
    try {
      const out = bi.run(rows);
      expect(out.map((r) => r.adapted)).toEqual([true, false, true, true, false]);
      rows.forEach((r, i) => {
        const ad = r.patient === 'A' ? adA : r.patient === 'B' ? adB : null;
        const m = new WorldModel(config, ad ? mergeAdapter(weights, ad) : weights);
        try {
          const z = encode(m, r.x);
          const res = out[i];
          expect(res?.latent.length).toBe(64);
          for (let d = 0; d < 64; d++) expect(res?.latent[d]).toBeCloseTo(z[d] ?? NaN, 4);
          horizons.forEach((h, k) => {
            const zh = predict(m, z, Float32Array.of(h));
            for (let d = 0; d < 64; d++) expect(res?.predictions[k]?.[d]).toBeCloseTo(zh[d] ?? NaN, 4);
          });
          expect(res?.uncertainty).toBeCloseTo(0, 6);
        } finally {
          m.dispose();
        }
      });
    } finally {
      bi.dispose();
    }
  });

  it('base-only rows with fresh masks (no bank) equal mcPredict with the same seed; uncertainty > 0', () => {
    const config = resolveModelConfig({ featureDim: F });
    const weights = initWeights(config, 6);
    const bi = createBatchedInference({ modelConfig: config, weights }, { horizons, passes: 10, seed: 4, maskBankEntries: 0 });
    const m = new WorldModel(config, weights);
    try {
      const rows = [row(), row(), row()];
      const out = bi.run(rows.map((x) => ({ x, patient: null })));
      const ref = mcPredict(m, Float32Array.from(rows.flatMap((r) => Array.from(r))), { horizons, passes: 10, rng: 4 });
      out.forEach((r, i) => {
        expect(r.uncertainty).toBeGreaterThan(0);
        horizons.forEach((_, k) => {
          for (let d = 0; d < 64; d++) expect(r.predictions[k]?.[d]).toBeCloseTo(ref.predictions[k]?.[i * 64 + d] ?? NaN, 5);
          expect(r.uncertaintyPerHorizon[k]).toBeCloseTo(ref.uncertainty[k]?.[i] ?? NaN, 5);
        });
      });
    } finally {
      m.dispose();
      bi.dispose();
    }
  });

  it('mask bank: windows are i.i.d. inverted-dropout entries at varying offsets; run() equals mcPredict given the same window', () => {
    const bank = createMaskBank(4, 1 << 16, 0.1);
    try {
      const [a, b] = [0, 1].map(() => windowArrays(bank, 8, 10, 2));
      const all = [...(a?.[0] ?? []), ...(a?.[1] ?? [])];
      expect(all.length).toBe(8 * 10 * 128 * 3);
      expect(new Set(all.map((v) => v.toFixed(5)))).toEqual(new Set(['0.00000', (1 / 0.9).toFixed(5)]));
      const dropped = all.filter((v) => v === 0).length / all.length;
      expect(dropped).toBeGreaterThan(0.09); // 30 720 draws: 5 σ ≈ 0.009
      expect(dropped).toBeLessThan(0.11);
      expect(b?.[0]).not.toEqual(a?.[0]); // a new offset per call
      expect(bank.window(1000, 10, 4, 128)).toBeNull(); // more than the bank holds
    } finally {
      bank.dispose();
    }
    const config = resolveModelConfig({ featureDim: F });
    const weights = initWeights(config, 6);
    const E = 1 << 16;
    const bi = createBatchedInference({ modelConfig: config, weights }, { horizons, passes: 10, seed: 9, maskBankEntries: E });
    const twin = createMaskBank(9, E, config.dropout);
    const m = new WorldModel(config, weights);
    try {
      for (let call = 0; call < 2; call++) {
        const rows = [row(), row(), row()];
        const out = bi.run(rows.map((x) => ({ x, patient: null })));
        const [m1, m2] = windowArrays(twin, 3, 10, horizons.length);
        const ref = mcPredict(m, Float32Array.from(rows.flatMap((r) => Array.from(r))), { horizons, passes: 10, masks: { m1, m2 } });
        out.forEach((r, i) => {
          expect(r.uncertainty).toBeGreaterThan(0);
          horizons.forEach((_, k) => {
            for (let d = 0; d < 64; d++) expect(r.predictions[k]?.[d]).toBeCloseTo(ref.predictions[k]?.[i * 64 + d] ?? NaN, 5);
            expect(r.uncertaintyPerHorizon[k]).toBeCloseTo(ref.uncertainty[k]?.[i] ?? NaN, 5);
          });
        });
      }
    } finally {
      twin.dispose();
      m.dispose();
      bi.dispose();
    }
  });

  it('swaps and removes adapters between runs', () => {
    const config = resolveModelConfig({ featureDim: F, dropout: 0 });
    const bi = createBatchedInference({ modelConfig: config, weights: initWeights(config, 1) }, { horizons, passes: 2 });
    const x = row();
    try {
      const base = bi.run([{ x, patient: 'P' }])[0]?.latent;
      bi.setAdapter('P', trainedLikeAdapter(config, 3));
      expect(bi.hasAdapter('P')).toBe(true);
      const adapted = bi.run([{ x, patient: 'P' }])[0]?.latent;
      expect(adapted).not.toEqual(base);
      bi.setAdapter('P', null);
      expect(bi.adapterCount).toBe(0);
      expect(bi.run([{ x, patient: 'P' }])[0]?.latent).toEqual(base);
    } finally {
      bi.dispose();
    }
  });

  it('bounds adapters, rejects bad rows and bad adapters with codes, leaks no tensors', () => {
    const before = tf.memory().numTensors;
    const config = resolveModelConfig({ featureDim: F });
    const bi = createBatchedInference({ modelConfig: config, weights: initWeights(config, 1) }, { horizons, maxAdapters: 2 });
    bi.setAdapter('a', trainedLikeAdapter(config, 1));
    bi.setAdapter('b', trainedLikeAdapter(config, 2));
    bi.setAdapter('b', trainedLikeAdapter(config, 3)); // replacing is not adding
    expect(() => bi.setAdapter('c', trainedLikeAdapter(config, 4))).toThrow(expect.objectContaining({ code: ModelErrorCode.CAPACITY }));
    const wrong = trainedLikeAdapter(resolveModelConfig({ featureDim: F + 2 }), 1);
    expect(() => bi.setAdapter('d', wrong)).toThrow(expect.objectContaining({ code: ModelErrorCode.SHAPE_MISMATCH }));
    expect(() => bi.run([{ x: new Float32Array(F - 1), patient: null }])).toThrow(expect.objectContaining({ code: ModelErrorCode.SHAPE_MISMATCH }));
    expect(bi.run([])).toEqual([]);
    bi.run([
      { x: row(), patient: 'a' },
      { x: row(), patient: 'b' },
      { x: row(), patient: null },
    ]);
    bi.dispose();
    expect(tf.memory().numTensors).toBe(before);
    expect(() => bi.run([{ x: row(), patient: null }])).toThrow(expect.objectContaining({ code: ModelErrorCode.INVALID_ARGS }));
    expect(() => createBatchedInference({ modelConfig: config, weights: initWeights(config, 1) }, { horizons: [] })).toThrow(
      expect.objectContaining({ code: ModelErrorCode.INVALID_ARGS }),
    );
    expect(tf.memory().numTensors).toBe(before);
  });

  it("decodes every prediction to a world pose = the offline probe decode of the change, turned into the frame's world pose", () => {
    const before = tf.memory().numTensors;
    const config = resolveModelConfig({ featureDim: F });
    const weights = initWeights(config, 9);
    const L = config.latentDim;
    const r = createRng(21);
    // A random ridge probe; joint 7 never trained (NaN out), coordinate 5 clamped hard so clamping is exercised,
    // and the root clamped to 0 as in every fitted probe (canonical roots are 0 in training).
    const root = (k: number) => Math.floor(k / 3) === JOINT_INDEX.root;
    const probe: ProbeDecoder = {
      kind: 'ridge',
      latentDim: L,
      weights: Float32Array.from({ length: L * POSE_DIM }, () => 0.05 * r.normal()),
      bias: Float32Array.from({ length: POSE_DIM }, (_, k) => (Math.floor(k / 3) === 7 ? Number.NaN : 0.3 * r.normal())),
      trained: Array.from({ length: 20 }, (_, j) => j !== 7),
      lambda: Array.from({ length: 20 }, () => 1e-3),
      lo: Float32Array.from({ length: POSE_DIM }, (_, k) => (Math.floor(k / 3) === 7 ? Number.NaN : root(k) ? 0 : k === 5 ? -0.01 : -5)),
      hi: Float32Array.from({ length: POSE_DIM }, (_, k) => (Math.floor(k / 3) === 7 ? Number.NaN : root(k) ? 0 : k === 5 ? 0.01 : 5)),
    };
    // World poses: a body at a random place in the room, facing a random way (hips set accordingly).
    const worldOf = (seed: number): Float32Array => {
      const q = createRng(seed);
      const yaw = q.next() * 2 * Math.PI;
      const [ox, oz] = [q.normal() * 3, q.normal() * 3];
      const p = Float32Array.from({ length: POSE_DIM }, () => q.normal() * 0.4);
      const put = (j: number, x: number, y: number, z: number) =>
        p.set([ox + x * Math.cos(yaw) + z * Math.sin(yaw), y, oz - x * Math.sin(yaw) + z * Math.cos(yaw)], 3 * j);
      put(JOINT_INDEX.root, 0, 1, 0);
      put(JOINT_INDEX.left_hip, 0.1, 0.95, 0);
      put(JOINT_INDEX.right_hip, -0.1, 0.95, 0);
      return p;
    };
    const bi = createBatchedInference({ modelConfig: config, weights }, { horizons, passes: 4, probe });
    const adapter = trainedLikeAdapter(config, 3, ['encoder.fc2', 'predictor.fc1', 'predictor.fc2']);
    bi.setAdapter('A', adapter);
    const rows = [
      { x: row(), patient: null, pose: worldOf(1) },
      { x: row(), patient: null },
      { x: row(), patient: 'A', pose: worldOf(2) },
    ];
    const models = [new WorldModel(config, weights), new WorldModel(config, mergeAdapter(weights, adapter))];
    try {
      expect(bi.decodesPoses).toBe(true);
      const out = bi.run(rows);
      expect(out[1]?.poses).toBeUndefined();
      for (const i of [0, 2]) {
        const res = out[i]!;
        const pose = rows[i]!.pose!;
        const frame = poseFrame(pose)!;
        const now = decodePoses(probe, res.latent);
        horizons.forEach((h, k) => {
          // The dropout-off prediction (WorldModel predict, what eval decodes), through the row's own adapter.
          const ahead = decodePoses(probe, predict(models[i === 2 ? 1 : 0]!, res.latent, Float32Array.of(h)));
          const canonical = canonicalPose(pose).map((v, c) => v + ahead[c]! - now[c]!);
          const expected = worldPose(canonical, frame);
          const got = res.poses![k]!;
          expect(got.length).toBe(POSE_DIM);
          for (let c = 0; c < POSE_DIM; c++) {
            if (Math.floor(c / 3) === 7) expect(got[c]).toBeNaN();
            else expect(Math.abs(got[c]! - expected[c]!)).toBeLessThan(1e-4);
          }
          // The root is not predicted: it stays where the patient is.
          for (let c = 0; c < 3; c++) expect(got[3 * JOINT_INDEX.root + c]).toBeCloseTo(pose[3 * JOINT_INDEX.root + c]!, 4);
        });
      }
      // The packed path is the same computation without per-row arrays.
      const packed = bi.runPacked({ n: 1, x: rows[0]!.x, patients: [null], poses: rows[0]!.pose! });
      expect(packed.poses?.length).toBe(horizons.length * POSE_DIM);
      expect(packed.horizonUncertainty.length).toBe(horizons.length);
      expect(() => bi.runPacked({ n: 1, x: rows[0]!.x, patients: [null], poses: new Float32Array(3) })).toThrow(
        expect.objectContaining({ code: ModelErrorCode.SHAPE_MISMATCH }),
      );
    } finally {
      bi.dispose();
      for (const m of models) m.dispose();
    }
    expect(tf.memory().numTensors).toBe(before);
    expect(() => createBatchedInference({ modelConfig: config, weights }, { horizons, probe: { ...probe, latentDim: L + 1 } })).toThrow(
      expect.objectContaining({ code: ModelErrorCode.SHAPE_MISMATCH }),
    );
    expect(tf.memory().numTensors).toBe(before);
  });
});
