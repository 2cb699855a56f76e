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
import { createRng, dropoutMask, dropoutMaskInto } from '../rng.js';
import type { Normalization } from '../types.js';
import { encode, predict, scaleHorizon, type WorldModel } from '../world-model.js';

export interface PlanningModel {
  readonly latentDim: number;
  /** Raw (un-normalised) features n × F → online latents n × L, dropout off. */
  encode(x: Float32Array): Float32Array;
  /** ẑ for n rows: latent z (n × L) and horizon dh (n frames, ≥ 1), dropout off. */
  predict(z: Float32Array, dh: Float32Array): Float32Array;
  /**
   * ẑ for n rows each moved by K latent offsets: z (n × L), dh (n), deltas (K × L) → K × n × L
   * (offset-major), = predict(z_i + δ_k, dh_i), dropout off. Planning asks this for the same rows under
   * many offsets, and the predictor's first layer is linear in z, so (z_i + δ_k)·W = z_i·W + δ_k·W is
   * computed as n + K rows instead of n·K: the layer that was ~40 % of a plan's arithmetic.
   */
  predictOffsets(z: Float32Array, dh: Float32Array, deltas: Float32Array): Float32Array;
  /**
   * decode(predictOffsets(z, dh, deltas)) → K × n × 60 poses, where dh_i = 0 decodes z_i + δ_k itself.
   * For a residual model the predictor's last layer and the (linear) probe are folded into one matrix,
   * so a row costs hidden × 60 multiplications instead of hidden × L + L × 60.
   */
  decodeOffsets(z: Float32Array, dh: Float32Array, deltas: Float32Array): Float32Array;
  /**
   * P MC-dropout passes of the predictor on the same rows: P arrays of n × L (pass-major). Masks come
   * from one stream per call (seed), or with `rowKeys` from one stream per row (seed, rowKeys[i]): then
   * a row's passes are the same whichever other rows are in the call.
   */
  predictPasses(z: Float32Array, dh: Float32Array, passes: number, seed: number, rowKeys?: Uint32Array): Float32Array[];
  /**
   * decode of each of predictPasses' passes (P arrays of n × 60), where dh_i = 0 decodes z_i itself; the
   * same dropout masks as predictPasses with that seed (and rowKeys). Folded like decodeOffsets for a
   * residual model.
   */
  decodePasses(z: Float32Array, dh: Float32Array, passes: number, seed: number, rowKeys?: Uint32Array): Float32Array[];
  /** Probe decoder: latents n × L → canonical poses n × 60 (root-relative, heading-aligned). */
  decode(z: Float32Array): Float32Array;
}

/** Rows per tf call: bounds the hidden activations (4096 × 10 passes × 128 floats ≈ 20 MB). */
const CHUNK = 4096;
/** Rows (offsets × rows) per predictOffsets tf call: bounds its hidden activations (16384 × 128 floats = 8 MB). */
const OFFSET_ROWS = 16384;
/** Below this many rows the JS loop is cheaper than a tf call. */
const DECODE_TF_MIN_ROWS = 64;

