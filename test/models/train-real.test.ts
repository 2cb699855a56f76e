// The world model on a real recording (fukuchi treadmill walking, through the live feature pipeline):
// trained on the first 1000 frames, it must predict held-out future latents better than "nothing
// changes" at every evaluated horizon, without collapsing its latents.
import { beforeAll, describe, expect, it } from 'vitest';
import { selectBackend } from '../../models/backend.js';
import { loadFeatureSequence, sliceSequence } from '../../models/feature-sequences.js';
import { PATIENT_SPEC } from '../../models/bench/recordings.js';
import { computeNormalization, createTransitionSampler, normalizeRows } from '../../models/dataset.js';
import { trainWorldModel } from '../../models/train.js';
import { encode, encodeTarget, predict } from '../../models/world-model.js';
import { hasMotionData } from '../helpers/motion-data.js';

beforeAll(async () => {
  await selectBackend('wasm');
});

/** Normalised MSE of predictions and of the identity baseline against the target latents at horizon h. */
function heldOut(model: Parameters<typeof encode>[0], xn: Float32Array, F: number, h: number): { model: number; identity: number; minStd: number } {
  const n = xn.length / F - h;
  const z = encode(model, xn.slice(0, n * F));
  const target = encodeTarget(model, xn.slice(h * F, (h + n) * F));
  const now = encodeTarget(model, xn.slice(0, n * F));
  const zh = predict(model, z, new Float32Array(n).fill(h));
  const L = 64;
  const mean = new Float64Array(L);
  for (let i = 0; i < target.length; i++) mean[i % L] = (mean[i % L] ?? 0) + (target[i] ?? 0) / n;
  const varDim = new Float64Array(L);
  let e = 0;
  let ei = 0;
  for (let i = 0; i < target.length; i++) {
    const t = target[i] ?? 0;
    e += ((zh[i] ?? 0) - t) ** 2;
    ei += ((now[i] ?? 0) - t) ** 2;
    varDim[i % L] = (varDim[i % L] ?? 0) + (t - (mean[i % L] ?? 0)) ** 2 / n;
  }
  const v = varDim.reduce((a, b) => a + b, 0) * n;
  return { model: e / v, identity: ei / v, minStd: Math.sqrt(Math.min(...varDim)) };
}

describe.skipIf(!hasMotionData)('world model on a real gait recording', () => {
  it('beats the identity baseline on held-out frames at Δh = 1, 5, 10 and 30 frames', async () => {
    const full = await loadFeatureSequence(PATIENT_SPEC);
    expect(full.t.length).toBeGreaterThan(1500);
    const F = full.names.length;
    const train = sliceSequence(full, 0, 1000);
    const test = sliceSequence(full, 1000, full.t.length);
    const norm = computeNormalization([train]);
    const sampler = createTransitionSampler([train], norm, { seed: 1 });
    const r = await trainWorldModel({ sampler }, { epochs: 20, seed: 1 });
    try {
      // No loss check: with the default residualBase 'target' the targets spread as the EMA encoder
      // learns (the loss rose 0.012 → 0.14 here while every held-out ratio below improved).
      const xn = normalizeRows(test.x, norm);
      for (const h of [1, 5, 10, 30]) {
        const m = heldOut(r.model, xn, F, h);
        // Residual predictor: better than "nothing changes" at every horizon, clearly so at 30 frames
        // (measured ratios 0.86, 0.72, 0.57, 0.34 at Δh = 1, 5, 10, 30 with the defaults: residualBase
        // 'target', Δh ≤ 30; 0.99, 0.94, 0.86, 0.47 before, with the online base and Δh up to 999).
        expect(m.model).toBeLessThan(m.identity * (h === 30 ? 0.7 : 1));
        expect(m.minStd).toBeGreaterThan(1e-3); // no latent dimension collapsed to a constant
      }
    } finally {
      r.model.dispose();
    }
  }, 120_000);
});
