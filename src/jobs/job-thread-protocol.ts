// Messages between a job-consuming process's main thread (src/jobs/job-host.ts) and its retrain
// threads (src/jobs/workers/retrain-thread.ts). The main thread owns the bus, the model registry and
// the notifications; a thread owns its tfjs runtime and reaches the artifact store itself (the same
// disk directory, or its own NATS connection). Errors cross as plain data and are rebuilt as the same
// classes, so retry/terminate decisions (`permanent`, codes) survive the boundary.
import type { LogFields } from '../logger.js';
import { StorageError, type StorageErrorCode } from '../storage/errors.js';
import type { ModelRef } from '../storage/model-registry.js';
import type { NoticeSubject } from './contracts.js';
import { JobError, type JobErrorCode } from './errors.js';
import { RetrainError, type RetrainErrorCode } from './workers/retrain-errors.js';
import type { BatchJob, RetrainSettings } from './workers/retrain-worker.js';

/** Where a thread finds the artifact store. */
export type ArtifactsSpec = { readonly kind: 'disk'; readonly dir: string } | { readonly kind: 'nats'; readonly servers: readonly string[] };

export interface RetrainThreadInit {
  readonly settings: RetrainSettings;
  readonly artifacts: ArtifactsSpec;
}

export interface WireError {
  readonly name: string;
  readonly message: string;
  readonly code?: string;
  readonly permanent?: boolean;
  readonly cause?: WireError;
}

export type ToThread =
  | { readonly type: 'batch'; readonly batchId: number; readonly jobs: readonly BatchJob[] }
  | { readonly type: 'abort'; readonly batchId: number }
  /** Fraction of the time training may compute from now on (src/jobs/pacer.ts). */
  | { readonly type: 'pace'; readonly duty: number }
  | { readonly type: 'reply'; readonly reqId: number; readonly ok: true; readonly value: unknown }
  | { readonly type: 'reply'; readonly reqId: number; readonly ok: false; readonly error: WireError };

export type Call =
  | { readonly op: 'registry.get'; readonly patientId: string }
  | { readonly op: 'registry.register'; readonly patientId: string; readonly ref: ModelRef }
  | { readonly op: 'notify'; readonly subject: NoticeSubject; readonly payload: unknown; readonly id: string };

export type FromThread =
  | { readonly type: 'ready'; readonly backend: string }
  | { readonly type: 'init-failed'; readonly error: WireError }
  | { readonly type: 'done'; readonly batchId: number; readonly failures: ReadonlyArray<readonly [string, WireError]> }
  | ({ readonly type: 'call'; readonly reqId: number } & Call)
  | { readonly type: 'log'; readonly level: 'debug' | 'info' | 'warn' | 'error'; readonly msg: string; readonly fields?: LogFields };

export function toWire(err: unknown, depth = 0): WireError {
  if (!(err instanceof Error)) return { name: 'Error', message: String(err) };
  const code = (err as { code?: unknown }).code;
  const permanent = (err as { permanent?: unknown }).permanent;
  return {
    name: err.name,
    message: err.message,
    ...(typeof code === 'string' ? { code } : {}),
    ...(typeof permanent === 'boolean' ? { permanent } : {}),
    ...(err.cause !== undefined && depth < 4 ? { cause: toWire(err.cause, depth + 1) } : {}),
  };
}

export function fromWire(w: WireError): Error {
  const options = w.cause ? { cause: fromWire(w.cause) } : {};
  if (w.name === 'JobError' && w.code) return new JobError(w.code as JobErrorCode, w.message, { ...options, permanent: w.permanent ?? false });
  if (w.name === 'RetrainError' && w.code) return new RetrainError(w.code as RetrainErrorCode, w.message, options);
  if (w.name === 'StorageError' && w.code) return new StorageError(w.code as StorageErrorCode, w.message, options);
  // Other classes (ModelError, InferenceError…) keep their name and code, so logs and the CLI still
  // report them precisely.
  const e: Error & { code?: string } = new Error(w.message, options);
  e.name = w.name;
  if (w.code !== undefined) e.code = w.code;
  return e;
}

/** Log fields as structured-cloneable data (errors flattened, as the JSON logger would). */
export function wireFields(fields: LogFields | undefined): LogFields | undefined {
  if (!fields) return undefined;
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(fields)) out[k] = v instanceof Error ? toWire(v) : v;
  return out;
}
