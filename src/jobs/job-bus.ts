// The job bus contract shared by the in-process and the NATS JetStream implementations.
import { Packr } from 'msgpackr';
import { JOB_SUBJECTS, checkJob, isJobSubject, type JobPayload, type JobSubject } from './contracts.js';
import { JobError, JobErrorCode } from './errors.js';

export { JOB_SUBJECTS, JobSubject } from './contracts.js';

export interface PublishOptions {
  /** Idempotency key: a second publish with the same id (within the dedup window) is dropped. */
  readonly id: string;
}

export interface PublishResult {
  /** `sent`: durably accepted by the bus (JetStream ack / in-process queue). `queued`: NATS is
   *  unreachable, the event is fsynced in the local outbox and will be sent in order later. */
  readonly status: 'sent' | 'queued';
  /** The bus had already seen this id: the event will not be delivered again. */
  readonly duplicate: boolean;
}

export interface JobContext<S extends JobSubject = JobSubject> {
  readonly id: string;
  readonly subject: S;
  /** 1 on first delivery. */
  readonly attempt: number;
  /** Aborted when the attempt exceeds `ackWaitMs` or the consumer is stopped hard. */
  readonly signal: AbortSignal;
  /** Tells the bus the job is still being worked on (JetStream `working()`: the server's redelivery
   *  timer restarts). Long handlers call it between steps. A no-op on the in-process bus. */
  readonly working?: () => void;
}

/** Resolve → ack. Throw → nak with backoff, or term after `maxDeliver` / on a permanent JobError.
 *  The event has passed its subject's contract (src/jobs/contracts.ts); one that does not is
 *  terminated with JOB_BAD_EVENT before any handler sees it. */
export type JobHandler<S extends JobSubject = JobSubject> = (event: JobPayload<S>, ctx: JobContext<S>) => Promise<void>;

export interface SettledInfo {
  readonly id: string;
  readonly subject: JobSubject;
  readonly attempt: number;
  readonly outcome: 'ack' | 'nak' | 'term';
  readonly error?: unknown;
}

export interface ConsumeOptions {
  /** Handlers running at once for this consumer. Default 1. */
  readonly concurrency?: number;
  /** Deliveries before a failing job is terminated. Default 5. */
  readonly maxDeliver?: number;
  /** Per-attempt deadline: the handler's signal aborts and the attempt fails. On NATS also the
   *  redelivery window if this worker dies (ack_wait = ackWaitMs + a small grace). Default 10 min. */
  readonly ackWaitMs?: number;
  /**
   * On NATS: how soon a job whose worker died is redelivered (the server's ack_wait), separate from the
   * attempt deadline `ackWaitMs`: while the handler runs, the bus tells the server every third of this
   * that the job is in progress (working()), so a live job is not redelivered however long it takes
   * (up to ackWaitMs), and a dead worker's job moves on after this. Default: no heartbeat, ack_wait =
   * ackWaitMs + a small grace. Ignored by the in-process bus (its jobs die with the process).
   */
  readonly redeliverAfterMs?: number;
  /** Nak delay per attempt (last value repeats). Default 1 s, 5 s, 30 s, 2 min. */
  readonly backoffMs?: readonly number[];
  /** Called after the ack/nak/term went out (dead-lettering, metrics, tests). Must not throw. */
  readonly onSettled?: (info: SettledInfo) => void;
}

export interface Consumption {
  /** Stops taking jobs and resolves once every running handler has settled (and been acked/naked). */
  stop(): Promise<void>;
}

export interface JobBus {
  /** Rejects with JOB_BAD_EVENT (nothing sent) when `event` does not match the subject's contract. */
  publish<S extends JobSubject>(subject: S, event: JobPayload<S>, opts: PublishOptions): Promise<PublishResult>;
  consume<S extends JobSubject>(subject: S, handler: JobHandler<S>, opts?: ConsumeOptions): Promise<Consumption>;
  /** Jobs on `subject` not yet acknowledged (queued, waiting for retry, or running). */
  depth(subject: JobSubject): Promise<number>;
  /** Stops consumers (draining) and releases resources; queued in-process jobs are lost. */
  close(): Promise<void>;
}

