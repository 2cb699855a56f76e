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
  /** Longest Δh in frames; default the longest sequence length − 1 (DESIGN: "up to the sequence length"). */
  readonly maxHorizon?: number;
  /** Distribution of Δh. Default 'log-uniform' (see file comment). */
  readonly horizonLaw?: HorizonLaw;
}

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

/** Mean and floored std per column over every frame of the (training) sequences. */
export function computeNormalization(seqs: readonly FeatureSequence[], opts: { stdFloor?: number } = {}): Normalization {
  const { names, featureDim: f } = checkSequences(seqs);
  const floor = opts.stdFloor ?? DEFAULT_STD_FLOOR;
  if (!(floor > 0)) throw invalid(`stdFloor must be > 0, got ${floor}`);
  const sum = new Float64Array(f);
  let n = 0;
  for (const s of seqs) {
    for (let i = 0; i < s.x.length; i++) sum[i % f] = sum[i % f]! + s.x[i]!;
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
  const std = Float32Array.from(ss, (v) => Math.max(Math.sqrt(v / n), floor));
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
): TransitionSampler & { readonly samplesPerEpoch: number; readonly maxHorizon: number; readonly horizonLaw: HorizonLaw } {
  const { featureDim: f, names } = checkSequences(seqs);
  if (norm.names.length !== f || norm.names.some((n, i) => n !== names[i])) {
    throw new ModelError(ModelErrorCode.FEATURE_MISMATCH, 'normalisation columns differ from the sequences');
  }
  const spf = args.samplesPerFrame ?? DEFAULT_SAMPLES_PER_FRAME;
  if (!(spf > 0)) throw invalid(`samplesPerFrame must be > 0, got ${spf}`);
  const law = args.horizonLaw ?? 'log-uniform';
  const lengths = seqs.map((s) => s.t.length);
  const maxHorizon = resolveMaxHorizon(lengths, args.maxHorizon);
  const usable = lengths.reduce((a, len) => a + (len >= 2 ? len : 0), 0);
  const samplesPerEpoch = Math.max(1, Math.round(spf * usable));
  const frames = seqs.map((s) => normalizeRows(s.x, norm));
  const index = new PairIndex(lengths);
  const counts = Array.from({ length: maxHorizon + 1 }, (_, h) => (h === 0 ? 0 : index.count(h)));
  const seed = args.seed ?? 0;

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
      }
      yield { size, x, dh, y };
    }
  }
  return { featureDim: f, samplesPerEpoch, maxHorizon, horizonLaw: law, epoch };
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
