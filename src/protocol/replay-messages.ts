// GET /v1/sessions/:id/replay: a finished session's recorded frames as the processed states a dashboard
// saw live (same stream stages, same inference), msgpack like the live wire (float arrays as bin of
// little-endian float32). Every state names its session, so a view can refuse anything else.
import { Packr } from 'msgpackr';
import { z } from 'zod';
import { Assessment, CANONICAL_JOINT_COUNT, Contacts, float32Bin, float32ToBytes, Horizon, Id, Metrics, Phase, Seq } from './fields.js';
import { MAX_HORIZONS } from './ingest-messages.js';

/** At most this many states in one replay (20 min at 30 Hz); longer sessions are cut and say so. */
export const MAX_REPLAY_UPDATES = 36_000;

/** One horizon's predicted pose. */
export const ReplayPrediction = z.object({
  /** Frames ahead (Δh). */
  h: Horizon,
  /** That horizon's MC-dropout uncertainty, when the model reports one per horizon (else the frame's). */
  uncertainty: z.number().min(0).nullable().optional(),
  /** Predicted canonical world joints (20×3 float32, metres), when a probe decoder is loaded. */
  pose: float32Bin(CANONICAL_JOINT_COUNT * 3, 'pose').optional(),
});
export type ReplayPrediction = z.infer<typeof ReplayPrediction>;

/** A processed state: the fields of the live `update`, with every horizon's prediction. */
export const ReplayState = z.object({
  type: z.literal('update'),
  /** Session this state belongs to. */
  sessionId: Id,
  /** `seq` of the recorded frame it was computed from. */
  seq: Seq,
  /** `t` of that frame (device clock, seconds). */
  t: z.number(),
  /** Canonical world joints (20×3 float32, metres, floor y=0). */
  joints: float32Bin(CANONICAL_JOINT_COUNT * 3, 'joints'),
  phase: Phase,
  contacts: Contacts,
  metrics: Metrics,
  uncertainty: z.number().min(0).nullable(),
  surprise: z.number().min(0).nullable(),
  /** Predictions at the configured horizons (empty when the frame got none). */
  predictions: z.array(ReplayPrediction).max(MAX_HORIZONS),
});
export type ReplayState = z.infer<typeof ReplayState>;

export const Replay = z.object({
  type: z.literal('replay'),
  sessionId: Id,
  clinic: Id,
  patientId: Id,
  assessment: Assessment,
  /** Session start, Unix epoch ms (server clock). */
  startedAt: z.number().int().min(0),
  /** Frames in the recording. */
  frames: z.number().int().min(0),
  /** States per second of device time (the live LIVE_UPDATE_HZ, so replay looks like live). */
  updateHz: z.number().positive(),
  /** True when the session had more than MAX_REPLAY_UPDATES states and the rest was left out. */
  truncated: z.boolean(),
  /** States, oldest first. */
  updates: z.array(ReplayState).max(MAX_REPLAY_UPDATES),
});
export type Replay = z.infer<typeof Replay>;

const packr = new Packr({ useRecords: false, mapsAsObjects: true, moreTypes: false, bundleStrings: false, structuredClone: false });

function toWire(value: unknown): unknown {
  if (value instanceof Float32Array) return float32ToBytes(value);
  if (value instanceof Uint8Array || value === null || typeof value !== 'object') return value;
  if (Array.isArray(value)) return value.map(toWire);
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(value)) if (v !== undefined) out[k] = toWire(v);
  return out;
}

export const REPLAY_CONTENT_TYPE = 'application/msgpack';

export function encodeReplay(r: Replay): Uint8Array {
  return packr.pack(toWire(r));
}

/** Decode → validate; never throws (the message names the first problem). */
export function decodeReplay(bytes: Uint8Array): { ok: true; replay: Replay } | { ok: false; message: string } {
  let raw: unknown;
  try {
    raw = packr.unpack(bytes);
  } catch (cause) {
    return { ok: false, message: `not msgpack: ${cause instanceof Error ? cause.message : String(cause)}` };
  }
  const parsed = Replay.safeParse(raw);
  if (parsed.success) return { ok: true, replay: parsed.data };
  const issue = parsed.error.issues[0];
  return { ok: false, message: `replay.${issue?.path.map(String).join('.') ?? ''}: ${issue?.message ?? 'invalid'}` };
}
