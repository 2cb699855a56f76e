import { createHash } from 'node:crypto';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  createPatientCheckpointResolver,
  localCheckpointDir,
  materializeCheckpoint,
  patientModelId,
  publishCheckpoint,
} from '../../../../src/jobs/workers/patient-checkpoints.js';
import { RetrainError, RetrainErrorCode } from '../../../../src/jobs/workers/retrain-errors.js';
import { DiskArtifactStore } from '../../../../src/storage/disk-artifact-store.js';
import { StorageError } from '../../../../src/storage/errors.js';
import { LocalModelRegistry } from '../../../../src/storage/model-registry.js';

// Checkpoint *contents* are models/checkpoint.ts's business (tested there); here only where the
// bytes go and that they are verified, so two small files stand in for a checkpoint directory.
let dir: string;
let src: string;
const json = Buffer.from('{"format":"jepa-motion.checkpoint"}');
const weights = Buffer.from([1, 2, 3, 4, 5, 6, 7, 8]);

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'jm-pck-'));
  src = join(dir, 'src');
  await mkdir(src);
  await writeFile(join(src, 'checkpoint.json'), json);
  await writeFile(join(src, 'weights.bin'), weights);
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('patient checkpoints in the artifact store', () => {
  it('publishes, registers and materialises on another node byte for byte', async () => {
    const store = await DiskArtifactStore.open(join(dir, 'store'));
    const ref = await publishCheckpoint(store, src, 'clinic-a', 'p-1', 3);
    expect(ref).toEqual({ id: 'models/clinic-a/p-1/v3', version: 3, sha256: createHash('sha256').update(json).digest('hex'), kind: 'patient-adapter' });
    expect(patientModelId('clinic-a', 'p-1', 3)).toBe(ref.id);
    expect(ref.id).toBe('models/clinic-a/p-1/v3');
    const registry = await LocalModelRegistry.open();
    const resolve = createPatientCheckpointResolver({ registry, artifacts: store, modelsDir: join(dir, 'node2') });
    expect(await resolve('p-1', undefined)).toBeNull();
    await registry.register('p-1', ref);
    const got = await resolve('p-1', undefined);
    expect(got).toBe(localCheckpointDir(join(dir, 'node2'), ref.id));
    expect(await readFile(join(got!, 'checkpoint.json'))).toEqual(json);
    expect(await readFile(join(got!, 'weights.bin'))).toEqual(weights);
    expect(await resolve('p-1', ref.id)).toBe(got);
    expect(await resolve('p-1', 'models/p-1/v1')).toBeNull();
    await expect(resolve('p-1', '../../etc')).rejects.toBeInstanceOf(StorageError);
  });

  it('refuses a stored checkpoint.json whose hash is not the registered one', async () => {
    const store = await DiskArtifactStore.open(join(dir, 'store2'));
    const ref = await publishCheckpoint(store, src, 'clinic-a', 'p-2', 1);
    await store.put(`${ref.id}/checkpoint.json`, Buffer.from('{"tampered":true}'));
    const err = await materializeCheckpoint(store, join(dir, 'node3'), ref).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(RetrainError);
    expect((err as RetrainError).code).toBe(RetrainErrorCode.IO);
  });
});
