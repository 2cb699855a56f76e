import * as tf from '@tensorflow/tfjs-core';
import { beforeAll, describe, expect, it } from 'vitest';
import { selectBackend } from '../../models/backend.js';
import { createMcMasks, mcCore } from '../../models/mc-dropout.js';
import { mcGemmFlops } from '../../models/mc-flops.js';
import { createRng } from '../../models/rng.js';
import { createWorldModel } from '../../models/world-model.js';

beforeAll(async () => {
  await selectBackend('wasm');
});

describe('mcGemmFlops', () => {
  it('equals 2·m·k·n summed over the matMuls mcCore actually runs', async () => {
    const config = { featureDim: 12, hiddenDim: 16, latentDim: 8 };
    const model = createWorldModel(config, 3);
    const [n, P, horizons] = [5, 4, [1, 5, 10]];
    const masks = createMcMasks(createRng(1), n, P, horizons.length, config.hiddenDim, 0.1);
    const x = tf.tensor2d(
      Float32Array.from({ length: n * config.featureDim }, (_, i) => Math.sin(i)),
      [n, config.featureDim],
    );
    const info = await tf.profile(() => {
      const r = mcCore({ encoder: model.encoder, predictor: model.predictor, config: model.config, x, passes: P, horizons, masks });
      return [r.latent, r.mean, r.uncertainty];
    });
    // Kernels only: tf.fused.matMul also records its gradient wrapper (fusedMatMul__op) with the same shapes.
    const matmuls = info.kernels.filter((k) => /^(BatchMatMul|_FusedMatMul)$/.test(k.name));
    expect(matmuls.length).toBeGreaterThan(0);
    let counted = 0;
    for (const k of matmuls) {
      const [a, b] = k.inputShapes as number[][];
      // No transposes in mcCore: a is [..., m, k], b is [..., k, n]; batch dims multiply.
      const m = a!.at(-2)!;
      const inner = a!.at(-1)!;
      const cols = b!.at(-1)!;
      const batch = a!.slice(0, -2).reduce((p, d) => p * d, 1);
      expect(b!.at(-2)).toBe(inner);
      counted += 2 * batch * m * inner * cols;
    }
    expect(mcGemmFlops(config, n, P, horizons.length)).toBe(counted);
    x.dispose();
    model.dispose();
  });

  it('is ≈ 1.04 MFLOP per frame at the default sizes with 10 passes × 4 horizons (not 1.54)', () => {
    const perFrame = mcGemmFlops({ featureDim: 160, hiddenDim: 128, latentDim: 64 }, 1000, 10, 4) / 1000;
    expect(perFrame / 1e6).toBeCloseTo(1.04, 2);
  });
});
