import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect, it } from 'vitest';
import { StorageErrorCode } from '../../../src/storage/errors.js';
import { LocalModelRegistry } from '../../../src/storage/model-registry.js';
import { modelRegistrySuite, ref } from './model-registry.suite.js';

modelRegistrySuite('local (in memory)', async () => {
  const reg = await LocalModelRegistry.open();
  return { a: reg, b: reg, dispose: async () => undefined };
});

modelRegistrySuite('local (file-backed)', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'registry-'));
  const reg = await LocalModelRegistry.open({ file: join(dir, 'models.json') });
  return { a: reg, b: reg, dispose: () => rm(dir, { recursive: true, force: true }) };
});

it('persists registrations across reopen and refuses a malformed file', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'registry-'));
  try {
    const file = join(dir, 'models.json');
    const a = await LocalModelRegistry.open({ file });
    await a.register('p1', ref(3));
    await a.register('p2', ref(1));
    const b = await LocalModelRegistry.open({ file });
    expect(await b.list()).toEqual([
      { patientId: 'p1', ref: ref(3) },
      { patientId: 'p2', ref: ref(1) },
    ]);
    await expect(b.register('p1', ref(3))).rejects.toMatchObject({ code: StorageErrorCode.REGISTRY_STALE });
    await writeFile(file, '{"p1": {"id": "x"}}');
    await expect(LocalModelRegistry.open({ file })).rejects.toMatchObject({ code: StorageErrorCode.REGISTRY_MALFORMED });
    await writeFile(file, '{not json');
    await expect(LocalModelRegistry.open({ file })).rejects.toMatchObject({ code: StorageErrorCode.REGISTRY_MALFORMED });
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});
