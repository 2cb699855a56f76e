/**
 * Which probe decoder: closed-form ridge (models/probe-decoder.ts) or a small MLP (latent → 128 ReLU → 60,
 * masked MSE, Adam, full batch) — measured on held-out frames of the same recording. Both decode the
 * target-encoder latent of a frame into that frame's canonical pose, so the number is the probe's own
 * floor under pose_mm.
 */
import * as tf from '@tensorflow/tfjs-core';
import { normalizeRows } from '../dataset.js';
import type { EvaluableModel } from '../evaluate.js';
import { ensureGradients } from '../gradients.js';
import { decodePoses, fitProbeDecoder } from '../probe-decoder.js';
import { canonicalPoses, mpjpe, POSE_DIM } from '../probe-pose.js';
import { createRng, uniformArray } from '../rng.js';
import { median } from '../stats.js';
import type { FeatureSequence, Normalization } from '../types.js';

export const MLP_HIDDEN = 128;
export const MLP_STEPS = 600;
export const MLP_LR = 3e-3;

function stack(model: EvaluableModel, seqs: readonly FeatureSequence[], norm: Normalization): { z: Float32Array; pose: Float32Array } {
  const zs = seqs.map((s) => model.encodeTarget(normalizeRows(s.x, norm)));
  const ps = seqs.map((s) => canonicalPoses(s.poses));
  const cat = (a: Float32Array[]): Float32Array => {
    const out = new Float32Array(a.reduce((n, p) => n + p.length, 0));
    let o = 0;
    for (const p of a) {
      out.set(p, o);
      o += p.length;
    }
    return out;
  };
  return { z: cat(zs), pose: cat(ps) };
}

/** Trains the MLP probe and returns decoded held-out poses (NaN where the training frames never had the joint). */
export function mlpProbe(zTrain: Float32Array, poseTrain: Float32Array, zTest: Float32Array, d: number, seed: number): Float32Array {
  ensureGradients();
  const nTr = zTrain.length / d;
  const nTe = zTest.length / d;
  const mask = Float32Array.from(poseTrain, (v) => (Number.isFinite(v) ? 1 : 0));
  const y = Float32Array.from(poseTrain, (v) => (Number.isFinite(v) ? v : 0));
  const seen = new Float32Array(POSE_DIM);
  for (let i = 0; i < mask.length; i++) seen[i % POSE_DIM] = Math.max(seen[i % POSE_DIM]!, mask[i]!);
  const rng = createRng(seed);
  const lim1 = Math.sqrt(6 / (d + MLP_HIDDEN));
  const lim2 = Math.sqrt(6 / (MLP_HIDDEN + POSE_DIM));
  const w1 = tf.variable(tf.tensor2d(uniformArray(rng, d * MLP_HIDDEN, -lim1, lim1), [d, MLP_HIDDEN]));
  const b1 = tf.variable(tf.zeros([MLP_HIDDEN]));
  const w2 = tf.variable(tf.tensor2d(uniformArray(rng, MLP_HIDDEN * POSE_DIM, -lim2, lim2), [MLP_HIDDEN, POSE_DIM]));
  // Output bias starts at the per-coordinate mean pose, so early steps learn shape, not offset.
  const meanPose = new Float32Array(POSE_DIM);
  for (let k = 0; k < POSE_DIM; k++) {
    let s = 0;
    let c = 0;
    for (let i = 0; i < nTr; i++) {
      s += y[i * POSE_DIM + k]!;
      c += mask[i * POSE_DIM + k]!;
    }
    meanPose[k] = c > 0 ? s / c : 0;
  }
  const b2 = tf.variable(tf.tensor1d(meanPose));
  const vars = [w1, b1, w2, b2];
  const opt = tf.train.adam(MLP_LR);
  const xT = tf.tensor2d(zTrain, [nTr, d]);
  const yT = tf.tensor2d(y, [nTr, POSE_DIM]);
  const mT = tf.tensor2d(mask, [nTr, POSE_DIM]);
  const scale =
    (nTr * POSE_DIM) /
    Math.max(
      1,
      mask.reduce((a, b) => a + b, 0),
    );
  const forward = (x: tf.Tensor2D): tf.Tensor2D => tf.add(tf.matMul(tf.relu(tf.add(tf.matMul(x, w1), b1)), w2), b2);
  try {
    for (let s = 0; s < MLP_STEPS; s++) {
      tf.tidy(() => {
        const { grads } = tf.variableGrads(() => tf.mul(tf.mean(tf.square(tf.mul(tf.sub(forward(xT), yT), mT))), scale) as tf.Scalar, vars);
        opt.applyGradients(Object.entries(grads).map(([name, tensor]) => ({ name, tensor })));
      });
    }
    const out = tf.tidy(() => forward(tf.tensor2d(zTest, [nTe, d])));
    const pred = (out.dataSync() as Float32Array).slice();
    out.dispose();
    for (let i = 0; i < pred.length; i++) if (seen[i % POSE_DIM] === 0) pred[i] = Number.NaN;
    return pred;
  } finally {
    tf.dispose([...vars, xT, yT, mT]);
    opt.dispose();
  }
}

export async function compareProbes(
  model: EvaluableModel,
  train: readonly FeatureSequence[],
  test: readonly FeatureSequence[],
  norm: Normalization,
  repeats: number,
): Promise<{ ridge_mm: number; ridge_seconds: number; mlp_mm: number; mlp_seconds: number; mlp_runs_mm: number[]; test_frames: number }> {
  const tr = stack(model, train, norm);
  const te = stack(model, test, norm);
  const d = model.latentDim;
  let t0 = performance.now();
  const ridge = fitProbeDecoder(tr.z, tr.pose, d);
  const ridgeSeconds = (performance.now() - t0) / 1000;
  const ridgeMm = mpjpe(decodePoses(ridge, te.z), te.pose).mm;
  const runs: number[] = [];
  const secs: number[] = [];
  for (let r = 0; r < repeats; r++) {
    t0 = performance.now();
    const pred = mlpProbe(tr.z, tr.pose, te.z, d, r);
    secs.push((performance.now() - t0) / 1000);
    runs.push(mpjpe(pred, te.pose).mm);
    await Promise.resolve();
  }
  return { ridge_mm: ridgeMm, ridge_seconds: ridgeSeconds, mlp_mm: median(runs), mlp_seconds: median(secs), mlp_runs_mm: runs, test_frames: te.z.length / d };
}