export const DEFAULT_CONCURRENCY = 1;
export const DEFAULT_MAX_DELIVER = 5;
export const DEFAULT_ACK_WAIT_MS = 10 * 60_000;
export const DEFAULT_BACKOFF_MS: readonly number[] = [1_000, 5_000, 30_000, 120_000];
const MAX_ID_LENGTH = 200;
const ID_PATTERN = /^[\w.:\-/@]+$/;

export interface ResolvedConsumeOptions {
  readonly concurrency: number;
  readonly maxDeliver: number;
  readonly ackWaitMs: number;
  readonly redeliverAfterMs: number | undefined;
  readonly backoffMs: readonly number[];
  readonly onSettled: (info: SettledInfo) => void;
}

export function resolveConsumeOptions(o: ConsumeOptions = {}): ResolvedConsumeOptions {
  const r = {
    concurrency: o.concurrency ?? DEFAULT_CONCURRENCY,
    maxDeliver: o.maxDeliver ?? DEFAULT_MAX_DELIVER,
    ackWaitMs: o.ackWaitMs ?? DEFAULT_ACK_WAIT_MS,
    redeliverAfterMs: o.redeliverAfterMs,
    backoffMs: o.backoffMs ?? DEFAULT_BACKOFF_MS,
    onSettled: o.onSettled ?? (() => undefined),
  };
  if (!Number.isInteger(r.concurrency) || r.concurrency < 1) throw badRequest(`concurrency must be an integer >= 1, got ${r.concurrency}`);
  if (!Number.isInteger(r.maxDeliver) || r.maxDeliver < 1) throw badRequest(`maxDeliver must be an integer >= 1, got ${r.maxDeliver}`);
  if (!(r.ackWaitMs > 0)) throw badRequest(`ackWaitMs must be > 0, got ${r.ackWaitMs}`);
  if (r.redeliverAfterMs !== undefined && !(r.redeliverAfterMs >= 300))
    throw badRequest(`redeliverAfterMs must be >= 300 (heartbeats every third of it), got ${r.redeliverAfterMs}`);
  if (r.backoffMs.length === 0 || r.backoffMs.some((b) => !(b >= 0))) throw badRequest('backoffMs must be a non-empty list of delays >= 0');
  return r;
}

export function backoffFor(attempt: number, backoffMs: readonly number[]): number {
  return backoffMs[Math.min(attempt - 1, backoffMs.length - 1)] ?? 0;
}

export function checkSubject<S extends JobSubject>(subject: S): S {
  if (!isJobSubject(subject)) throw badRequest(`unknown job subject ${JSON.stringify(subject)} (jobs: ${JOB_SUBJECTS.join(', ')})`);
  return subject;
}

/** Publish side of the contract: validate, then encode. */
export function encodeJob(subject: JobSubject, event: unknown): Uint8Array {
  return encodeEvent(checkJob(subject, event, 'publish'));
}

export function checkId(id: string): string {
  if (typeof id !== 'string' || id.length === 0 || id.length > MAX_ID_LENGTH || !ID_PATTERN.test(id)) {
    throw badRequest(`job id must be 1..${MAX_ID_LENGTH} chars of [A-Za-z0-9_.:-/@], got ${JSON.stringify(id)}`);
  }
  return id;
}

const packr = new Packr({ useRecords: false, moreTypes: true });

export function encodeEvent(event: unknown): Uint8Array {
  try {
    return packr.pack(event);
  } catch (cause) {
    throw new JobError(JobErrorCode.ENCODE, 'job event cannot be encoded as msgpack', { cause, permanent: true });
  }
}

export function decodeEvent(bytes: Uint8Array): unknown {
  try {
    return packr.unpack(bytes);
  } catch (cause) {
    throw new JobError(JobErrorCode.DECODE, 'job payload is not valid msgpack', { cause, permanent: true });
  }
}

function badRequest(message: string): JobError {
  return new JobError(JobErrorCode.BAD_REQUEST, message, { permanent: true });
}
