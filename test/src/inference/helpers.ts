// Shared helpers for the inference service tests: the tiny engine's URL, gates, and bounded waits.
import { createInferenceService } from '../../../src/inference/inference-service.js';
import type { InferenceServiceDeps, InferenceServiceOptions } from '../../../src/inference/types.js';
import type { TinyEngineOptions } from './fixtures/tiny-engine.js';

export const tinyEngineUrl = new URL('./fixtures/tiny-engine.ts', import.meta.url);

export const F = 3;
export const D = 4;
export const HORIZONS = [1, 2] as const;

/** A gate the tiny engine blocks on until opened (keeps a batch in flight inside the worker). */
export function gate(open = false): { buf: SharedArrayBuffer; open(): void; close(): void } {
  const buf = new SharedArrayBuffer(4);
  const i = new Int32Array(buf);
  const set = (v: number) => {
    Atomics.store(i, 0, v);
    Atomics.notify(i, 0);
  };
  set(open ? 1 : 0);
  return { buf, open: () => set(1), close: () => set(0) };
}

export function tinyService(
  opts: InferenceServiceOptions & { gate?: SharedArrayBuffer; gateOnly777?: boolean; adapterCount?: SharedArrayBuffer },
  deps: InferenceServiceDeps = {},
) {
  const engineOptions: TinyEngineOptions = {
    featureDim: F,
    latentDim: D,
    horizons: HORIZONS,
    ...(opts.gate ? { gate: opts.gate, gateOnly777: opts.gateOnly777 ?? false } : {}),
    ...(opts.adapterCount ? { adapterCount: opts.adapterCount } : {}),
  };
  const { gate: _g, gateOnly777: _o, adapterCount: _a, ...rest } = opts;
  return createInferenceService({ workers: 1, ...rest, engine: { module: tinyEngineUrl, options: engineOptions } }, deps);
}

/** Rejects if the promise does not settle within ms (a bound on waiting, not a sleep). */
export function within<T>(p: Promise<T>, ms = 10_000, what = 'promise'): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what} did not settle within ${ms} ms`)), ms);
  });
  return Promise.race([p, timeout]).finally(() => clearTimeout(timer));
}

export const row = (...xs: number[]) => Float32Array.from(xs);
