// Errors raised by the stream stages (stages 1–3, features, metrics, summary). Classify by instanceof + code.

export const StageErrorCode = {
  /** A frame whose shape is wrong (joints array length, non-finite timestamp). */
  BAD_FRAME: 'STAGE_BAD_FRAME',
  /** Options that contradict each other or are out of range. */
  BAD_OPTIONS: 'STAGE_BAD_OPTIONS',
  /** Input to summarize() that cannot be summarised (e.g. no frames). */
  NO_FRAMES: 'STAGE_NO_FRAMES',
} as const;
export type StageErrorCode = (typeof StageErrorCode)[keyof typeof StageErrorCode];

export class StageError extends Error {
  override readonly name = 'StageError';
  constructor(
    readonly code: StageErrorCode,
    readonly stage: string,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(`${stage}: ${message}`, options);
  }
}
