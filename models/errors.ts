/** A model operation that cannot proceed: bad checkpoint, shape mismatch, bad arguments, no backend. */
export class ModelError extends Error {
  override readonly name = 'ModelError';
  constructor(
    readonly code: ModelErrorCode,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

export const ModelErrorCode = {
  /** No usable TensorFlow.js backend could be initialised. */
  BACKEND_UNAVAILABLE: 'MODEL_BACKEND_UNAVAILABLE',
  /** Arguments out of range (dimensions, rates, counts). */
  INVALID_ARGS: 'MODEL_INVALID_ARGS',
  /** Input data whose shape does not match the model (feature dimension, row length). */
  SHAPE_MISMATCH: 'MODEL_SHAPE_MISMATCH',
  /** Feature names or dimension of a checkpoint differ from the data it is used with. */
  FEATURE_MISMATCH: 'MODEL_FEATURE_MISMATCH',
  /** Checkpoint directory or one of its files is missing. */
  CHECKPOINT_NOT_FOUND: 'MODEL_CHECKPOINT_NOT_FOUND',
  /** checkpoint.json is not valid JSON or misses required fields. */
  CHECKPOINT_BAD_JSON: 'MODEL_CHECKPOINT_BAD_JSON',
  /** weights.bin does not hash to the SHA-256 recorded in checkpoint.json. */
  CHECKPOINT_HASH_MISMATCH: 'MODEL_CHECKPOINT_HASH_MISMATCH',
  /** weights.bin is shorter/longer than the manifest says. */
  CHECKPOINT_TRUNCATED: 'MODEL_CHECKPOINT_TRUNCATED',
  /** A patient checkpoint references a base model that is not the one supplied. */
  BASE_MISMATCH: 'MODEL_BASE_MISMATCH',
  /** Training produced a non-finite loss. */
  TRAINING_DIVERGED: 'MODEL_TRAINING_DIVERGED',
  /** A bounded container (e.g. adapters held by batched inference) is full. */
  CAPACITY: 'MODEL_CAPACITY',
  /** The sampler yielded no batch in an epoch. */
  EMPTY_EPOCH: 'MODEL_EMPTY_EPOCH',
} as const;
export type ModelErrorCode = (typeof ModelErrorCode)[keyof typeof ModelErrorCode];
