/**
 * Stage 5: variable-horizon transitions (x_t, Δh, x_{t+Δh}) from feature sequences, the per-epoch sampler
 * the trainer consumes, feature normalisation statistics and the horizon histogram.
 *
 * A T-frame recording has T(T−1)/2 pairs (~500k for 1000 frames), so pairs are never all materialised:
 * the sampler draws pairs on the fly from the normalised frames (memory O(T·F)), and the stored dataset
 * (NPZ, `buildTransitionDataset` in dataset-file.ts) is capped at `maxPairs`.
 *
 * Horizon law (default 'log-uniform'): P(Δh = h) = ln((h+1)/h) / ln(H+1) for h = 1..H. Uniform over all
 * pairs would put 97% of samples above 30 frames for a 1000-frame recording and drown the short
 * horizons the live service predicts (Δh = 1…30); log-uniform gives every octave of horizon the same
 * weight: with H = 999, half the samples have Δh ≤ 30 and the other half still reach the full length.
 */
import { ModelError, ModelErrorCode } from './errors.js';
import { createRng, type Rng } from './rng.js';
import type { FeatureSequence, Normalization, TransitionBatch, TransitionSampler } from './types.js';

/** Samples per epoch per usable frame: an epoch then visits each frame as a start point once on average. */
export const DEFAULT_SAMPLES_PER_FRAME = 1;
/**
 * Pairs kept in a stored dataset. 20k pairs × 2 × F floats is ~16 MB at F = 100: enough to cover every
 * horizon octave of several recordings densely, small enough to ship beside a task pack.
 */
export const DEFAULT_MAX_STORED_PAIRS = 20_000;
/**
 * Floor on a column's std, in the features' own units (m, m/s, 0/1). A column that barely moves in the
 * training frames (a joint held still, a contact flag always on) would otherwise be divided by ~0 and a
 * normal value at test time would become a huge input; 1 cm (or 1 cm/s) is below what matters clinically.
 */
export const DEFAULT_STD_FLOOR = 1e-2;

export type HorizonLaw = 'log-uniform' | 'uniform';

export interface SamplerArgs {
  /** Seed of the sampler; epoch e uses a stream derived from (seed, e). Default 0. */
  readonly seed?: number;
  /** Samples per epoch = round(samplesPerFrame × usable frames). Default DEFAULT_SAMPLES_PER_FRAME. */
  readonly samplesPerFrame?: number;
  /**
   * Longest Δh in frames the TRAINING sampler draws; default DEFAULT_TRAIN_MAX_HORIZON (capped at the
   * longest sequence length − 1). The stored stage-5 dataset (dataset-file.ts) still spans the whole
   * sequence length as DESIGN says; this is what the model is trained on.
   */
  readonly maxHorizon?: number;
  /** Distribution of Δh. Default 'log-uniform' (see file comment). */
  readonly horizonLaw?: HorizonLaw;
  /**
   * Rotate each pair's direction columns (CIRCULAR_PAIRS present in the data: the world heading) by one
   * random angle, the same for x_t and x_{t+Δh}: the change of heading (turning) is kept, the lab's
   * orientation is not learnable. Default DEFAULT_HEADING_AUGMENT.
   */
  readonly headingAugment?: boolean;
}

/**
 * Default longest training horizon: 30 frames = 0.5 s, the longest horizon the service predicts.
 * Measured leave-subject-out (models/bench/lso-quick.ts: 4 held-out gait subjects, residualBase 'target',
 * 20 epochs; geometric-mean nMSE ratio model/identity at Δh = 1/5/10/30, subjects won at Δh = 30):
 *   Δh up to the sequence length (~1800)  1.02/1.02/1.01/1.15, 2 of 4 (the loss is dominated by horizons of
 *                                          seconds, where the best answer is a blurred mean)
 *   ≤ 120  1.02/0.99/0.94/0.89, 3 of 4      ≤ 60  1.02/0.97/0.86/0.57, 4 of 4
 *   ≤ 30   0.97/0.80/0.60/0.41, 4 of 4 and pose error at Δh = 10 below zero velocity on 3 of 4
 *   ≤ 15   loses at Δh = 30 (the step s·MLP must extrapolate beyond what it was trained on).
 */
export const DEFAULT_TRAIN_MAX_HORIZON = 30;

