/**
 * The stored stage-5 dataset: a capped, stratified set of transitions written as `dataset.npz` (numpy
 * reads it with `np.load`) plus `dataset.json` (feature names, counts, horizon histogram, sources).
 *
 * x_t and x_next are stored RAW (physical units), with `mean`/`std` beside them: normalising is then a
 * one-liner for a numpy user, and the file stays valid if the normalisation policy changes.
 *
 * When a recording has more pairs than `maxPairs`, each horizon h gets n_h = min(a_h, c·P(h)) distinct
 * pairs (a_h = pairs available at h, P = the sampler's horizon law, c chosen so Σ n_h = maxPairs): the
 * stored set follows the same law as training, without duplicates, and short horizons that have fewer
 * pairs than their share keep all of them.
 */
import { createHash } from 'node:crypto';
import { mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import {
  computeNormalization,
  DEFAULT_MAX_STORED_PAIRS,
  horizonHistogram,
  horizonWeights,
  PairIndex,
  resolveMaxHorizon,
  type HorizonHistogram,
  type HorizonLaw,
  checkSequences,
} from './dataset.js';
import { ModelError, ModelErrorCode } from './errors.js';
import { decodeNpz, encodeNpz, type NpyArray } from './npz.js';
import { createRng, type Rng } from './rng.js';
import type { FeatureSequence, Normalization } from './types.js';

export interface DatasetArgs {
  /** Cap on stored pairs. Default DEFAULT_MAX_STORED_PAIRS. */
  readonly maxPairs?: number;
  readonly maxHorizon?: number;
  readonly horizonLaw?: HorizonLaw;
  readonly seed?: number;
  /** Normalisation to store; default computed from these sequences. */
  readonly normalization?: Normalization;
}

export interface TransitionDataset {
  readonly names: readonly string[];
  /** n × F raw features at t. */
  readonly x: Float32Array;
  /** n horizons in frames. */
  readonly dh: Int32Array;
  /** n × F raw features at t + Δh. */
  readonly y: Float32Array;
  /** Source sequence and start frame of every pair (audit trail). */
  readonly seq: Int32Array;
  readonly t: Int32Array;
  readonly normalization: Normalization;
  readonly histogram: HorizonHistogram;
  /** All pairs the sequences hold, before the cap. */
  readonly totalPairs: number;
  readonly maxHorizon: number;
  readonly horizonLaw: HorizonLaw;
  readonly seed: number;
  readonly sources: readonly { readonly file: string; readonly sha256: string; readonly subject?: string; readonly frames: number }[];
}

/** k distinct integers from [0, n), sorted (Floyd's algorithm: O(k) draws, no n-sized array). */
function distinctSample(rng: Rng, n: number, k: number): number[] {
  if (k >= n) return Array.from({ length: n }, (_, i) => i);
  const chosen = new Set<number>();
  for (let j = n - k; j < n; j++) {
    const r = Math.floor(rng.next() * (j + 1));
    chosen.add(chosen.has(r) ? j : r);
  }
  return [...chosen].sort((a, b) => a - b);
}

/** n_h per horizon: water-filling min(a_h, c·w_h) to exactly `cap` (or all pairs when they fit). */
export function allocatePairs(available: readonly number[], weights: ArrayLike<number>, cap: number): number[] {
  const total = available.reduce((a, b) => a + b, 0);
  if (total <= cap) return [...available];
  const take = (c: number): number => available.reduce((s, a, h) => s + Math.min(a, c * weights[h]!), 0);
  let lo = 0;
  let hi = 1;
  while (take(hi) < cap) hi *= 2;
  for (let i = 0; i < 200; i++) {
    const mid = (lo + hi) / 2;
    if (take(mid) < cap) lo = mid;
    else hi = mid;
  }
  const exact = available.map((a, h) => Math.min(a, hi * weights[h]!));
  const n = exact.map((v) => Math.floor(v));
  let rest = cap - n.reduce((a, b) => a + b, 0);
  // Largest remainders first; ties to the shorter horizon, deterministically.
  const order = exact.map((v, h) => ({ h, frac: v - Math.floor(v) })).filter(({ h }) => n[h]! < available[h]!);
  order.sort((a, b) => b.frac - a.frac || a.h - b.h);
  for (const { h } of order) {
    if (rest <= 0) break;
    n[h]!++;
    rest--;
  }
  return n;
}

export function buildTransitionDataset(seqs: readonly FeatureSequence[], args: DatasetArgs = {}): TransitionDataset {
  const { names, featureDim: f } = checkSequences(seqs);
  const cap = args.maxPairs ?? DEFAULT_MAX_STORED_PAIRS;
  if (!Number.isInteger(cap) || cap < 1) throw new ModelError(ModelErrorCode.INVALID_ARGS, `maxPairs must be a positive integer, got ${cap}`);
  const law = args.horizonLaw ?? 'log-uniform';
  const seed = args.seed ?? 0;
  const lengths = seqs.map((s) => s.t.length);
  const maxHorizon = resolveMaxHorizon(lengths, args.maxHorizon);
  const index = new PairIndex(lengths);
  const available = Array.from({ length: maxHorizon + 1 }, (_, h) => (h === 0 ? 0 : index.count(h)));
  const perH = allocatePairs(available, horizonWeights(maxHorizon, law), cap);
  const n = perH.reduce((a, b) => a + b, 0);
  const x = new Float32Array(n * f);
  const y = new Float32Array(n * f);
  const dh = new Int32Array(n);
  const seq = new Int32Array(n);
  const t = new Int32Array(n);
  const rng = createRng(seed);
  let i = 0;
  for (let h = 1; h <= maxHorizon; h++) {
    for (const k of distinctSample(rng, available[h]!, perH[h]!)) {
      const p = index.locate(h, k);
      const src = seqs[p.seq]!.x;
      x.set(src.subarray(p.t * f, (p.t + 1) * f), i * f);
      y.set(src.subarray((p.t + h) * f, (p.t + h + 1) * f), i * f);
      dh[i] = h;
      seq[i] = p.seq;
      t[i] = p.t;
      i++;
    }
  }
  return {
    names,
    x,
    dh,
    y,
    seq,
    t,
    normalization: args.normalization ?? computeNormalization(seqs),
    histogram: horizonHistogram(dh, maxHorizon),
    totalPairs: available.reduce((a, b) => a + b, 0),
    maxHorizon,
    horizonLaw: law,
    seed,
    sources: seqs.map((s) => ({ ...s.source, frames: s.t.length })),
  };
}

/** The arrays of dataset.npz, by name. */
export function datasetArrays(ds: TransitionDataset): Record<string, NpyArray> {
  const n = ds.dh.length;
  const f = ds.names.length;
  return {
    x_t: { dtype: '<f4', shape: [n, f], data: ds.x },
    dh: { dtype: '<i4', shape: [n], data: ds.dh },
    x_next: { dtype: '<f4', shape: [n, f], data: ds.y },
    seq: { dtype: '<i4', shape: [n], data: ds.seq },
    t: { dtype: '<i4', shape: [n], data: ds.t },
    mean: { dtype: '<f4', shape: [f], data: ds.normalization.mean },
    std: { dtype: '<f4', shape: [f], data: ds.normalization.std },
    horizon_edges: { dtype: '<i4', shape: [ds.histogram.edges.length], data: Int32Array.from(ds.histogram.edges) },
    horizon_counts: { dtype: '<i4', shape: [ds.histogram.counts.length], data: Int32Array.from(ds.histogram.counts) },
  };
}

export interface WrittenDataset {
  readonly npzPath: string;
  readonly jsonPath: string;
  readonly npzSha256: string;
}

/** The bytes of dataset.npz and the text of dataset.json, for callers that store artifacts themselves. */
export function datasetFiles(ds: TransitionDataset, opts: { compress?: boolean } = {}): { npz: Buffer; json: string; npzSha256: string } {
  const arrays = datasetArrays(ds);
  const npz = encodeNpz(arrays, { compress: opts.compress ?? true });
  const npzSha256 = createHash('sha256').update(npz).digest('hex');
  const meta = {
    format: 'jepa-motion.dataset/1',
    feature_names: ds.names,
    feature_dim: ds.names.length,
    transitions: ds.dh.length,
    total_pairs: ds.totalPairs,
    max_horizon: ds.maxHorizon,
    horizon_law: ds.horizonLaw,
    seed: ds.seed,
    horizon_histogram: { edges: ds.histogram.edges, counts: ds.histogram.counts },
    normalized: false,
    normalization: 'x_norm = (x - mean) / std, per column; std floored',
    sources: ds.sources,
    arrays: Object.fromEntries(Object.entries(arrays).map(([k, a]) => [k, { dtype: a.dtype, shape: a.shape }])),
    npz_sha256: npzSha256,
  };
  return { npz, json: `${JSON.stringify(meta, null, 2)}\n`, npzSha256 };
}

/** Writes dataset.npz and dataset.json into dir (each via a temp file + rename, so readers never see half a file). */
export async function writeDataset(dir: string, ds: TransitionDataset, opts: { compress?: boolean } = {}): Promise<WrittenDataset> {
  const { npz, json, npzSha256 } = datasetFiles(ds, opts);
  await mkdir(dir, { recursive: true });
  const npzPath = join(dir, 'dataset.npz');
  const jsonPath = join(dir, 'dataset.json');
  await writeFile(`${npzPath}.tmp`, npz);
  await rename(`${npzPath}.tmp`, npzPath);
  await writeFile(`${jsonPath}.tmp`, json);
  await rename(`${jsonPath}.tmp`, jsonPath);
  return { npzPath, jsonPath, npzSha256 };
}

/** Reads back the arrays of a written dataset, checking the NPZ against the SHA-256 in dataset.json. */
export async function readDatasetArrays(dir: string): Promise<{ meta: Record<string, unknown>; arrays: Record<string, NpyArray> }> {
  let meta: Record<string, unknown>;
  let npz: Buffer;
  try {
    meta = JSON.parse(await readFile(join(dir, 'dataset.json'), 'utf8')) as Record<string, unknown>;
    npz = await readFile(join(dir, 'dataset.npz'));
  } catch (cause) {
    throw new ModelError(ModelErrorCode.INVALID_ARGS, `${dir}: not a readable dataset (dataset.json + dataset.npz)`, { cause });
  }
  const sha = createHash('sha256').update(npz).digest('hex');
  if (sha !== meta.npz_sha256) throw new ModelError(ModelErrorCode.CHECKPOINT_HASH_MISMATCH, `${dir}/dataset.npz: SHA-256 ${sha} ≠ ${String(meta.npz_sha256)}`);
  return { meta, arrays: decodeNpz(npz) };
}
