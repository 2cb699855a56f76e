/**
 * Honest evaluation of a world model on HELD-OUT sequences (DESIGN.md "World model"): latent error against
 * the identity baseline, pose error in mm through the probe decoder against zero- and constant-velocity
 * baselines, collapse indicators and how MC-dropout uncertainty tracks the actual error.
 *
 * Definitions (all pooled over every held-out sequence):
 * - Evaluation points per horizon h: every frame t with 1 ≤ t and t + h < T (t ≥ 1 so the
 *   constant-velocity baseline has a previous frame), evenly thinned to `maxPointsPerHorizon`. All
 *   metrics of one horizon use the same points.
 * - Targets z̄_{t+h} = target encoder(x_{t+h}) — what training regresses onto. ẑ = predictor(encoder(x_t), h)
 *   with dropout off. latent_mse = mean over points and dims of (ẑ − z̄)². normalized_mse divides by the
 *   targets' mean per-dimension variance (1.0 = no better than predicting the mean latent; a collapsed
 *   target space cannot score well because its variance goes to 0 too).
 * - Identity baseline ẑ = z̄_t (the target encoder's latent of the current frame, so it lives in the
 *   target space and errs only by what actually changes in h frames).
 * - Poses are canonical (probe-pose.ts: root-relative, yaw-aligned to the pelvis), metres → mm, MPJPE
 *   over non-root joints finite in both. pose_mm = MPJPE(pose_t + probe(ẑ) − probe(z̄_t), pose_{t+h}): the
 *   probe decodes the predicted CHANGE, starting from the pose the baselines start from too, so a probe's
 *   constant offset on a body it never saw cancels and what is scored is the predicted motion (a model
 *   that predicts nothing useful adds noise to pose_t and loses to zero velocity). pose_abs_mm =
 *   MPJPE(probe(ẑ), pose_{t+h}) is reported beside it: the probe's absolute reading. zero_velocity_mm =
 *   MPJPE(pose_t, pose_{t+h}); constant_velocity_mm extrapolates pose_t + (pose_t − pose_{t−1}) ·
 *   (τ_{t+h} − τ_t)/(τ_t − τ_{t−1}) with the frames' own timestamps τ.
 * - uncertainty_spearman: per horizon, Spearman ρ between the MC-dropout uncertainty and the squared
 *   error of the MC mean prediction (what the live service serves); the mean of the per-horizon ρ is
 *   reported — pooling horizons would let "long horizons are harder" alone produce a high ρ.
 * - collapse: effective rank and min per-dim std of the online encoder's latents of all held-out frames.
 */
import { normalizeRows } from './dataset.js';
import { ModelError, ModelErrorCode } from './errors.js';
import { decodePoses, fitProbeDecoder, type ProbeArgs, type ProbeDecoder } from './probe-decoder.js';
import { canonicalPoses, mpjpe, POSE_DIM } from './probe-pose.js';
import { columnMoments, effectiveRank, meanColumnVariance, meanSquaredError, spearman } from './stats.js';
import type { FeatureSequence, Normalization } from './types.js';

/** Horizons (frames) every report carries. */
export const EVAL_HORIZONS = [1, 5, 10, 30] as const;
/** Points per horizon; 4000 × 64 dims keeps MC evaluation of several recordings to seconds. */
export const DEFAULT_MAX_POINTS_PER_HORIZON = 4000;

/** What the evaluation needs from a model (adapters for WorldModel live beside the model core). */
export interface EvaluableModel {
  readonly backend: string;
  readonly latentDim: number;
  /** Online encoder, dropout off; x normalised, n × F → n × latentDim. */
  encode(x: Float32Array): Float32Array;
  /** Target encoder, dropout off. */
  encodeTarget(x: Float32Array): Float32Array;
  /** Predictor, dropout off: per row latent z and horizon dh (frames). */
  predict(z: Float32Array, dh: Float32Array): Float32Array;
  /** MC-dropout for one horizon: mean predicted latent per row and per-row uncertainty. */
  mcPredict(x: Float32Array, horizon: number): { mean: Float32Array; uncertainty: Float32Array };
}

