/**
 * What planning needs from a world model, as plain arrays: encode frames, predict latents Δh frames ahead
 * (direct, one call per horizon — never autoregressive), the same with MC-dropout passes, and the probe
 * decoder's linear map. Planning code stays plain math over this interface; `planningModel` binds a
 * WorldModel + probe to it.
 */
import * as tf from '@tensorflow/tfjs-core';
import { normalizeRows } from '../dataset.js';
import { ModelError, ModelErrorCode } from '../errors.js';

import { decodePoses, type ProbeDecoder } from '../probe-decoder.js';
import { POSE_DIM } from '../probe-pose.js';
import { createRng, dropoutMask } from '../rng.js';
import type { Normalization } from '../types.js';
import { encode, predict, predictorForward, scaleHorizon, type WorldModel } from '../world-model.js';

export interface PlanningModel {
  readonly latentDim: number;
  /** Raw (un-normalised) features n × F → online latents n × L, dropout off. */
  encode(x: Float32Array): Float32Array;
  /** ẑ for n rows: latent z (n × L) and horizon dh (n frames, ≥ 1), dropout off. */
  predict(z: Float32Array, dh: Float32Array): Float32Array;
  /** P MC-dropout passes of the predictor on the same rows: P arrays of n × L (pass-major). */
  predictPasses(z: Float32Array, dh: Float32Array, passes: number, seed: number): Float32Array[];
  /** Probe decoder: latents n × L → canonical poses n × 60 (root-relative, heading-aligned). */
  decode(z: Float32Array): Float32Array;
}

/** Rows per tf call: bounds the hidden activations (4096 × 10 passes × 128 floats ≈ 20 MB). */
const CHUNK = 4096;
/** Below this many rows the JS loop is cheaper than a tf call. */
const DECODE_TF_MIN_ROWS = 64;

export function planningModel(model: WorldModel, norm: Normalization, probe: ProbeDecoder): PlanningModel {
  const L = model.config.latentDim;
  if (probe.latentDim !== L) throw new ModelError(ModelErrorCode.SHAPE_MISMATCH, `probe latent ${probe.latentDim} ≠ model latent ${L}`);
  const H = model.config.hiddenDim;
  return {
    latentDim: L,
    encode: (x) => encode(model, normalizeRows(x, norm)),
    predict: (z, dh) => chunked(z, dh, L, (zc, dc) => predict(model, zc, dc)),
    predictPasses(z, dh, passes, seed) {
      if (!Number.isInteger(passes) || passes < 1) throw new ModelError(ModelErrorCode.INVALID_ARGS, `passes must be a positive integer, got ${passes}`);
      const rng = createRng(seed);
      const n = dh.length;
      const out = Array.from({ length: passes }, () => new Float32Array(n * L));
      for (let s = 0; s < n; s += CHUNK) {
        const e = Math.min(n, s + CHUNK);
        const m = e - s;
        const mask = dropoutMask(rng, passes * m * H, model.config.dropout);
        const sc = Float32Array.from(dh.subarray(s, e), (h) => scaleHorizon(h, model.config.horizonScaling));
        const res = tf.tidy(() => {
          const zt = tf.tile(tf.tensor2d(z.subarray(s * L, e * L), [m, L]), [passes, 1]) as tf.Tensor2D;
          const st = tf.tile(tf.tensor2d(sc, [m, 1]), [passes, 1]) as tf.Tensor2D;
          return predictorForward(model.predictor, zt, st, tf.tensor2d(mask, [passes * m, H]), undefined, model.config.residual);
        });
        try {
          const data = res.dataSync() as Float32Array;
          for (let p = 0; p < passes; p++) out[p]!.set(data.subarray(p * m * L, (p + 1) * m * L), s * L);
        } finally {
          res.dispose();
        }
      }
      return out;
    },
    decode(z) {
      // The probe as one tf matmul (same numbers as decodePoses, which loops in JS): planning decodes
      // tens of thousands of rows per plan, and this is where its time went.
      const n = z.length / L;
      if (n < DECODE_TF_MIN_ROWS) return decodePoses(probe, z);
      const out = tf.tidy(() =>
        tf.minimum(
          tf.maximum(tf.add(tf.matMul(tf.tensor2d(z, [n, L]), tf.tensor2d(probe.weights, [L, POSE_DIM])), tf.tensor1d(probe.bias)), tf.tensor1d(probe.lo)),
          tf.tensor1d(probe.hi),
        ),
      );
      try {
        return (out.dataSync() as Float32Array).slice();
      } finally {
        out.dispose();
      }
    },
  };
}

function chunked(z: Float32Array, dh: Float32Array, L: number, f: (z: Float32Array, dh: Float32Array) => Float32Array): Float32Array {
  const n = dh.length;
  if (n <= CHUNK) return f(z, dh);
  const out = new Float32Array(n * L);
  for (let s = 0; s < n; s += CHUNK) {
    const e = Math.min(n, s + CHUNK);
    out.set(f(z.subarray(s * L, e * L), dh.subarray(s, e)), s * L);
  }
  return out;
}
