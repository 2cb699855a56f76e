import { createHash } from 'node:crypto';
import { mkdtemp, readFile, readdir, rm, stat, writeFile, mkdir } from 'node:fs/promises';
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

it('putFile links a finalised file instead of copying it; a later put replaces the link, never the file', async () => {
  const root = await mkdtemp(join(tmpdir(), 'artifacts-'));
  try {
    const store = await DiskArtifactStore.open(join(root, 'store'), { maxBytes: 100 });
    const file = join(root, 'rec.jmrl');
    const bytes = new TextEncoder().encode('a finalised recording');
    await writeFile(file, bytes);
    const r = await store.putFile('recordings/c1/s1.jmrl', file);
    expect(r).toEqual({ sha256: createHash('sha256').update(bytes).digest('hex'), size: bytes.length });
    const stored = join(root, 'store', 'recordings', 'c1', 's1.jmrl');
    // One inode, two names: the bytes are on disk once.
    expect((await stat(stored)).ino).toBe((await stat(file)).ino);
    expect((await stat(file)).nlink).toBe(2);
    expect(await store.get('recordings/c1/s1.jmrl')).toEqual(bytes);
    await store.put('recordings/c1/s1.jmrl', new Uint8Array([1, 2, 3]));
    expect(new Uint8Array(await readFile(file))).toEqual(bytes);
    expect((await stat(file)).nlink).toBe(1);
    // Bounded like put.
    await writeFile(file, new Uint8Array(200));
    await expect(store.putFile('recordings/c1/big.jmrl', file)).rejects.toMatchObject({ code: 'STORAGE_ARTIFACT_TOO_LARGE' });
    expect(await readdir(join(root, 'store', '.tmp'))).toEqual([]);
  } finally {
    await rm(root, { recursive: true, force: true });
  }
});