/**
 * Heading augmentation default: off. Measured (lso-quick, with residualBase 'target', Δh ≤ 60): it helped
 * 2 of 4 held-out subjects and hurt the other 2; geometric-mean ratio to identity at Δh = 30 0.61 with it,
 * 0.54 without. The heading's circular normalisation (CIRCULAR_PAIRS) is kept either way.
 */
export const DEFAULT_HEADING_AUGMENT = false;

const invalid = (msg: string): ModelError => new ModelError(ModelErrorCode.INVALID_ARGS, msg);

/** Checks a set of sequences is usable together (same columns, consistent lengths, finite features). */
export function checkSequences(seqs: readonly FeatureSequence[]): { names: readonly string[]; featureDim: number } {
  const first = seqs[0];
  if (first === undefined) throw invalid('no feature sequences');
  const names = first.names;
  const f = names.length;
  if (f === 0) throw invalid(`${first.source.file}: no feature columns`);
  for (const s of seqs) {
    if (s.names.length !== f || s.names.some((n, i) => n !== names[i])) {
      throw new ModelError(ModelErrorCode.FEATURE_MISMATCH, `${s.source.file}: feature columns differ from ${first.source.file}`);
    }
    const frames = s.t.length;
    if (s.x.length !== frames * f) {
      throw new ModelError(ModelErrorCode.SHAPE_MISMATCH, `${s.source.file}: x has ${s.x.length} values, expected ${frames} × ${f}`);
    }
    if (s.poses.length !== frames * 60) {
      throw new ModelError(ModelErrorCode.SHAPE_MISMATCH, `${s.source.file}: poses has ${s.poses.length} values, expected ${frames} × 60`);
    }
    for (let i = 0; i < s.x.length; i++) {
      if (!Number.isFinite(s.x[i]!)) {
        throw invalid(`${s.source.file}: feature ${names[i % f]} is not finite at frame ${Math.floor(i / f)}`);
      }
    }
  }
  return { names, featureDim: f };
}

/**
 * Floor on the std of a BINARY column (every training value 0 or 1: availability masks, contact flags).
 * With the continuous floor a flag that is always 1 in training (a joint every training rig has) turns a
 * test-time 0 into −100 (measured on camargo-01's avail_root), an input the encoder never saw; 0.5 is the
 * std of a fair coin, so a flipped flag moves its column by at most 2.
 */
export const DEFAULT_BINARY_STD_FLOOR = 0.5;
/**
 * Unit-vector column pairs (sin, cos) normalised as a direction on the circle (mean 0, std √½) instead of
 * by their training statistics: the world heading depends on the lab's orientation, not on the movement,
 * so training recordings that all face one way would otherwise give it a tiny std and a subject walking
 * another way inputs of ±13 std (camargo-01). See also the sampler's heading augmentation.
 */
export const CIRCULAR_PAIRS: readonly (readonly [string, string])[] = [['heading_sin', 'heading_cos']];

export interface NormalizationArgs {
  /** Floor for continuous columns. Default DEFAULT_STD_FLOOR. */
  readonly stdFloor?: number;
  /** Floor for binary (0/1) columns. Default DEFAULT_BINARY_STD_FLOOR. */
  readonly binaryStdFloor?: number;
  /** Direction pairs normalised as on the unit circle (pairs whose names are absent are ignored). Default CIRCULAR_PAIRS. */
  readonly circular?: readonly (readonly [string, string])[];
}

/** Mean and floored std per column over every frame of the (training) sequences. */
export function computeNormalization(seqs: readonly FeatureSequence[], opts: NormalizationArgs = {}): Normalization {
  const { names, featureDim: f } = checkSequences(seqs);
  const floor = opts.stdFloor ?? DEFAULT_STD_FLOOR;
  const binaryFloor = opts.binaryStdFloor ?? DEFAULT_BINARY_STD_FLOOR;
  if (!(floor > 0)) throw invalid(`stdFloor must be > 0, got ${floor}`);
  if (!(binaryFloor > 0)) throw invalid(`binaryStdFloor must be > 0, got ${binaryFloor}`);
  const sum = new Float64Array(f);
  const binary = new Array<boolean>(f).fill(true);
  let n = 0;
  for (const s of seqs) {
    for (let i = 0; i < s.x.length; i++) {
      const v = s.x[i]!;
      sum[i % f] = sum[i % f]! + v;
      if (v !== 0 && v !== 1) binary[i % f] = false;
    }
    n += s.t.length;
  }
  if (n === 0) throw invalid('the sequences have no frames');
  const mean = sum.map((v) => v / n);
  // Two-pass variance: features such as root height sit far from 0 relative to their spread.
  const ss = new Float64Array(f);
  for (const s of seqs) {
    for (let i = 0; i < s.x.length; i++) {
      const d = s.x[i]! - mean[i % f]!;
      ss[i % f] = ss[i % f]! + d * d;
    }
  }
  const std = Float32Array.from(ss, (v, j) => Math.max(Math.sqrt(v / n), binary[j] ? binaryFloor : floor));
  for (const pair of opts.circular ?? CIRCULAR_PAIRS) {
    for (const name of pair) {
      const j = names.indexOf(name);
      if (j < 0) continue;
      mean[j] = 0;
      std[j] = Math.SQRT1_2;
    }
  }
  return { names: [...names], mean: Float32Array.from(mean), std };
}

