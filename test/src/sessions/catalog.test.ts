import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createCatalog } from '../../../src/sessions/catalog.js';
import { DiskArtifactStore } from '../../../src/storage/disk-artifact-store.js';
import { LocalModelRegistry } from '../../../src/storage/model-registry.js';

let dir = '';
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'jm-catalog-'));
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

const sha = 'a'.repeat(64);
const pretrained = { id: 'pretrained', kind: 'pretrained' as const, version: '1' };

describe('catalog (real local registry and disk artifact store)', () => {
  it('chooses the patient model of the same clinic, else the pretrained one', async () => {
    const registry = await LocalModelRegistry.open({ file: join(dir, 'registry.json') });
    const artifacts = await DiskArtifactStore.open(join(dir, 'artifacts'));
    await registry.register('p1', { id: 'models/c1/p1/v3', version: 3, sha256: sha, kind: 'patient-adapter' });
    await registry.register('p2', { id: 'models/c2/p2/v1', version: 1, sha256: sha, kind: 'patient-adapter' });
    const cat = createCatalog({ registry, artifacts, pretrained });
    expect(await cat.modelFor('c1', 'p1')).toEqual({ id: 'models/c1/p1/v3', kind: 'patient', version: '3' });
    expect(await cat.modelFor('c1', 'p2')).toEqual(pretrained); // another clinic's model is never served
    expect(await cat.modelFor('c1', 'p9')).toEqual(pretrained);
    const listed = await cat.listModels('c1');
    expect(listed.map((m) => m.id)).toEqual(['pretrained', 'models/c1/p1/v3']);
  });

  it('lists and reads task packs of one clinic only; bad ids are not found', async () => {
    const registry = await LocalModelRegistry.open();
    const artifacts = await DiskArtifactStore.open(join(dir, 'artifacts'));
    const enc = (v: unknown) => new TextEncoder().encode(JSON.stringify(v));
    await artifacts.put('taskpacks/c1/s-1.json', enc({ id: 's-1', metrics: { steps: 4 } }));
    await artifacts.put('taskpacks/c2/s-2.json', enc({ id: 's-2' }));
    const cat = createCatalog({ registry, artifacts, pretrained });
    expect(await cat.listTaskpacks('c1')).toEqual([{ id: 's-1', key: 'taskpacks/c1/s-1.json' }]);
    expect(await cat.getTaskpack('c1', 's-1')).toEqual({ id: 's-1', metrics: { steps: 4 } });
    expect(await cat.getTaskpack('c1', 's-2')).toBeUndefined();
    expect(await cat.getTaskpack('c1', '../c2/s-2')).toBeUndefined();
  });
});