export interface HorizonReport {
  latent_mse: number;
  normalized_mse: number;
  identity_normalized_mse: number;
  pose_mm: number;
  /** Absolute probe reading of the prediction (includes the probe's own error on this body). */
  pose_abs_mm: number;
  zero_velocity_mm: number;
  constant_velocity_mm: number;
}

export interface EvaluationReport {
  backend: string;
  frames: number;
  horizons: Record<string, HorizonReport>;
  uncertainty_spearman: number;
  collapse: { effective_rank: number; min_dim_std: number };
}

export interface EvaluateArgs {
  readonly horizons?: readonly number[];
  readonly maxPointsPerHorizon?: number;
}

/** Fits the probe on training sequences' target-encoder latents (the space predictions live in). */
export function fitProbeForModel(model: EvaluableModel, train: readonly FeatureSequence[], norm: Normalization, args: ProbeArgs = {}): ProbeDecoder {
  const z: Float32Array[] = [];
  const p: Float32Array[] = [];
  for (const s of train) {
    z.push(model.encodeTarget(normalizeRows(s.x, norm)));
    p.push(canonicalPoses(s.poses));
  }
  return fitProbeDecoder(concat(z), concat(p), model.latentDim, args);
}

function concat(parts: readonly Float32Array[]): Float32Array {
  const out = new Float32Array(parts.reduce((a, p) => a + p.length, 0));
  let o = 0;
  for (const p of parts) {
    out.set(p, o);
    o += p.length;
  }
  return out;
}

/** Row gather: rows idx of an n × d matrix. */
function rows(m: Float32Array, d: number, idx: readonly number[]): Float32Array {
  const out = new Float32Array(idx.length * d);
  idx.forEach((r, i) => out.set(m.subarray(r * d, (r + 1) * d), i * d));
  return out;
}

