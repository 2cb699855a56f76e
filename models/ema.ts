/**
 * Exponential moving average of the online encoder into the target encoder (BYOL/I-JEPA style):
 * target ← τ·target + (1−τ)·online. The target gets no gradient; this is its only update.
 */
import * as tf from '@tensorflow/tfjs-core';
import { ModelError, ModelErrorCode } from './errors.js';
import type { MlpParams } from './world-model.js';

/** DESIGN.md: τ = 0.996. */
export const DEFAULT_EMA_TAU = 0.996;

/**
 * 'constant': τ throughout. 'cosine': τ rises from τ0 to 1 over training,
 * τ_k = 1 − (1 − τ0)·(cos(πk/K) + 1)/2, so the target settles as the online encoder converges.
 */
export type EmaSchedule = 'constant' | 'cosine';

export function emaTau(base: number, schedule: EmaSchedule, step: number, totalSteps: number): number {
  if (!(base >= 0 && base <= 1)) throw new ModelError(ModelErrorCode.INVALID_ARGS, `EMA tau must be in [0, 1], got ${base}`);
  if (schedule === 'constant' || totalSteps <= 0) return base;
  const k = Math.min(Math.max(step, 0), totalSteps);
  return 1 - ((1 - base) * (Math.cos((Math.PI * k) / totalSteps) + 1)) / 2;
}

/** In place: every target parameter moves a (1−τ) step towards the online one. */
export function emaUpdate(target: MlpParams, online: MlpParams, tau: number): void {
  tf.tidy(() => {
    for (const k of ['w1', 'b1', 'w2', 'b2'] as const) {
      target[k].assign(tf.add(tf.mul(target[k], tau), tf.mul(online[k], 1 - tau)));
    }
  });
}
