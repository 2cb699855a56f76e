// Valid job payloads (src/jobs/contracts.ts) for bus tests: the bus refuses anything else.
import type { AssessmentCompleted, ModelUpdated, TaskpackRequested } from '../../../src/jobs/contracts.js';

const SHA = 'a'.repeat(64);

/** An `assessment.completed` event told apart by its session id. */
export function completed(
  sessionId: string,
  o: { patientId?: string; clinic?: string; path?: string; sha256?: string; frames?: number } = {},
): AssessmentCompleted {
  return {
    sessionId,
    clinic: o.clinic ?? 'clinic-1',
    patientId: o.patientId ?? 'patient-1',
    assessment: 'gait',
    model: { id: 'pretrained', kind: 'pretrained', version: 'abc123' },
    startedAt: '2026-01-01T10:00:00.000Z',
    endedAt: '2026-01-01T10:01:00.000Z',
    reason: 'end',
    recording: { path: o.path ?? `/data/recordings/${sessionId}.jmrl`, sha256: o.sha256 ?? SHA, frames: o.frames ?? 600, records: (o.frames ?? 600) + 4 },
  };
}

export function taskpackRequest(sessionId: string): TaskpackRequested {
  return {
    jobId: `taskpack.${sessionId}`,
    clinic: 'clinic-1',
    patientId: 'patient-1',
    sessionId,
    recordingKey: `recordings/clinic-1/${sessionId}.jmrl`,
    recordingSha256: SHA,
    assessment: 'gait',
    model: { id: 'pretrained', kind: 'pretrained', version: 'abc123' },
  };
}

export function modelUpdated(patientId: string, version: number, sessionId = `s-${version}`): ModelUpdated {
  return {
    clinic: 'clinic-1',
    patientId,
    ref: { id: `models-clinic-1-${patientId}-v${version}`, version, sha256: SHA, kind: 'patient-adapter' },
    jobId: `assessment.completed.${sessionId}`,
    sessionIds: [sessionId],
  };
}
