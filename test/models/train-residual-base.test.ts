import { beforeAll, describe, expect, it } from 'vitest';
import { selectBackend } from '../../models/backend.js';
import { ModelErrorCode } from '../../models/errors.js';
import { trainWorldModel } from '../../models/train.js';
import { encode, encodeTarget, predict } from '../../models/world-model.js';
import { sequenceSampler, sinusoidSequence } from './synthetic.js';

const F = 6;
const T = 400;
const seq = sinusoidSequence(T, F, 2);
const sampler = () => sequenceSampler(seq, F, { samplesPerEpoch: 512, maxDh: 20, seed: 1 });

beforeAll(async () => {
  await selectBackend('wasm');
});

/** Mean squared error of the served prediction and of identity against the target latents at horizon h. */
function servedErrors(m: Parameters<typeof encode>[0], h: number): { model: number; identity: number } {
  const L = m.config.latentDim;
  const z = encode(m, seq);
  const zt = encodeTarget(m, seq);
  const n = T - h;
  const zhat = predict(m, z.subarray(0, n * L), new Float32Array(n).fill(h));
  let e = 0;
  let id = 0;
  for (let i = 0; i < n * L; i++) {
    e += (zhat[i]! - zt[i + h * L]!) ** 2;
    id += (zt[i]! - zt[i + h * L]!) ** 2;
  }
  return { model: e / (n * L), identity: id / (n * L) };
}

describe("residualBase 'target'", () => {
  it('learns a change the served model (z̄ + s·MLP) uses: beats identity on a learnable sequence', async () => {
    const r = await trainWorldModel({ sampler: sampler() }, { epochs: 25, seed: 3 });
    try {
      expect(r.trainingConfig.residualBase).toBe('target');
      // (The loss itself is no yardstick here: the targets move as the EMA encoder spreads the latents.)
      const e = servedErrors(r.model, 10);
      expect(e.model, JSON.stringify(e)).toBeLessThan(0.7 * e.identity);
    } finally {
      r.model.dispose();
    }
  });

  it("is the default, differs from 'online', and unknown values are rejected with a code", async () => {
    const a = await trainWorldModel({ sampler: sampler() }, { epochs: 1, seed: 3, residualBase: 'online' });
    const b = await trainWorldModel({ sampler: sampler() }, { epochs: 1, seed: 3 });
    try {
      expect(a.trainingConfig.residualBase).toBe('online');
      expect(b.trainingConfig.residualBase).toBe('target');
      expect(a.model.getWeights().predictor.fc2.w).not.toEqual(b.model.getWeights().predictor.fc2.w);
    } finally {
      a.model.dispose();
      b.model.dispose();
    }
    await expect(trainWorldModel({ sampler: sampler() }, { epochs: 1, residualBase: 'both' as 'online' })).rejects.toMatchObject({
      code: ModelErrorCode.INVALID_ARGS,
    });
  });
});
