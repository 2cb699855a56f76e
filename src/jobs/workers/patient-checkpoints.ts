// Where patient checkpoints live. The artifact store is the source of truth (every node can read it);
// `modelsDir` is a local cache of checkpoint directories, because models/checkpoint.ts and the
// inference loader read directories. A ref's id is the artifact prefix `models/<clinic>/<patient>/v<version>` (the
// clinic first, so the server's catalog can scope models by clinic),
// its sha256 that of checkpoint.json (which itself pins weights.bin by SHA-256).
import { createHash, randomUUID } from 'node:crypto';
import { mkdir, readFile, rename, rm, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { CHECKPOINT_JSON, WEIGHTS_BIN } from '../../../models/checkpoint.js';
import { checkKey, type ArtifactStore } from '../../storage/artifact-store.js';
import type { ModelRef, ModelRegistry } from '../../storage/model-registry.js';
import { checkpointId } from '../../storage/keys.js';
import { RetrainError, RetrainErrorCode } from './retrain-errors.js';

export const PATIENT_MODEL_KIND = 'patient-adapter';

export function patientModelId(clinic: string, patientId: string, version: number): string {
  return checkpointId(clinic, patientId, version);
}

/** Local directory of a ref's checkpoint inside `modelsDir` (ids are key-safe, so this stays inside). */
export function localCheckpointDir(modelsDir: string, id: string): string {
  return join(modelsDir, ...id.split('/'));
}

const sha256 = (b: Uint8Array): string => createHash('sha256').update(b).digest('hex');

/**
 * Copies a saved checkpoint directory into the artifact store: weights first, checkpoint.json last
 * (its presence means the pair is complete, as on disk). Returns the ref to register.
 */
export async function publishCheckpoint(artifacts: ArtifactStore, dir: string, clinic: string, patientId: string, version: number): Promise<ModelRef> {
  const id = patientModelId(clinic, patientId, version);
  const weights = await readFile(join(dir, WEIGHTS_BIN));
  const json = await readFile(join(dir, CHECKPOINT_JSON));
  await artifacts.put(`${id}/${WEIGHTS_BIN}`, weights);
  const put = await artifacts.put(`${id}/${CHECKPOINT_JSON}`, json);
  return { id, version, sha256: put.sha256, kind: PATIENT_MODEL_KIND };
}

async function exists(path: string): Promise<boolean> {
  try {
    await stat(path);
    return true;
  } catch {
    return false;
  }
}

/**
 * Makes the ref's checkpoint available as a local directory (downloading it from the artifact store
 * when this node does not have it) and verifies checkpoint.json against `ref.sha256`; weights.bin is
 * verified by loadCheckpoint against the SHA-256 inside checkpoint.json.
 */
export async function materializeCheckpoint(artifacts: ArtifactStore, modelsDir: string, ref: ModelRef): Promise<string> {
  const dir = localCheckpointDir(modelsDir, ref.id);
  const jsonPath = join(dir, CHECKPOINT_JSON);
  if (await exists(jsonPath)) {
    if (sha256(await readFile(jsonPath)) === ref.sha256) return dir;
  }
  const json = await artifacts.get(`${ref.id}/${CHECKPOINT_JSON}`);
  if (sha256(json) !== ref.sha256) {
    throw new RetrainError(RetrainErrorCode.IO, `artifact ${ref.id}/${CHECKPOINT_JSON} does not match the registered SHA-256 ${ref.sha256}`);
  }
  const weights = await artifacts.get(`${ref.id}/${WEIGHTS_BIN}`);
  // Same write order as saveCheckpoint: checkpoint.json appears last, via rename.
  await mkdir(dir, { recursive: true });
  const tmp = `.${randomUUID()}.tmp`;
  try {
    await writeFile(join(dir, `${WEIGHTS_BIN}${tmp}`), weights);
    await rename(join(dir, `${WEIGHTS_BIN}${tmp}`), join(dir, WEIGHTS_BIN));
    await writeFile(join(dir, `${CHECKPOINT_JSON}${tmp}`), json);
    await rename(join(dir, `${CHECKPOINT_JSON}${tmp}`), jsonPath);
  } finally {
    await rm(join(dir, `${WEIGHTS_BIN}${tmp}`), { force: true });
    await rm(join(dir, `${CHECKPOINT_JSON}${tmp}`), { force: true });
  }
  return dir;
}

/**
 * The `resolve` for src/inference/checkpoint-loader.ts `createCheckpointLoader`: ref string = the
 * registered id (what the hot-swap passes to `swapModel`), undefined = the patient's current model.
 * null = no patient model (served by the base).
 */
export function createPatientCheckpointResolver(deps: {
  registry: ModelRegistry;
  artifacts: ArtifactStore;
  modelsDir: string;
}): (patientId: string, ref: string | undefined) => Promise<string | null> {
  return async (patientId, refId) => {
    const current = await deps.registry.get(patientId);
    if (!current) return null;
    // An older id than the registered one is still served if asked for; the registry only knows the
    // current sha, so older refs are trusted by checkpoint.json's own weights hash.
    if (refId === undefined || refId === current.id) return materializeCheckpoint(deps.artifacts, deps.modelsDir, current);
    checkKey(refId); // never a path outside modelsDir
    const dir = localCheckpointDir(deps.modelsDir, refId);
    return (await exists(join(dir, CHECKPOINT_JSON))) ? dir : null;
  };
}
