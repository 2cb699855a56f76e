/**
 * Contracts between the parts of the world model (stages 5–6). Plain data only: serialisable, no tensors.
 * Rows are row-major Float32Arrays: row i of an (n × d) matrix is [i*d, (i+1)*d).
 */

/** One recording's model inputs, in frame order, as the feature stage produced them. */
export interface FeatureSequence {
  /** Column names of x (the feature stage's `featureNames()`), length F. */
  readonly names: readonly string[];
  /** T × F features. */
  readonly x: Float32Array;
  /** Frame timestamps in seconds from the first frame, length T. */
  readonly t: Float64Array;
  /** T × (20·3) canonical world joints (metres), for the probe decoder and pose errors; NaN = unavailable. */
  readonly poses: Float32Array;
  /** Where it came from (file and SHA-256), carried into checkpoints and datasets. */
  readonly source: { readonly file: string; readonly sha256: string; readonly subject?: string };
}

/** Feature normalisation: x_norm = (x − mean) / std, per column. */
export interface Normalization {
  readonly names: readonly string[];
  readonly mean: Float32Array;
  readonly std: Float32Array;
}

/** A minibatch of transitions (x_t, Δh, x_{t+Δh}), already normalised. */
export interface TransitionBatch {
  readonly size: number;
  /** size × F */
  readonly x: Float32Array;
  /** size horizons in frames (≥ 1) */
  readonly dh: Float32Array;
  /** size × F */
  readonly y: Float32Array;
}

/** Yields one epoch of minibatches; the trainer never sees the whole pair set. */
export interface TransitionSampler {
  readonly featureDim: number;
  /** Deterministic for a given seed and epoch. */
  epoch(epochIndex: number, batchSize: number): Iterable<TransitionBatch>;
}