/** (x − mean) / std for an n × F row-major matrix. */
export function normalizeRows(x: Float32Array, norm: Normalization): Float32Array {
  const f = norm.mean.length;
  if (x.length % f !== 0) throw new ModelError(ModelErrorCode.SHAPE_MISMATCH, `${x.length} values are not rows of ${f} features`);
  const out = new Float32Array(x.length);
  for (let i = 0; i < x.length; i++) out[i] = (x[i]! - norm.mean[i % f]!) / norm.std[i % f]!;
  return out;
}

/** Probability of each horizon 1..H under a law (index 0 unused). */
export function horizonWeights(maxHorizon: number, law: HorizonLaw): Float64Array {
  const w = new Float64Array(maxHorizon + 1);
  for (let h = 1; h <= maxHorizon; h++) w[h] = law === 'uniform' ? 1 / maxHorizon : Math.log((h + 1) / h) / Math.log(maxHorizon + 1);
  return w;
}

/** One horizon drawn from the law; exact inverse CDF, no table. */
export function sampleHorizon(rng: Rng, maxHorizon: number, law: HorizonLaw): number {
  const u = rng.next();
  const h = law === 'uniform' ? 1 + Math.floor(u * maxHorizon) : Math.floor(Math.exp(u * Math.log(maxHorizon + 1)));
  return Math.min(Math.max(h, 1), maxHorizon);
}

/** The frames a (sequence, horizon) grid can start from: flat index k ↦ (sequence, t) for a fixed h. */
export class PairIndex {
  constructor(readonly lengths: readonly number[]) {}
  /** Number of pairs with horizon h. */
  count(h: number): number {
    let a = 0;
    for (const len of this.lengths) a += Math.max(0, len - h);
    return a;
  }
  /** k-th pair (0-based, sequence-major) with horizon h. */
  locate(h: number, k: number): { seq: number; t: number } {
    let rest = k;
    for (let s = 0; s < this.lengths.length; s++) {
      const a = Math.max(0, this.lengths[s]! - h);
      if (rest < a) return { seq: s, t: rest };
      rest -= a;
    }
    throw new RangeError(`pair ${k} with horizon ${h} does not exist`);
  }
}

export function resolveMaxHorizon(lengths: readonly number[], requested: number | undefined): number {
  const longest = Math.max(0, ...lengths) - 1;
  if (longest < 1) throw invalid('every sequence is shorter than 2 frames: no transitions');
  if (requested === undefined) return longest;
  if (!Number.isInteger(requested) || requested < 1) throw invalid(`maxHorizon must be a positive integer, got ${requested}`);
  return Math.min(requested, longest);
}

/** Seed for epoch e of a sampler seeded s: distinct, well-mixed streams per (s, e). */
const epochSeed = (seed: number, epoch: number): number => (Math.imul(seed >>> 0, 0x9e3779b1) ^ Math.imul(epoch + 1, 0x85ebca77)) >>> 0;

/**
 * The trainer's view of the data: per epoch, `samplesPerEpoch` pairs drawn i.i.d. (Δh from the law, then
 * a start frame uniformly among the pairs with that Δh across all sequences), normalised, in batches.
 */
