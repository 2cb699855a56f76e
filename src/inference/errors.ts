/** A request or a configuration the inference service cannot serve. Classify by `instanceof` and `code`. */
export class InferenceError extends Error {
  override readonly name = 'InferenceError';
  constructor(
    readonly code: InferenceErrorCode,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

export const InferenceErrorCode = {
  /** Options out of range or contradictory (batch size, queue limit, worker count, horizons). */
  INVALID_OPTIONS: 'INFERENCE_INVALID_OPTIONS',
  /** A submitted row has the wrong length, non-finite values or missing ids. */
  BAD_INPUT: 'INFERENCE_BAD_INPUT',
  /** A worker thread did not start or its engine failed to initialise. */
  WORKER_START_FAILED: 'INFERENCE_WORKER_START_FAILED',
  /** A patient model could not be loaded (the registry/loader failed). */
  MODEL_LOAD_FAILED: 'INFERENCE_MODEL_LOAD_FAILED',
  /** The engine returned output of the wrong shape. */
  ENGINE_OUTPUT: 'INFERENCE_ENGINE_OUTPUT',
  /** The service is closed. */
  CLOSED: 'INFERENCE_CLOSED',
} as const;
export type InferenceErrorCode = (typeof InferenceErrorCode)[keyof typeof InferenceErrorCode];
