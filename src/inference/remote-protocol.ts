// The inference service over NATS request/reply (`jepa-motion infer` ⇄ serve nodes), protocol v1.
// Payloads are msgpack (typed arrays kept as Float32Array). Requests are validated by the infer
// process (zod); replies come from our own process and are trusted by the client.
//   <prefix>.submit  {sessionId, patientId, seq, x, pose?}   → {ok: true, result: InferenceResult | Shed}
//   <prefix>.info    {}                                      → {ok: true, info: RemoteInfo}
//   <prefix>.model   {op: 'ensure'|'swap', patientId, ref?}  → {ok: true, ref?}
//   <prefix>.end     {sessionId}                             (publish, no reply)
// Any request may instead be answered {ok: false, code, message} with a RemoteCode.
import { Packr } from 'msgpackr';
import { z } from 'zod';
import type { InferenceResult, Shed } from './types.js';

export const INFER_SUBJECT_PREFIX = 'jepa.infer.v1';
/** Queue group: several infer processes share the subjects (each request goes to one of them). */
export const INFER_QUEUE = 'jepa-infer';

export const subjects = (prefix = INFER_SUBJECT_PREFIX) =>
  ({ submit: `${prefix}.submit`, info: `${prefix}.info`, model: `${prefix}.model`, end: `${prefix}.end` }) as const;

export const RemoteCode = {
  /** More requests in flight than the infer process accepts (INFER_MAX_INFLIGHT): try later / shed. */
  OVERLOADED: 'INFER_OVERLOADED',
  /** The request did not decode or does not match its schema. */
  BAD_REQUEST: 'INFER_BAD_REQUEST',
  /** The inference service refused the row (InferenceError BAD_INPUT: wrong length, non-finite). */
  BAD_INPUT: 'INFERENCE_BAD_INPUT',
  /** A patient model could not be loaded. */
  MODEL_LOAD_FAILED: 'INFERENCE_MODEL_LOAD_FAILED',
  /** The infer process is shutting down. */
  CLOSED: 'INFERENCE_CLOSED',
  /** Anything else that failed inside the infer process. */
  INTERNAL: 'INFER_INTERNAL',
} as const;
export type RemoteCode = (typeof RemoteCode)[keyof typeof RemoteCode];

export const packr = new Packr({ useRecords: false, moreTypes: true });

const id = z.string().min(1).max(200);
export const SubmitRequest = z.object({
  sessionId: id,
  patientId: id,
  seq: z.number().int().nonnegative(),
  x: z.instanceof(Float32Array),
  /** The frame's pose (20×3, world metres), for an engine that decodes predicted poses relative to it. */
  pose: z.instanceof(Float32Array).optional(),
});
export type SubmitRequest = z.infer<typeof SubmitRequest>;
export const ModelRequest = z.object({ op: z.enum(['ensure', 'swap']), patientId: id, ref: id.optional() });
export type ModelRequest = z.infer<typeof ModelRequest>;
export const EndRequest = z.object({ sessionId: id });

export interface RemoteInfo {
  readonly backend: string;
  readonly featureDim: number;
  readonly featureNames: readonly string[] | null;
  readonly latentDim: number;
  readonly horizons: readonly number[];
  /** The engine decodes predicted poses (LIVE_POSES=1 on the infer process). */
  readonly decodesPoses: boolean;
  /** Rows inferred since the infer process started (all nodes). */
  readonly rows: number;
  readonly batches: number;
}

export type RemoteReply<T> = ({ readonly ok: true } & T) | { readonly ok: false; readonly code: RemoteCode; readonly message: string };
export type SubmitReply = RemoteReply<{ readonly result: InferenceResult | Shed }>;
export type InfoReply = RemoteReply<{ readonly info: RemoteInfo }>;
export type ModelReply = RemoteReply<{ readonly ref?: string }>;
