// The `assessment.completed` event the server publishes when a session's recording is final (after
// `end`, resume-window expiry, shutdown, or crash recovery at start). The event id doubles as the
// job id the device sees in `ended` and as the bus's idempotency key: one job per session.
import type { ModelRef } from './types.js';

export const ASSESSMENT_COMPLETED = 'assessment.completed';

export type FinishReason = 'end' | 'resume_expired' | 'shutdown' | 'recovered';

export interface AssessmentCompleted {
  readonly sessionId: string;
  readonly clinic: string;
  readonly patientId: string;
  readonly assessment: string;
  readonly model: ModelRef;
  /** ISO 8601. */
  readonly startedAt: string;
  readonly endedAt: string;
  readonly reason: FinishReason;
  readonly recording: {
    /** Path of the finalised `.jmrl` recording log (object-store key in distributed mode). */
    readonly path: string;
    /** SHA-256 of the whole finished file. */
    readonly sha256: string;
    /** Frame records (each accepted frame exactly once). */
    readonly frames: number;
    /** All records (session record, hello, env, frames, end). */
    readonly records: number;
  };
}

/** A wire Id (letters, digits, `_ . -`), unique per session. */
export const jobIdFor = (sessionId: string): string => `${ASSESSMENT_COMPLETED}.${sessionId}`;

export function assessmentCompleted(
  s: {
    readonly sessionId: string;
    readonly clinic: string;
    readonly patientId: string;
    readonly assessment: string;
    readonly model: ModelRef;
    readonly startedAt: number;
  },
  rec: { readonly path: string; readonly sha256: string; readonly frames: number; readonly records: number },
  reason: FinishReason,
  endedAtMs: number,
): AssessmentCompleted {
  return {
    sessionId: s.sessionId,
    clinic: s.clinic,
    patientId: s.patientId,
    assessment: s.assessment,
    model: { id: s.model.id, kind: s.model.kind, version: s.model.version },
    startedAt: new Date(s.startedAt).toISOString(),
    endedAt: new Date(endedAtMs).toISOString(),
    reason,
    recording: { path: rec.path, sha256: rec.sha256, frames: rec.frames, records: rec.records },
  };
}
