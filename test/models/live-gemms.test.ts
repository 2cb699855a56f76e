import * as tf from '@tensorflow/tfjs-core';
import { beforeAll, describe, expect, it } from 'vitest';
import { selectBackend } from '../../models/backend.js';
import { createBatchedInference } from '../../models/batched-inference.js';
import { gemmFlops, liveGemms } from '../../models/live-gemms.js';
import { mcGemmFlops } from '../../models/mc-flops.js';
import type { ProbeDecoder } from '../../models/probe-decoder.js';
import { POSE_DIM } from '../../models/probe-pose.js';
import { initWeights, resolveModelConfig } from '../../models/world-model.js';

beforeAll(async () => {
  await selectBackend('wasm');
});

/** [m, k, n] of every matMul kernel a call runs (batch dims folded into m; no transposes in the engine). */
async function matmulShapes(run: () => tf.Tensor[]): Promise<string[]> {
  const info = await tf.profile(run);
  return info.kernels
    .filter((k) => /^(BatchMatMul|_FusedMatMul)$/.test(k.name))
    .map((k) => {
      const [a, b] = k.inputShapes as number[][];
      const batch = a!.slice(0, -2).reduce((p, d) => p * d, 1);
      return `${batch * a!.at(-2)!}×${a!.at(-1)!}×${b!.at(-1)!}`;
    })
    .sort();
}

describe('liveGemms', () => {
  const config = resolveModelConfig({ featureDim: 24 });
  const L = config.latentDim;
  const [n, P, horizons] = [6, 5, [1, 5, 10, 30]];
  const probe: ProbeDecoder = {
    kind: 'ridge',
    latentDim: L,
    weights: Float32Array.from({ length: L * POSE_DIM }, (_, i) => 0.01 * Math.sin(i)),
    bias: new Float32Array(POSE_DIM),
    trained: Array.from({ length: 20 }, () => true),
    lambda: Array.from({ length: 20 }, () => 1e-3),
    lo: new Float32Array(POSE_DIM).fill(-5),
    hi: new Float32Array(POSE_DIM).fill(5),
  };
  const x = Float32Array.from({ length: n * config.featureDim }, (_, i) => Math.cos(i));
  const poses = Float32Array.from({ length: n * POSE_DIM }, (_, i) => (i % 3 === 1 ? 1 : 0.1 * Math.sin(i)));
  const patients = Array.from({ length: n }, () => null);
  const shapes = (list: ReturnType<typeof liveGemms>) => list.map((g) => `${g.m}×${g.k}×${g.n}`).sort();

  it('lists the matMuls a live batch runs, with and without decoded poses', async () => {
    const bi = createBatchedInference({ modelConfig: config, weights: initWeights(config, 2) }, { horizons, passes: P, probe });
    try {
      const ran = async (withPoses: boolean) =>
        matmulShapes(() => {
          const r = bi.runPacked({ n, x, patients, ...(withPoses ? { poses } : {}) });
          return [tf.tensor1d(r.uncertainty)];
        });
      expect(await ran(true)).toEqual(shapes(liveGemms(config, n, P, horizons.length, true)));
      expect(await ran(false)).toEqual(shapes(liveGemms(config, n, P, horizons.length, false)));
    } finally {
      bi.dispose();
    }
  });

  it('counts what mcGemmFlops counts when no poses are decoded (less its per-batch horizon constant)', () => {
    const total = liveGemms(config, n, P, horizons.length, false).reduce((s, g) => s + gemmFlops(g), 0);
    expect(total).toBe(mcGemmFlops(config, n, P, horizons.length) - 2 * horizons.length * config.hiddenDim);
  });
});