export function createTransitionSampler(
  seqs: readonly FeatureSequence[],
  norm: Normalization,
  args: SamplerArgs = {},
): TransitionSampler & { readonly samplesPerEpoch: number; readonly maxHorizon: number; readonly horizonLaw: HorizonLaw; readonly headingAugment: boolean } {
  const { featureDim: f, names } = checkSequences(seqs);
  if (norm.names.length !== f || norm.names.some((n, i) => n !== names[i])) {
    throw new ModelError(ModelErrorCode.FEATURE_MISMATCH, 'normalisation columns differ from the sequences');
  }
  const spf = args.samplesPerFrame ?? DEFAULT_SAMPLES_PER_FRAME;
  if (!(spf > 0)) throw invalid(`samplesPerFrame must be > 0, got ${spf}`);
  const law = args.horizonLaw ?? 'log-uniform';
  const lengths = seqs.map((s) => s.t.length);
  const maxHorizon = resolveMaxHorizon(lengths, args.maxHorizon ?? DEFAULT_TRAIN_MAX_HORIZON);
  const usable = lengths.reduce((a, len) => a + (len >= 2 ? len : 0), 0);
  const samplesPerEpoch = Math.max(1, Math.round(spf * usable));
  const frames = seqs.map((s) => normalizeRows(s.x, norm));
  const index = new PairIndex(lengths);
  const counts = Array.from({ length: maxHorizon + 1 }, (_, h) => (h === 0 ? 0 : index.count(h)));
  const seed = args.seed ?? 0;
  const augment = args.headingAugment ?? DEFAULT_HEADING_AUGMENT;
  // Raw columns of each direction pair present in the data (rotated per pair, then normalised).
  const pairs = augment ? CIRCULAR_PAIRS.map(([a, b]) => [names.indexOf(a), names.indexOf(b)] as const).filter(([a, b]) => a >= 0 && b >= 0) : [];
  const rotate = (row: Float32Array, o: number, raw: Float32Array, r: number, c: number, sn: number): void => {
    for (const [a, b] of pairs) {
      const hx = raw[r * f + a]!;
      const hz = raw[r * f + b]!;
      row[o + a] = (hx * c + hz * sn - norm.mean[a]!) / norm.std[a]!;
      row[o + b] = (hz * c - hx * sn - norm.mean[b]!) / norm.std[b]!;
    }
  };

  function* epoch(epochIndex: number, batchSize: number): Iterable<TransitionBatch> {
    if (!Number.isInteger(batchSize) || batchSize < 1) throw invalid(`batchSize must be a positive integer, got ${batchSize}`);
    const rng = createRng(epochSeed(seed, epochIndex));
    for (let start = 0; start < samplesPerEpoch; start += batchSize) {
      const size = Math.min(batchSize, samplesPerEpoch - start);
      const x = new Float32Array(size * f);
      const y = new Float32Array(size * f);
      const dh = new Float32Array(size);
      for (let i = 0; i < size; i++) {
        // counts[h] > 0 for every h ≤ maxHorizon: the longest sequence has pairs at every such horizon.
        const h = sampleHorizon(rng, maxHorizon, law);
        const { seq, t } = index.locate(h, Math.floor(rng.next() * counts[h]!));
        const src = frames[seq]!;
        x.set(src.subarray(t * f, (t + 1) * f), i * f);
        y.set(src.subarray((t + h) * f, (t + h + 1) * f), i * f);
        dh[i] = h;
        if (pairs.length > 0) {
          const theta = 2 * Math.PI * rng.next();
          const c = Math.cos(theta);
          const sn = Math.sin(theta);
          const raw = seqs[seq]!.x;
          rotate(x, i * f, raw, t, c, sn);
          rotate(y, i * f, raw, t + h, c, sn);
        }
      }
      yield { size, x, dh, y };
    }
  }
  return { featureDim: f, samplesPerEpoch, maxHorizon, horizonLaw: law, headingAugment: pairs.length > 0, epoch };
}

/** Counts of horizons in power-of-two bins [1,2), [2,4), [4,8)… up to maxHorizon (last edge = max + 1). */
export interface HorizonHistogram {
  readonly edges: readonly number[];
  readonly counts: readonly number[];
}

export function horizonHistogram(dh: ArrayLike<number>, maxHorizon: number): HorizonHistogram {
  const edges = [1];
  while (edges[edges.length - 1]! * 2 <= maxHorizon) edges.push(edges[edges.length - 1]! * 2);
  edges.push(maxHorizon + 1);
  const counts = new Array<number>(edges.length - 1).fill(0);
  for (let i = 0; i < dh.length; i++) {
    const h = dh[i]!;
    if (!(h >= 1 && h <= maxHorizon)) throw new RangeError(`horizon ${h} outside 1..${maxHorizon}`);
    let b = Math.min(Math.floor(Math.log2(h)), counts.length - 1);
    if (h < edges[b]!) b--; // guards log2 rounding just below a power of two
    counts[b]!++;
  }
  return { edges, counts };
}
