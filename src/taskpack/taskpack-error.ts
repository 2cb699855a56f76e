/** A task pack that cannot be built or served: names the input and what is wrong with it. */
export class TaskPackError extends Error {
  override readonly name = 'TaskPackError';
  constructor(
    readonly code: TaskPackErrorCode,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

export const TaskPackErrorCode = {
  /** The recording cannot be read or is too short. */
  RECORDING: 'TASKPACK_RECORDING',
  /** The model (checkpoint, base, probe) cannot be loaded. */
  MODEL: 'TASKPACK_MODEL',
  /** A stored task pack is missing or damaged (fails its audit). */
  DAMAGED: 'TASKPACK_DAMAGED',
  /** No task pack with that id (or not visible to the caller). */
  NOT_FOUND: 'TASKPACK_NOT_FOUND',
} as const;
export type TaskPackErrorCode = (typeof TaskPackErrorCode)[keyof typeof TaskPackErrorCode];