export function planningModel(model: WorldModel, norm: Normalization, probe: ProbeDecoder): PlanningModel {
  const L = model.config.latentDim;
  if (probe.latentDim !== L) throw new ModelError(ModelErrorCode.SHAPE_MISMATCH, `probe latent ${probe.latentDim} ≠ model latent ${L}`);
  const H = model.config.hiddenDim;
  const p = model.predictor;

  /**
   * The predictor's hidden layer for n rows under K offsets (K·n rows, offset-major) and what `head`
   * makes of it, in chunks of offsets. The first layer on [z_i + δ_k; s_i] is z_i·W_z + s_i·w_s + b
   * per row plus δ_k·W_z per offset: n + K rows of it instead of n·K.
   */
  const overOffsets = (
    z: Float32Array,
    dh: Float32Array,
    deltas: Float32Array,
    width: number,
    head: (t: { zt: tf.Tensor2D; dt: tf.Tensor2D; hid: tf.Tensor2D; n: number; k: number }) => tf.Tensor,
  ): Float32Array => {
    const n = dh.length;
    const K = deltas.length / L;
    if (z.length !== n * L || !Number.isInteger(K))
      throw new ModelError(ModelErrorCode.SHAPE_MISMATCH, `${z.length} latent values for ${n} rows, ${deltas.length} offset values (L = ${L})`);
    const out = new Float32Array(K * n * width);
    const sc = Float32Array.from(dh, (h) => scaleHorizon(Math.max(1, h), model.config.horizonScaling));
    const per = Math.max(1, Math.floor(OFFSET_ROWS / Math.max(1, n)));
    for (let k0 = 0; k0 < K; k0 += per) {
      const k1 = Math.min(K, k0 + per);
      const k = k1 - k0;
      const res = tf.tidy(() => {
        const w1z = tf.slice(p.w1, [0, 0], [L, H]);
        const zt = tf.tensor2d(z, [n, L]);
        const dt = tf.tensor2d(deltas.subarray(k0 * L, k1 * L), [k, L]);
        const pre = tf.add(tf.add(tf.matMul(zt, w1z), tf.matMul(tf.tensor2d(sc, [n, 1]), tf.slice(p.w1, [L, 0], [1, H]))), p.b1);
        const hid = tf.reshape(tf.relu(tf.add(tf.reshape(pre, [1, n, H]), tf.reshape(tf.matMul(dt, w1z), [k, 1, H]))), [k * n, H]) as tf.Tensor2D;
        return head({ zt, dt, hid, n, k });
      });
      try {
        out.set(res.dataSync() as Float32Array, k0 * n * width);
      } finally {
        res.dispose();
      }
    }
    return out;
  };
  /** Rows moved by offsets, offset-major: (z_i + δ_k) as tensor of K·n × L. */
  const movedRows = (zt: tf.Tensor2D, dt: tf.Tensor2D, n: number, k: number): tf.Tensor2D =>
    tf.reshape(tf.add(tf.reshape(zt, [1, n, L]), tf.reshape(dt, [k, 1, L])), [k * n, L]);

  const predictOffsets = (z: Float32Array, dh: Float32Array, deltas: Float32Array): Float32Array => {
    const sc = Float32Array.from(dh, (h) => scaleHorizon(h, model.config.horizonScaling));
    return overOffsets(z, dh, deltas, L, ({ zt, dt, hid, n, k }) => {
      const d = tf.add(tf.matMul(hid, p.w2), p.b2);
      return model.config.residual ? tf.add(movedRows(zt, dt, n, k), tf.mul(d, tf.tile(tf.tensor2d(sc, [n, 1]), [k, 1]))) : d;
    });
  };

  const decode = (z: Float32Array): Float32Array => {
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
  };

  const decodeOffsets = (z: Float32Array, dh: Float32Array, deltas: Float32Array): Float32Array => {
    if (!model.config.residual) {
      const pred = predictOffsets(
        z,
        Float32Array.from(dh, (h) => Math.max(1, h)),
        deltas,
      );
      const n = dh.length;
      for (let j = 0; j < pred.length / L; j++)
        if (dh[j % n] === 0) for (let d = 0; d < L; d++) pred[j * L + d] = z[(j % n) * L + d]! + deltas[Math.floor(j / n) * L + d]!;
      return decode(pred);
    }
    // pose = clip((z + δ)·P + b_P + s·(hid·(W₂·P) + b₂·P)): the residual change decoded in one step; at
    // dh = 0 the change is weighted 0 (s = 0), leaving the decoded latent itself.
    const s0 = Float32Array.from(dh, (h) => (h === 0 ? 0 : scaleHorizon(h, model.config.horizonScaling)));
    return overOffsets(z, dh, deltas, POSE_DIM, ({ zt, dt, hid, n, k }) => {
      const wp = tf.tensor2d(probe.weights, [L, POSE_DIM]);
      const change = tf.mul(tf.add(tf.matMul(hid, tf.matMul(p.w2, wp)), tf.matMul(tf.reshape(p.b2, [1, L]), wp)), tf.tile(tf.tensor2d(s0, [n, 1]), [k, 1]));
      const base = tf.add(tf.matMul(movedRows(zt, dt, n, k), wp), tf.tensor1d(probe.bias));
      return tf.minimum(tf.maximum(tf.add(base, change), tf.tensor1d(probe.lo)), tf.tensor1d(probe.hi));
    });
  };

  /**
   * MC-dropout passes over n rows in chunks of CHUNK, as latents or, folded like decodeOffsets, as poses.
   * Masks: without rowKeys drawn per chunk from one stream (so a seed gives the same masks whatever is
   * asked); with rowKeys each row's P × H entries from its own stream, so a subset of rows gets exactly
   * the passes it gets in a larger call (planning runs MC only on the rows an answer reads). The first
   * layer comes before dropout, so it is the same in every pass: computed once per row and broadcast
   * over the passes (tf.tile of the hidden layer cost ~0.3 s per 3700 rows on wasm; a broadcast, ~10 ms).
   */
  const overPasses = (
    z: Float32Array,
    dh: Float32Array,
    passes: number,
    seed: number,
    width: number,
    head: 'latent' | 'pose',
    rowKeys?: Uint32Array,
  ): Float32Array[] => {
    if (!Number.isInteger(passes) || passes < 1) throw new ModelError(ModelErrorCode.INVALID_ARGS, `passes must be a positive integer, got ${passes}`);
    const n = dh.length;
    if (rowKeys && rowKeys.length !== n) throw new ModelError(ModelErrorCode.SHAPE_MISMATCH, `${rowKeys.length} row keys for ${n} rows`);
    const rng = createRng(seed);
    const out = Array.from({ length: passes }, () => new Float32Array(n * width));
    for (let s = 0; s < n; s += CHUNK) {
      const e = Math.min(n, s + CHUNK);
      const m = e - s;
      const mask = rowKeys ? rowMasks(rowKeys.subarray(s, e), passes, seed) : dropoutMask(rng, passes * m * H, model.config.dropout);
      const sc = Float32Array.from(dh.subarray(s, e), (h) => scaleHorizon(Math.max(1, h), model.config.horizonScaling));
      const res = tf.tidy(() => {
        const zt = tf.tensor2d(z.subarray(s * L, e * L), [m, L]);
        const st = tf.tensor2d(sc, [m, 1]);
        // [1, m, ·] against [P, m, ·]: the same row in every pass, without materialising P copies.
        const perPass = (t: tf.Tensor2D): tf.Tensor3D => tf.reshape(t, [1, m, t.shape[1]]);
        const pre = tf.relu(tf.add(tf.matMul(tf.concat([zt, st], 1), p.w1), p.b1)) as tf.Tensor2D;
        const hid = tf.reshape(tf.mul(perPass(pre), tf.tensor3d(mask, [passes, m, H])), [passes * m, H]);
        if (head === 'latent') {
          const d = tf.reshape(tf.add(tf.matMul(hid, p.w2), p.b2), [passes, m, L]);
          return model.config.residual ? tf.add(perPass(zt), tf.mul(d, perPass(st))) : d;
        }
        const s0 = Float32Array.from(dh.subarray(s, e), (h, i) => (h === 0 ? 0 : sc[i]!));
        const wp = tf.tensor2d(probe.weights, [L, POSE_DIM]);
        const change = tf.mul(
          tf.reshape(tf.add(tf.matMul(hid, tf.matMul(p.w2, wp)), tf.matMul(tf.reshape(p.b2, [1, L]), wp)), [passes, m, POSE_DIM]),
          perPass(tf.tensor2d(s0, [m, 1])),
        );
        const base = perPass(tf.add(tf.matMul(zt, wp), tf.tensor1d(probe.bias)) as tf.Tensor2D);
        return tf.minimum(tf.maximum(tf.add(base, change), tf.tensor1d(probe.lo)), tf.tensor1d(probe.hi));
      });
      try {
        const data = res.dataSync() as Float32Array;
        for (let q = 0; q < passes; q++) out[q]!.set(data.subarray(q * m * width, (q + 1) * m * width), s * width);
      } finally {
        res.dispose();
      }
    }
    return out;
  };

  /** Pass-major masks (P × m × H) for rows with their own streams: row i's P × H entries from (seed, keys[i]). */
  const rowMasks = (keys: Uint32Array, passes: number, seed: number): Float32Array => {
    const m = keys.length;
    const out = new Float32Array(passes * m * H);
    const row = new Float32Array(passes * H);
    for (let i = 0; i < m; i++) {
      dropoutMaskInto(createRng((Math.imul(seed, 0x9e3779b1) ^ keys[i]!) >>> 0), row, model.config.dropout);
      // A plain copy loop: a subarray + set per (row, pass) cost as much as drawing the mask.
      for (let q = 0; q < passes; q++) {
        const dst = (q * m + i) * H;
        const src = q * H;
        for (let h = 0; h < H; h++) out[dst + h] = row[src + h]!;
      }
    }
    return out;
  };

  const decodePasses = (z: Float32Array, dh: Float32Array, passes: number, seed: number, rowKeys?: Uint32Array): Float32Array[] => {
    if (model.config.residual) return overPasses(z, dh, passes, seed, POSE_DIM, 'pose', rowKeys);
    const n = dh.length;
    return overPasses(z, dh, passes, seed, L, 'latent', rowKeys).map((pred) => {
      for (let i = 0; i < n; i++) if (dh[i] === 0) pred.set(z.subarray(i * L, (i + 1) * L), i * L);
      return decode(pred);
    });
  };

  return {
    latentDim: L,
    encode: (x) => encode(model, normalizeRows(x, norm)),
    predict: (z, dh) => chunked(z, dh, L, (zc, dc) => predict(model, zc, dc)),
    predictOffsets,
    decodeOffsets,
    predictPasses: (z, dh, passes, seed, rowKeys) => overPasses(z, dh, passes, seed, L, 'latent', rowKeys),
    decodePasses,
    decode,
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
