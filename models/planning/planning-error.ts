/** A plan that cannot be made: a goal the session cannot express (no frames of its phase, unknown quantity). */
export class PlanningError extends Error {
  override readonly name = 'PlanningError';
  constructor(
    readonly code: PlanningErrorCode,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

export const PlanningErrorCode = {
  /** The goal names a quantity, phase or pose the planner does not know, or a non-finite change. */
  BAD_GOAL: 'PLANNING_BAD_GOAL',
  /** The session has no frames of the goal's phase (e.g. mid-stance in a squat). */
  NO_FRAMES: 'PLANNING_NO_FRAMES',
  /** The session is too short to plan on. */
  TOO_SHORT: 'PLANNING_TOO_SHORT',
} as const;
export type PlanningErrorCode = (typeof PlanningErrorCode)[keyof typeof PlanningErrorCode];
