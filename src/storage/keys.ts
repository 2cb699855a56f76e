// The one layout of the artifact store (disk under <data>/artifacts, or the NATS object store): every
// writer and every reader builds its keys here, so a key one node writes is the key another node looks
// for. Clinic first wherever a listing is scoped by clinic (models, task packs, recordings).
//
//   recordings/<clinic>/<session>.jmrl               finalised session recording (src/recordings)
//   finished/<clinic>/<stamp>-<session>.json         its listing entry (who, what, when), sortable by end time
//   models/<clinic>/<patient>/v<n>/{weights.bin,checkpoint.json}   patient checkpoint
//   retrain/<patient>/features/<stamp>-<session>.npz feature history of the patient's sessions
//   retrain/results/<job>.json                       retrain job result (idempotency marker, audit)
//   taskpacks/<clinic>/<id>.json                     task pack
//
// Every id passes through keySegment, so no id can add a '/' level or escape its prefix.

export const RECORDINGS_PREFIX = 'recordings';
export const FINISHED_PREFIX = 'finished';
export const MODELS_PREFIX = 'models';
export const TASKPACKS_PREFIX = 'taskpacks';
export const RETRAIN_PREFIX = 'retrain';
export const RECORDING_KEY_EXT = '.jmrl';

/** Key segment from any id: characters outside [A-Za-z0-9_.-] become `=XX` (reversible, key-safe). */
export function keySegment(id: string): string {
  const s = id.replace(/[^A-Za-z0-9_.-]/g, (c) => `=${c.charCodeAt(0).toString(16).padStart(2, '0')}`);
  return /^[A-Za-z0-9]/.test(s) ? s : `x${s}`;
}

/** `<kind>/<clinic>/`: what a clinic may list of one kind. */
export function clinicPrefix(kind: typeof RECORDINGS_PREFIX | typeof FINISHED_PREFIX | typeof MODELS_PREFIX | typeof TASKPACKS_PREFIX, clinic: string): string {
  return `${kind}/${keySegment(clinic)}/`;
}

/** The published, finalised recording of a session: written before `assessment.completed`. */
export function recordingKey(clinic: string, sessionId: string): string {
  return `${clinicPrefix(RECORDINGS_PREFIX, clinic)}${keySegment(sessionId)}${RECORDING_KEY_EXT}`;
}

/**
 * The listing entry of a published recording: `finished/<clinic>/<yyyymmddThhmmssZ>-<session>.json`,
 * so a clinic's keys sort by the time the session ended and the newest are the last.
 */
export function finishedKey(clinic: string, endedAt: Date, sessionId: string): string {
  return `${clinicPrefix(FINISHED_PREFIX, clinic)}${timeStamp(endedAt)}-${keySegment(sessionId)}.json`;
}

/** A patient checkpoint's id (the prefix of its two files); also the ModelRef id in the registry. */
export function checkpointId(clinic: string, patientId: string, version: number): string {
  return `${clinicPrefix(MODELS_PREFIX, clinic)}${keySegment(patientId)}/v${version}`;
}

export function historyPrefix(patientId: string): string {
  return `${RETRAIN_PREFIX}/${keySegment(patientId)}/features/`;
}

/** Sortable by time: `<yyyymmddThhmmssZ>-<session>.npz`. */
export function historyKey(patientId: string, endedAt: Date, sessionId: string): string {
  return `${historyPrefix(patientId)}${timeStamp(endedAt)}-${keySegment(sessionId)}.npz`;
}

/** `yyyymmddThhmmssZ`: sorts as text in time order (until year 9999). */
function timeStamp(at: Date): string {
  return at
    .toISOString()
    .replace(/[-:]/g, '')
    .replace(/\.\d+Z$/, 'Z');
}

export function retrainResultKey(jobId: string): string {
  return `${RETRAIN_PREFIX}/results/${keySegment(jobId)}.json`;
}

export function taskpackKey(clinic: string, id: string): string {
  return `${clinicPrefix(TASKPACKS_PREFIX, clinic)}${keySegment(id)}.json`;
}
