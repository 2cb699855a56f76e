// One behavioural suite for every ModelRegistry (local, NATS KV).
import { firstValueFrom, filter, take, toArray } from 'rxjs';
import { describe, expect, it } from 'vitest';
import { StorageErrorCode } from '../../../src/storage/errors.js';
import type { ModelRef, ModelRegistry, ModelUpdate } from '../../../src/storage/model-registry.js';
import { within } from '../jobs/deferred.js';

export interface RegistryFixture {
  /** Writer. */
  readonly a: ModelRegistry;
  /** Another view of the same registry (another node for NATS; may be `a` itself). */
  readonly b: ModelRegistry;
  dispose(): Promise<void>;
}

export const ref = (version: number, kind = 'patient-adapter'): ModelRef => ({
  id: `models/p/v${version}.ckpt`,
  version,
  sha256: version.toString(16).padStart(64, '0'),
  kind,
});

export function modelRegistrySuite(name: string, make: () => Promise<RegistryFixture>): void {
  describe(`ModelRegistry contract: ${name}`, () => {
    const withReg = (fn: (f: RegistryFixture) => Promise<void>) => async () => {
      const f = await make();
      try {
        await fn(f);
      } finally {
        await f.dispose();
      }
    };

    it(
      'registers, reads back and lists; refuses versions that are not newer',
      withReg(async ({ a, b }) => {
        expect(await a.get('p1')).toBeUndefined();
        await a.register('p1', ref(1));
        await a.register('p2', ref(4, 'clinic'));
        await a.register('p1', ref(2));
        expect(await b.get('p1')).toEqual(ref(2));
        await expect(a.register('p1', ref(2))).rejects.toMatchObject({ name: 'StorageError', code: StorageErrorCode.REGISTRY_STALE });
        await expect(a.register('p1', ref(1))).rejects.toMatchObject({ code: StorageErrorCode.REGISTRY_STALE });
        expect(await b.get('p1')).toEqual(ref(2));
        expect(await b.list()).toEqual([
          { patientId: 'p1', ref: ref(2) },
          { patientId: 'p2', ref: ref(4, 'clinic') },
        ]);
      }),
    );

    it(
      'rejects bad patient ids and malformed refs with coded errors',
      withReg(async ({ a }) => {
        for (const id of ['', 'a.b', 'a b', 'x'.repeat(129), '../p']) {
          await expect(a.register(id, ref(1)), id).rejects.toMatchObject({ code: StorageErrorCode.REGISTRY_BAD_KEY });
          await expect(a.get(id), id).rejects.toMatchObject({ code: StorageErrorCode.REGISTRY_BAD_KEY });
        }
        await expect(a.register('p1', { ...ref(1), sha256: 'nothex' })).rejects.toMatchObject({ code: StorageErrorCode.REGISTRY_MALFORMED });
        await expect(a.register('p1', { ...ref(1), version: -1 })).rejects.toMatchObject({ code: StorageErrorCode.REGISTRY_MALFORMED });
        expect(await a.list()).toEqual([]);
      }),
    );

    it(
      'watch emits current entries, then every registration (hot-swap signal)',
      withReg(async ({ a, b }) => {
        await a.register('p1', ref(1));
        await a.register('p2', ref(1));
        const seen: ModelUpdate[] = [];
        const firstFour = firstValueFrom(b.watch().pipe(take(4), toArray()));
        const sub = b.watch().subscribe((u) => seen.push(u));
        // Wait until the watcher has delivered the snapshot before registering more.
        await within(firstValueFrom(b.watch().pipe(filter((u) => u.patientId === 'p2'))), 5_000, 'snapshot');
        await a.register('p1', ref(2));
        await a.register('p3', ref(7));
        const got = await within(firstFour, 5_000, 'four updates');
        sub.unsubscribe();
        expect(
          got
            .slice(0, 2)
            .map((u) => u.patientId)
            .sort(),
        ).toEqual(['p1', 'p2']);
        expect(got.slice(2)).toEqual([
          { patientId: 'p1', ref: ref(2) },
          { patientId: 'p3', ref: ref(7) },
        ]);
        expect(seen.length).toBeGreaterThanOrEqual(2);
      }),
    );

    it(
      'concurrent registrations never roll a patient back: the newest version wins',
      withReg(async ({ a, b }) => {
        const versions = [3, 1, 8, 5, 2, 7, 4, 6];
        const results = await Promise.allSettled(versions.map((v) => (v % 2 ? a : b).register('p9', ref(v))));
        for (const r of results) if (r.status === 'rejected') expect(r.reason).toMatchObject({ code: StorageErrorCode.REGISTRY_STALE });
        expect((await a.get('p9'))?.version).toBe(8);
        expect(results.some((r) => r.status === 'fulfilled')).toBe(true);
      }),
    );
  });
}
