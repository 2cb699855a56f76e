import { mkdtemp, readdir, rm, writeFile, mkdir } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect, it } from 'vitest';
import { DiskArtifactStore } from '../../../src/storage/disk-artifact-store.js';
import { artifactStoreSuite } from './artifact-store.suite.js';

artifactStoreSuite('local disk', async ({ maxBytes }) => {
  const root = await mkdtemp(join(tmpdir(), 'artifacts-'));
  return { store: await DiskArtifactStore.open(root, { maxBytes }), dispose: () => rm(root, { recursive: true, force: true }) };
});

it('leaves no temp files behind and clears those of a crashed writer on open', async () => {
  const root = await mkdtemp(join(tmpdir(), 'artifacts-'));
  try {
    await mkdir(join(root, '.tmp'), { recursive: true });
    await writeFile(join(root, '.tmp', 'crashed-writer'), 'partial');
    const store = await DiskArtifactStore.open(root, { maxBytes: 100 });
    await store.put('a/b', new Uint8Array(10));
    await expect(store.put('a/c', new Uint8Array(200))).rejects.toThrow();
    expect(await readdir(join(root, '.tmp'))).toEqual([]);
    expect(await store.list('')).toEqual(['a/b']);
  } finally {
    await rm(root, { recursive: true, force: true });
  }
});
