import { describe, expect, it, vi } from 'vitest';
import { InferenceErrorCode } from '../../../src/inference/errors.js';
import { ModelCache, type PatientModel } from '../../../src/inference/model-cache.js';
import { ModelLoader } from '../../../src/inference/model-loader.js';
import { ManualScheduler } from './manual-scheduler.js';

function deferred<T>() {
  let resolve!: (v: T) => void;
  let reject!: (e: unknown) => void;
  const promise = new Promise<T>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  return { promise, resolve, reject };
}

function setup(retryMs = 1000) {
  const calls: { patientId: string; ref: string | undefined; d: ReturnType<typeof deferred<PatientModel>> }[] = [];
  const cache = new ModelCache(8);
  const sched = new ManualScheduler();
  let staged = 0;
  const loader = new ModelLoader(
    cache,
    (patientId, ref) => {
      const d = deferred<PatientModel>();
      calls.push({ patientId, ref, d });
      return d.promise;
    },
    sched,
    retryMs,
    () => staged++,
  );
  return { calls, cache, sched, loader, staged: () => staged };
}

const model = (ref: string): PatientModel => ({ ref, adapter: null });

describe('ModelLoader', () => {
  it('deduplicates concurrent ensures and stages the result', async () => {
    const { calls, cache, loader, staged } = setup();
    const a = loader.ensure('p');
    const b = loader.ensure('p');
    expect(calls).toHaveLength(1);
    calls[0]!.d.resolve(model('p@1'));
    expect(await a).toBe('p@1');
    expect(await b).toBe('p@1');
    expect(cache.stagedRef('p')).toBe('p@1');
    expect(staged()).toBe(1);
    expect(await loader.ensure('p')).toBe('p@1'); // staged: no new load
    expect(calls).toHaveLength(1);
  });

  it('a swap requested after a slow ensure wins even if the ensure finishes last', async () => {
    const { calls, cache, loader } = setup();
    const ensure = loader.ensure('p');
    const swap = loader.swap('p', 'p@2');
    calls[1]!.d.resolve(model('p@2'));
    await swap;
    calls[0]!.d.resolve(model('p@1'));
    await ensure;
    cache.applyStaged();
    expect(cache.peek('p')?.ref).toBe('p@2');
    expect(loader.swaps).toBe(1);
  });

  it('a failed load rejects with MODEL_LOAD_FAILED and background loads pause for retryMs', async () => {
    const { calls, sched, loader } = setup(1000);
    const errors: unknown[] = [];
    loader.touch('p', (e) => errors.push(e));
    calls[0]!.d.reject(new Error('registry down'));
    await vi.waitFor(() => expect(errors).toHaveLength(1));
    expect(errors[0]).toMatchObject({ name: 'InferenceError', code: InferenceErrorCode.MODEL_LOAD_FAILED });
    loader.touch('p', () => undefined);
    expect(calls).toHaveLength(1); // paused
    sched.advance(1000);
    loader.touch('p', () => undefined);
    expect(calls).toHaveLength(2);
    expect(loader.failures).toBe(1);
  });
});
