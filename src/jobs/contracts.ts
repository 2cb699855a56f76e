// Every payload that crosses the bus, as ONE zod module: the publisher validates before sending and
// the consumer validates what it receives, with the same schema (the schema is the type). Two kinds of
// subjects, kept apart on purpose:
//   jobs          work to do, each handled by exactly one worker (JetStream work queue / in-process queue)
//   notifications facts that happened, seen by anyone interested, stored only as retained history
//                 (a limits-based stream that drops the oldest): never in the work queue, where nothing
//                 would consume them and they would fill it.
import { z } from 'zod';
import { Id } from '../protocol/fields.js';
import { JobError, JobErrorCode } from './errors.js';

/** Work-queue subjects: each event is handled by ONE worker. */
export const JobSubject = {
  ASSESSMENT_COMPLETED: 'assessment.completed',
  TASKPACK_REQUESTED: 'taskpack.requested',
} as const;
export type JobSubject = (typeof JobSubject)[keyof typeof JobSubject];
export const JOB_SUBJECTS: readonly JobSubject[] = Object.values(JobSubject);

/** Notification subjects: fan-out to every subscriber, never queued as work. */
export const NoticeSubject = {
  MODEL_UPDATED: 'model.updated',
  TASKPACK_READY: 'taskpack.ready',
} as const;
export type NoticeSubject = (typeof NoticeSubject)[keyof typeof NoticeSubject];
export const NOTICE_SUBJECTS: readonly NoticeSubject[] = Object.values(NoticeSubject);

/** Ids as they appear in keys and subjects: letters, digits, `_ . - : @`, slashes for store keys. */
const Key = z
  .string()
  .min(1)
  .max(512)
  .regex(/^[\w.:\-/@]+$/);
/** A clinic or patient id exactly as the wire protocol and the tokens accept it: a job must never
 *  refuse an id the session that produced it was allowed to use. */
const Token = Id;
const Sha256 = z.string().regex(/^[0-9a-f]{64}$/);
const IsoTime = z.iso.datetime({ offset: true });

/** Why a session was finalised. */
export const FinishReason = z.enum(['end', 'resume_expired', 'shutdown', 'recovered']);
export type FinishReason = z.infer<typeof FinishReason>;

/** The model that served a session (as `ready.model` told the device). */
export const ServedModel = z.object({
  id: z.string().min(1).max(512),
  kind: z.enum(['pretrained', 'patient']),
  version: z.string().min(1).max(64),
});
export type ServedModel = z.infer<typeof ServedModel>;

/** A registered checkpoint (src/storage/model-registry ModelRef, repeated here as wire data). */
export const RegisteredModel = z.object({
  id: z.string().min(1).max(512),
  version: z.number().int().nonnegative(),
  sha256: Sha256,
  kind: z.string().min(1).max(64),
});
export type RegisteredModel = z.infer<typeof RegisteredModel>;

/** `assessment.completed` (job): a session's recording is final; retrain the patient's model. */
export const AssessmentCompleted = z.object({
  sessionId: z.string().min(1).max(200),
  clinic: Token,
  patientId: Token,
  assessment: z.string().min(1).max(64),
  model: ServedModel,
  startedAt: IsoTime,
  endedAt: IsoTime,
  reason: FinishReason,
  recording: z.object({
    /** Where the finished `.jmrl` log is: a local path on the recording node, or an artifact key. */
    path: z.string().min(1).max(4096),
    /** SHA-256 of the whole finished file. */
    sha256: Sha256,
    /** Frame records (each accepted frame exactly once). */
    frames: z.number().int().nonnegative(),
    /** All records (session record, hello, env, frames, end). */
    records: z.number().int().nonnegative(),
  }),
});
export type AssessmentCompleted = z.infer<typeof AssessmentCompleted>;

/** `model.updated` (notification): a patient model was registered; nodes hot-swap from the registry. */
export const ModelUpdated = z.object({
  clinic: Token,
  patientId: Token,
  ref: RegisteredModel,
  /** The assessment.completed job that produced it (the first of a coalesced batch). */
  jobId: Key,
  /** Every session whose recording the model was trained on in this run (≥ 1). */
  sessionIds: z.array(z.string().min(1).max(200)).min(1).max(1000),
});
export type ModelUpdated = z.infer<typeof ModelUpdated>;

/** `taskpack.requested` (job): build the task pack of one assessed session. */
export const TaskpackRequested = z.object({
  jobId: Key,
  clinic: Token,
  patientId: Token,
  sessionId: z.string().min(1).max(200),
  /** Artifact-store key of the session recording. */
  recordingKey: Key,
  recordingSha256: Sha256,
  assessment: z.string().min(1).max(64),
  /** The model that served the session (assessment.completed's `model`). */
  model: ServedModel,
});
export type TaskpackRequested = z.infer<typeof TaskpackRequested>;

/** `taskpack.ready` (notification): a task pack is stored and can be fetched by key. */
export const TaskpackReady = z.object({
  taskpackId: Key,
  clinic: Token,
  patientId: Token,
  sessionId: z.string().min(1).max(200),
  /** Artifact-store key of the task pack. */
  key: Key,
  /** Artifact-store key of its audit report. */
  reportKey: Key,
  createdAt: IsoTime,
});
export type TaskpackReady = z.infer<typeof TaskpackReady>;

export const JOB_CONTRACTS = {
  [JobSubject.ASSESSMENT_COMPLETED]: AssessmentCompleted,
  [JobSubject.TASKPACK_REQUESTED]: TaskpackRequested,
} as const;
export const NOTICE_CONTRACTS = {
  [NoticeSubject.MODEL_UPDATED]: ModelUpdated,
  [NoticeSubject.TASKPACK_READY]: TaskpackReady,
} as const;

export type JobPayload<S extends JobSubject> = z.infer<(typeof JOB_CONTRACTS)[S]>;
export type NoticePayload<S extends NoticeSubject> = z.infer<(typeof NOTICE_CONTRACTS)[S]>;

export function isJobSubject(s: string): s is JobSubject {
  return (JOB_SUBJECTS as readonly string[]).includes(s);
}
export function isNoticeSubject(s: string): s is NoticeSubject {
  return (NOTICE_SUBJECTS as readonly string[]).includes(s);
}

/**
 * Validates a job payload against its contract. `side` says who found the problem: a bad payload on
 * publish is the caller's bug; on consume it is a poison message (permanent: terminated, not retried).
 */
export function checkJob<S extends JobSubject>(subject: S, payload: unknown, side: 'publish' | 'consume'): JobPayload<S> {
  return check(JOB_CONTRACTS[subject], subject, payload, side) as JobPayload<S>;
}

export function checkNotice<S extends NoticeSubject>(subject: S, payload: unknown, side: 'publish' | 'consume'): NoticePayload<S> {
  return check(NOTICE_CONTRACTS[subject], subject, payload, side) as NoticePayload<S>;
}

function check(schema: z.ZodType, subject: string, payload: unknown, side: 'publish' | 'consume'): unknown {
  const r = schema.safeParse(payload);
  if (r.success) return r.data;
  const issues = r.error.issues.map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`).join('; ');
  throw new JobError(JobErrorCode.BAD_EVENT, `${subject} payload refused on ${side}: ${issues.slice(0, 900)}`, { permanent: true });
}