export function evaluateWorldModel(
  model: EvaluableModel,
  heldOut: readonly FeatureSequence[],
  norm: Normalization,
  probe: ProbeDecoder,
  args: EvaluateArgs = {},
): EvaluationReport {
  if (heldOut.length === 0) throw new ModelError(ModelErrorCode.INVALID_ARGS, 'evaluation needs at least one held-out sequence');
  if (probe.latentDim !== model.latentDim)
    throw new ModelError(ModelErrorCode.SHAPE_MISMATCH, `probe latent ${probe.latentDim} ≠ model latent ${model.latentDim}`);
  const horizons = args.horizons ?? EVAL_HORIZONS;
  const cap = args.maxPointsPerHorizon ?? DEFAULT_MAX_POINTS_PER_HORIZON;
  const d = model.latentDim;
  const f = norm.mean.length;
  // Per sequence, once: normalised features, online and target latents, canonical poses.
  const per = heldOut.map((s) => {
    if (s.names.length !== f || s.names.some((n, i) => n !== norm.names[i])) {
      throw new ModelError(ModelErrorCode.FEATURE_MISMATCH, `${s.source.file}: feature columns differ from the model's normalisation`);
    }
    const x = normalizeRows(s.x, norm);
    return { s, x, z: model.encode(x), zt: model.encodeTarget(x), pose: canonicalPoses(s.poses) };
  });
  const frames = per.reduce((a, p) => a + p.s.t.length, 0);

  const report: Record<string, HorizonReport> = {};
  const rhos: number[] = [];
  for (const h of horizons) {
    // Candidate points, sequence-major, then evenly thinned (deterministic, covers every sequence).
    const all: { seq: number; t: number }[] = [];
    per.forEach((p, k) => {
      for (let t = 1; t + h < p.s.t.length; t++) all.push({ seq: k, t });
    });
    if (all.length === 0) throw new ModelError(ModelErrorCode.INVALID_ARGS, `no held-out sequence is longer than ${h + 1} frames (horizon ${h})`);
    const step = Math.max(1, all.length / cap);
    const points = Array.from({ length: Math.min(cap, all.length) }, (_, i) => all[Math.floor(i * step)]!);
    let se = 0;
    let seId = 0;
    let cnt = 0;
    const targets: Float32Array[] = [];
    const pose = { pred: [0, 0], abs: [0, 0], zero: [0, 0], cv: [0, 0] };
    const unc: number[] = [];
    const mcErr: number[] = [];
    per.forEach((p, k) => {
      const ts = points.filter((q) => q.seq === k).map((q) => q.t);
      if (ts.length === 0) return;
      const zNow = rows(p.z, d, ts);
      const target = rows(
        p.zt,
        d,
        ts.map((t) => t + h),
      );
      const zhat = model.predict(zNow, new Float32Array(ts.length).fill(h));
      se += meanSquaredError(zhat, target) * target.length;
      seId += meanSquaredError(rows(p.zt, d, ts), target) * target.length;
      cnt += target.length;
      targets.push(target);
      const truth = rows(
        p.pose,
        POSE_DIM,
        ts.map((t) => t + h),
      );
      const add = (acc: number[], pred: Float32Array): void => {
        const r = mpjpe(pred, truth);
        acc[0]! += r.sumMm;
        acc[1]! += r.count;
      };
      const now = rows(p.pose, POSE_DIM, ts);
      const decoded = decodePoses(probe, zhat);
      const decodedNow = decodePoses(probe, rows(p.zt, d, ts));
      add(pose.abs, decoded);
      add(
        pose.pred,
        decoded.map((v, i) => now[i]! + v - decodedNow[i]!),
      );
      add(pose.zero, now);
      const prev = rows(
        p.pose,
        POSE_DIM,
        ts.map((t) => t - 1),
      );
      const cv = new Float32Array(now.length);
      ts.forEach((t, i) => {
        const tau = p.s.t;
        const ratio = (tau[t + h]! - tau[t]!) / (tau[t]! - tau[t - 1]!);
        for (let c = 0; c < POSE_DIM; c++) {
          const o = i * POSE_DIM + c;
          cv[o] = now[o]! + (now[o]! - prev[o]!) * ratio;
        }
      });
      add(pose.cv, cv);
      const mc = model.mcPredict(rows(p.x, f, ts), h);
      for (let i = 0; i < ts.length; i++) {
        unc.push(mc.uncertainty[i]!);
        mcErr.push(meanSquaredError(mc.mean.subarray(i * d, (i + 1) * d), target.subarray(i * d, (i + 1) * d)));
      }
    });
    const allTargets = concat(targets);
    const variance = meanColumnVariance(allTargets, allTargets.length / d, d);
    const mm = (acc: number[]): number => (acc[1]! > 0 ? acc[0]! / acc[1]! : Number.NaN);
    report[String(h)] = {
      latent_mse: se / cnt,
      normalized_mse: se / cnt / variance,
      identity_normalized_mse: seId / cnt / variance,
      pose_mm: mm(pose.pred),
      pose_abs_mm: mm(pose.abs),
      zero_velocity_mm: mm(pose.zero),
      constant_velocity_mm: mm(pose.cv),
    };
    rhos.push(spearman(unc, mcErr));
  }
  const zAll = concat(per.map((p) => p.z));
  const { std } = columnMoments(zAll, zAll.length / d, d);
  const finiteRhos = rhos.filter(Number.isFinite);
  return {
    backend: model.backend,
    frames,
    horizons: report,
    uncertainty_spearman: finiteRhos.length > 0 ? finiteRhos.reduce((a, b) => a + b, 0) / finiteRhos.length : Number.NaN,
    collapse: { effective_rank: effectiveRank(zAll, zAll.length / d, d), min_dim_std: Math.min(...std) },
  };
}
