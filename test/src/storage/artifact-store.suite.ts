// One behavioural suite for every ArtifactStore (local disk, NATS object store).
import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import type { ArtifactStore } from '../../../src/storage/artifact-store.js';
import { StorageErrorCode } from '../../../src/storage/errors.js';

export interface StoreFixture {
  readonly store: ArtifactStore;
  dispose(): Promise<void>;
}

const sha = (b: Uint8Array): string => createHash('sha256').update(b).digest('hex');
const bytes = (n: number, seed = 1): Uint8Array => Uint8Array.from({ length: n }, (_, i) => (i * 31 + seed) & 0xff);

async function* chunks(data: Uint8Array, size: number, failAfter?: number): AsyncGenerator<Uint8Array> {
  for (let off = 0, k = 0; off < data.length; off += size, k++) {
    if (failAfter !== undefined && k === failAfter) throw new Error('source broke');
    yield data.subarray(off, off + size);
  }
}

export function artifactStoreSuite(name: string, make: (opts: { maxBytes: number }) => Promise<StoreFixture>): void {
  describe(`ArtifactStore contract: ${name}`, () => {
    const withStore =
      (fn: (s: ArtifactStore) => Promise<void>, maxBytes = 8 * 1024 * 1024) =>
      async () => {
        const f = await make({ maxBytes });
        try {
          await fn(f.store);
        } finally {
          await f.dispose();
        }
      };

    it(
      'stores bytes and streams, reporting sha256 and size, and reads them back',
      withStore(async (s) => {
        const small = bytes(1000);
        expect(await s.put('recordings/c1/s1.jmrl', small)).toEqual({ sha256: sha(small), size: 1000 });
        const big = bytes(3 * 1024 * 1024 + 17, 7); // spans many object-store chunks
        expect(await s.put('models/p1/v2.ckpt', chunks(big, 65_536))).toEqual({ sha256: sha(big), size: big.length });
        expect(await s.put('empty', new Uint8Array(0))).toEqual({ sha256: sha(new Uint8Array(0)), size: 0 });
        expect(sha(await s.get('recordings/c1/s1.jmrl'))).toBe(sha(small));
        expect(sha(await s.get('models/p1/v2.ckpt'))).toBe(sha(big));
        expect((await s.get('empty')).length).toBe(0);
        expect(await s.has('models/p1/v2.ckpt')).toBe(true);
        expect(await s.has('models/p1/v3.ckpt')).toBe(false);
        expect(await s.has('models/p1')).toBe(false);
        await expect(s.get('models/p1/v3.ckpt')).rejects.toMatchObject({ name: 'StorageError', code: StorageErrorCode.ARTIFACT_NOT_FOUND });
      }),
    );

    it(
      'overwrites atomically: a failed or oversized put leaves the previous object intact',
      withStore(async (s) => {
        const v1 = bytes(5000, 1);
        await s.put('taskpacks/j1.json', v1);
        await expect(s.put('taskpacks/j1.json', chunks(bytes(5000, 2), 1000, 3))).rejects.toThrow();
        expect(sha(await s.get('taskpacks/j1.json'))).toBe(sha(v1));
        await expect(s.put('taskpacks/j1.json', chunks(bytes(20_000, 3), 4096))).rejects.toMatchObject({ code: StorageErrorCode.ARTIFACT_TOO_LARGE });
        await expect(s.put('taskpacks/j2.json', bytes(10_001))).rejects.toMatchObject({ code: StorageErrorCode.ARTIFACT_TOO_LARGE });
        expect(sha(await s.get('taskpacks/j1.json'))).toBe(sha(v1));
        expect(await s.has('taskpacks/j2.json')).toBe(false);
        const v2 = bytes(700, 9);
        await s.put('taskpacks/j1.json', v2);
        expect(sha(await s.get('taskpacks/j1.json'))).toBe(sha(v2));
      }, 10_000),
    );

    it(
      'lists keys by prefix, sorted',
      withStore(async (s) => {
        for (const k of ['a/b/2', 'a/b/1', 'a/c', 'ab', 'z']) await s.put(k, bytes(3));
        expect(await s.list('a/b/')).toEqual(['a/b/1', 'a/b/2']);
        expect(await s.list('a/')).toEqual(['a/b/1', 'a/b/2', 'a/c']);
        expect(await s.list('a')).toEqual(['a/b/1', 'a/b/2', 'a/c', 'ab']);
        expect(await s.list('')).toEqual(['a/b/1', 'a/b/2', 'a/c', 'ab', 'z']);
        expect(await s.list('nope/')).toEqual([]);
      }),
    );

    it(
      'rejects keys that could escape the store or are malformed',
      withStore(async (s) => {
        for (const k of ['../x', '/abs', 'a//b', '.hidden', 'a/../b', 'a/./b', 'white space', '', 'a/', 'x'.repeat(513)]) {
          await expect(s.put(k, bytes(1)), k).rejects.toMatchObject({ code: StorageErrorCode.ARTIFACT_BAD_KEY });
          await expect(s.has(k), k).rejects.toMatchObject({ code: StorageErrorCode.ARTIFACT_BAD_KEY });
        }
        await expect(s.list('../')).resolves.toEqual([]);
        await expect(s.list('a b')).rejects.toMatchObject({ code: StorageErrorCode.ARTIFACT_BAD_KEY });
      }),
    );
  });
}
