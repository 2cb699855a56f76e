/**
 * A `loadModel` for the inference service backed by checkpoint directories (models/checkpoint.ts):
 * the patient's checkpoint must be a patient-kind checkpoint trained on the service's base (same base
 * weights SHA-256 and feature names), else the load fails with the ModelError as cause — a patient is
 * never served by an adapter that belongs to another base.
 */
import { checkPatientBase, loadCheckpoint, type LoadedCheckpoint } from '../../models/checkpoint.js';
import { InferenceError, InferenceErrorCode } from './errors.js';
import type { PatientModel } from './model-cache.js';

export interface CheckpointLoaderOptions {
  /** The base checkpoint the workers serve (loadCheckpoint of the same dir as the engine's). */
  readonly base: LoadedCheckpoint;
  /**
   * Where a patient's checkpoint lives: `ref` as given to swapModel (may be undefined: "the current
   * one"); null = the patient has no own model yet and is served by the base.
   */
  readonly resolve: (patientId: string, ref: string | undefined) => Promise<string | null>;
}

export function createCheckpointLoader(opts: CheckpointLoaderOptions): (patientId: string, ref: string | undefined) => Promise<PatientModel> {
  if (opts.base.kind !== 'base')
    throw new InferenceError(InferenceErrorCode.INVALID_OPTIONS, `base checkpoint ${opts.base.dir} is a ${opts.base.kind} checkpoint`);
  return async (patientId, ref) => {
    const dir = await opts.resolve(patientId, ref);
    if (dir === null) return { ref: 'base', adapter: null };
    const ck = await loadCheckpoint(dir);
    if (ck.kind !== 'patient') {
      throw new InferenceError(InferenceErrorCode.MODEL_LOAD_FAILED, `${dir} is a ${ck.kind} checkpoint; patients are served as adapters on the shared base`);
    }
    checkPatientBase(opts.base, ck);
    return { ref: ref ?? dir, adapter: ck.adapter };
  };
}
