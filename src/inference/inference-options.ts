/** Defaults and validation of InferenceServiceOptions (parsed once, at service creation). */
import { InferenceError, InferenceErrorCode } from './errors.js';
import type { InferenceServiceOptions } from './types.js';

export const INFERENCE_DEFAULTS = {
  workers: 1,
  maxBatch: 64,
  maxWaitMs: 5,
  queueLimit: 512,
  maxQueueAgeMs: 250,
  modelCacheSize: 256,
  maxWorkerRestarts: 5,
  modelRetryMs: 10_000,
  latencySamples: 4096,
  inlineMaxRows: 0,
  inlineMaxUtilization: 0.5,
} as const;

export type ResolvedInferenceOptions = Required<Omit<InferenceServiceOptions, 'backend' | 'engine'>>;

/** Options with defaults filled in; INVALID_OPTIONS for values out of range or contradictory. */
export function resolveInferenceOptions(opts: InferenceServiceOptions): ResolvedInferenceOptions {
  const o: ResolvedInferenceOptions = { ...INFERENCE_DEFAULTS, ...stripUndefined(opts) };
  validateOptions(o);
  return o;
}

function validateOptions(o: ResolvedInferenceOptions): void {
  const bad = (msg: string): never => {
    throw new InferenceError(InferenceErrorCode.INVALID_OPTIONS, msg);
  };
  for (const k of ['workers', 'maxBatch', 'queueLimit', 'modelCacheSize', 'latencySamples'] as const) {
    if (!Number.isInteger(o[k]) || o[k] < 1) bad(`${k} must be a positive integer, got ${o[k]}`);
  }
  for (const k of ['maxWaitMs', 'maxQueueAgeMs', 'maxWorkerRestarts', 'modelRetryMs'] as const) {
    if (!Number.isFinite(o[k]) || o[k] < 0) bad(`${k} must be a finite number ≥ 0, got ${o[k]}`);
  }
  if (!Number.isInteger(o.inlineMaxRows) || o.inlineMaxRows < 0) bad(`inlineMaxRows must be an integer ≥ 0, got ${o.inlineMaxRows}`);
  if (!(o.inlineMaxUtilization >= 0 && o.inlineMaxUtilization <= 1)) bad(`inlineMaxUtilization must be within 0..1, got ${o.inlineMaxUtilization}`);
  if (o.queueLimit < o.maxBatch) bad(`queueLimit (${o.queueLimit}) must be ≥ maxBatch (${o.maxBatch})`);
  if (o.maxQueueAgeMs < o.maxWaitMs) bad(`maxQueueAgeMs (${o.maxQueueAgeMs}) must be ≥ maxWaitMs (${o.maxWaitMs}), or every partial batch would be stale`);
}

function stripUndefined<T extends object>(o: T): Partial<T> {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as Partial<T>;
}
