// One delivery attempt, shared by both bus implementations so retry/term rules cannot drift.
import type { Logger } from '../logger.js';
import { checkJob } from './contracts.js';
import { JobError, JobErrorCode } from './errors.js';
import { backoffFor, decodeEvent, type JobHandler, type JobSubject, type ResolvedConsumeOptions } from './job-bus.js';

export type AttemptOutcome =
  { readonly kind: 'ack' } | { readonly kind: 'nak'; readonly delayMs: number; readonly error: unknown } | { readonly kind: 'term'; readonly error: unknown };

export interface Delivery {
  readonly id: string;
  readonly subject: JobSubject;
  readonly attempt: number;
  readonly payload: Uint8Array;
  /** The transport's in-progress signal (JetStream msg.working()), passed to the handler's context. */
  readonly working?: () => void;
}

/**
 * Decodes, runs the handler under the `ackWaitMs` deadline, and decides ack / nak(backoff) / term.
 * Never throws: every failure is an outcome.
 */
export async function runAttempt(d: Delivery, handler: JobHandler, opts: ResolvedConsumeOptions, logger: Logger): Promise<AttemptOutcome> {
  const ctl = new AbortController();
  let timer: NodeJS.Timeout | undefined;
  try {
    // Consume side of the contract: a payload that does not match is terminated (JOB_BAD_EVENT).
    const event = checkJob(d.subject, decodeEvent(d.payload), 'consume');
    const deadline = new Promise<never>((_, reject) => {
      timer = setTimeout(() => {
        const err = new JobError(JobErrorCode.TIMEOUT, `handler exceeded ackWaitMs=${opts.ackWaitMs}`);
        ctl.abort(err);
        reject(err);
      }, opts.ackWaitMs);
    });
    await Promise.race([
      (handler as JobHandler)(event, { id: d.id, subject: d.subject, attempt: d.attempt, signal: ctl.signal, working: d.working ?? (() => undefined) }),
      deadline,
    ]);
    return { kind: 'ack' };
  } catch (error) {
    const permanent = error instanceof JobError && error.permanent;
    if (permanent || d.attempt >= opts.maxDeliver) {
      logger.error('job terminated', { id: d.id, subject: d.subject, attempt: d.attempt, permanent, error });
      return { kind: 'term', error };
    }
    const delayMs = backoffFor(d.attempt, opts.backoffMs);
    logger.warn('job failed, will retry', { id: d.id, subject: d.subject, attempt: d.attempt, delayMs, error });
    return { kind: 'nak', delayMs, error };
  } finally {
    if (timer !== undefined) clearTimeout(timer);
  }
}

export function describeReason(error: unknown): string {
  if (error instanceof JobError) return `${error.code}: ${error.message}`;
  if (error instanceof Error) return `${error.name}: ${error.message}`;
  return String(error);
}
