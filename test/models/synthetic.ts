// Synthetic learnable sequences for model tests that need a known, exact structure (not human motion).
import { createRng } from '../../models/rng.js';
import type { TransitionBatch, TransitionSampler } from '../../models/types.js';

/**
 * T×F sinusoids: column j = sin(ω_j·t + φ_j) with a few frequencies; the future at Δh is a fixed
 * function of the present phase, so a predictor can learn it.
 */
export function sinusoidSequence(T: number, F: number, seed = 1): Float32Array {
  const rng = createRng(seed);
  const omegas = [0.05, 0.11, 0.23];
  const x = new Float32Array(T * F);
  const params = Array.from({ length: F }, (_, j) => ({ w: omegas[j % omegas.length] ?? 0.05, p: rng.next() * 2 * Math.PI, a: 0.5 + rng.next() }));
  for (let t = 0; t < T; t++) {
    for (let j = 0; j < F; j++) {
      const q = params[j];
      if (q) x[t * F + j] = q.a * Math.sin(q.w * t + q.p);
    }
  }
  return x;
}

/** A seeded sampler over one sequence: samplesPerEpoch random (t, Δh ≤ maxDh) pairs per epoch. */
export function sequenceSampler(x: Float32Array, F: number, opts: { samplesPerEpoch: number; maxDh: number; seed: number }): TransitionSampler {
  const T = x.length / F;
  return {
    featureDim: F,
    *epoch(epochIndex: number, batchSize: number): Iterable<TransitionBatch> {
      const rng = createRng(opts.seed * 1000 + epochIndex);
      for (let start = 0; start < opts.samplesPerEpoch; start += batchSize) {
        const size = Math.min(batchSize, opts.samplesPerEpoch - start);
        const bx = new Float32Array(size * F);
        const by = new Float32Array(size * F);
        const dh = new Float32Array(size);
        for (let i = 0; i < size; i++) {
          const h = 1 + Math.floor(rng.next() * opts.maxDh);
          const t = Math.floor(rng.next() * (T - h));
          dh[i] = h;
          bx.set(x.subarray(t * F, (t + 1) * F), i * F);
          by.set(x.subarray((t + h) * F, (t + h + 1) * F), i * F);
        }
        yield { size, x: bx, dh, y: by };
      }
    },
  };
}
