// Workers are idempotent by event id: JetStream dedup covers duplicate publishes inside its
// window; this covers redeliveries (ack lost, worker died after storing) and late duplicates.
import type { JobContext, JobHandler, JobSubject } from './job-bus.js';

export interface DoneCheck {
  /** True when the result for this job is already stored (e.g. `store.has(resultKey(id))`). */
  isDone(event: unknown, ctx: JobContext): Promise<boolean>;
}

/**
 * Wraps a handler so that a job whose result already exists is acked without running again.
 * The handler must store its result BEFORE resolving (the runner acks only after it resolves),
 * and store it atomically under a key derived from the job id.
 */
export function skipIfDone<S extends JobSubject>(check: DoneCheck, handler: JobHandler<S>, onSkip?: (ctx: JobContext<S>) => void): JobHandler<S> {
  return async (event, ctx) => {
    if (await check.isDone(event, ctx)) {
      onSkip?.(ctx);
      return;
    }
    await handler(event, ctx);
  };
}

/** The common case: the result lives in an artifact store under a key computed from the job id. */
export function resultExists(store: { has(key: string): Promise<boolean> }, keyOf: (ctx: JobContext, event: unknown) => string): DoneCheck {
  return { isDone: (event, ctx) => store.has(keyOf(ctx, event)) };
}
