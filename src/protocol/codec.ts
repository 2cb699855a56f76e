// msgpack codec for protocol v1. One Packr configuration for every direction: plain maps and
// arrays, no msgpackr records/structures extension (so any msgpack library can speak the protocol),
// binary as `bin`. Decoding is decode → safeParse → typed result and never throws.
import { Packr } from 'msgpackr';
import type { z } from 'zod';
import { ErrorCode } from './codes.js';
import { FastPacker } from './fast-pack.js';
import {
  ARKIT_JOINT_COUNT,
  bytesToFloat32,
  CANONICAL_JOINT_COUNT,
  float32ToBytes,
  MAX_HORIZON_FRAMES,
  MAX_METRICS,
  MAX_PHASE_CHARS,
  METRIC_NAME,
  type WireIssueParams,
} from './fields.js';
import { Ack, End, Ended, Env, ErrorMessage, Feedback, Frame, Hello, MAX_HORIZONS, Ready, type Prediction } from './ingest-messages.js';
import type { IngestClientMessage, IngestServerMessage } from './ingest-messages.js';
import { SessionEnded, SessionStarted, Snapshot, Subscribe, TaskpackReady, Unsubscribe, Update } from './live-messages.js';
import type { LiveClientMessage, LiveServerMessage } from './live-messages.js';

/** The two WebSocket endpoints: `/v1/ingest` (iPad) and `/v1/live` (dashboards). */
export type Channel = 'ingest' | 'live';

/** A rejected message as it goes on the wire in an `error` reply. */
export interface WireError {
  readonly code: ErrorCode;
  readonly message: string;
  /** `seq` of the offending frame, when it had a readable one. */
  readonly seq?: number;
}

export type DecodeResult<T> = { readonly ok: true; readonly message: T } | { readonly ok: false; readonly error: WireError };

export interface DecodeOptions {
  /** Reject larger messages with MESSAGE_TOO_LARGE before decoding (default: no limit; the socket enforces one). */
  readonly maxBytes?: number;
}

const packr = new Packr({
  useRecords: false,
  mapsAsObjects: true,
  moreTypes: false,
  bundleStrings: false,
  structuredClone: false,
});

type Schema = z.ZodType<unknown>;
const schemas: Readonly<Record<string, ReadonlyMap<string, Schema>>> = {
  'ingest-client': new Map<string, Schema>([
    ['hello', Hello],
    ['env', Env],
    ['frame', Frame],
    ['end', End],
  ]),
  'live-client': new Map<string, Schema>([
    ['subscribe', Subscribe],
    ['unsubscribe', Unsubscribe],
  ]),
  'ingest-server': new Map<string, Schema>([
    ['ready', Ready],
    ['feedback', Feedback],
    ['ack', Ack],
    ['ended', Ended],
    ['error', ErrorMessage],
  ]),
  'live-server': new Map<string, Schema>([
    ['session.started', SessionStarted],
    ['update', Update],
    ['snapshot', Snapshot],
    ['session.ended', SessionEnded],
    ['taskpack.ready', TaskpackReady],
    ['error', ErrorMessage],
  ]),
};

// Error messages quote client input; keep the quotes short so replies stay small.
const MAX_QUOTE = 40;
const MAX_ERROR_MESSAGE = 1024;
const quote = (s: string): string => JSON.stringify(s.length > MAX_QUOTE ? `${s.slice(0, MAX_QUOTE)}…` : s);

function fail(code: ErrorCode, message: string, seq?: number): { ok: false; error: WireError } {
  const text = message.length > MAX_ERROR_MESSAGE ? `${message.slice(0, MAX_ERROR_MESSAGE - 1)}…` : message;
  return { ok: false, error: seq === undefined ? { code, message: text } : { code, message: text, seq } };
}

function isPlainObject(v: unknown): v is Record<string, unknown> {
  if (typeof v !== 'object' || v === null || Array.isArray(v) || ArrayBuffer.isView(v)) return false;
  const proto: unknown = Object.getPrototypeOf(v);
  return proto === Object.prototype || proto === null;
}

function valueAt(root: unknown, path: readonly PropertyKey[]): unknown {
  let v = root;
  for (const key of path) {
    if (typeof v !== 'object' || v === null || typeof key === 'symbol') return undefined;
    v = Object.hasOwn(v, key) ? (v as Record<string | number, unknown>)[key] : undefined;
  }
  return v;
}

function decode<T>(bytes: Uint8Array | ArrayBuffer, table: string, endpoint: string, opts: DecodeOptions): DecodeResult<T> {
  try {
    const view = bytes instanceof Uint8Array ? bytes : new Uint8Array(bytes);
    if (opts.maxBytes !== undefined && view.byteLength > opts.maxBytes) {
      return fail(ErrorCode.MESSAGE_TOO_LARGE, `message is ${view.byteLength} bytes, limit ${opts.maxBytes}`);
    }
    let raw: unknown;
    try {
      raw = packr.unpack(view);
    } catch (cause) {
      return fail(ErrorCode.NOT_MSGPACK, `not a msgpack message: ${cause instanceof Error ? cause.message : String(cause)}`);
    }
    if (!isPlainObject(raw)) return fail(ErrorCode.INVALID_MESSAGE, 'message must be a msgpack map with a `type` field');
    const type = raw['type'];
    const rawSeq = raw['seq'];
    const seq = typeof rawSeq === 'number' && Number.isSafeInteger(rawSeq) && rawSeq >= 0 ? rawSeq : undefined;
    if (typeof type !== 'string') return fail(ErrorCode.UNKNOWN_TYPE, 'message has no string `type` field', seq);
    const map = schemas[table];
    const schema = map?.get(type);
    if (schema === undefined || map === undefined) {
      return fail(ErrorCode.UNKNOWN_TYPE, `unknown message type ${quote(type)} on ${endpoint} (expected ${[...(map?.keys() ?? [])].join(', ')})`, seq);
    }
    if (type === 'frame' && table === 'ingest-client') {
      const frame = wellFormedFrame(raw);
      if (frame) return { ok: true, message: frame as T };
    }
    if (type === 'feedback' && table === 'ingest-server') {
      const feedback = wellFormedFeedback(raw);
      if (feedback) return { ok: true, message: feedback as T };
    }
    const parsed = schema.safeParse(raw);
    if (parsed.success) return { ok: true, message: parsed.data as T };
    const issue = parsed.error.issues[0];
    if (issue === undefined) return fail(ErrorCode.INVALID_MESSAGE, `${type}: invalid message`, seq);
    const path = issue.path.map(String).join('.');
    const where = path === '' ? type : `${type}.${path}`;
    return fail(codeFor(type, issue, valueAt(raw, issue.path)), `${where}: ${issue.message}`, seq);
  } catch (cause) {
    // Defensive: nothing above should throw, but a decoder must never take the session down.
    return fail(ErrorCode.INVALID_MESSAGE, `message could not be read: ${cause instanceof Error ? cause.message : String(cause)}`);
  }
}

const FRAME_KEYS = new Set(['type', 'seq', 't', 'anchor', 'joints', 'jointTransforms', 'tracked']);
const isBin = (v: unknown, bytes: number): v is Uint8Array => v instanceof Uint8Array && v.byteLength === bytes;

/**
 * The `Frame` schema's result for a frame that passes it as it is, or undefined for any other (which
 * then goes through the schema for its coded error, or for the keys it strips). Every frame of every
 * session comes through here, 60 times a second: the schema's parse was ≈ 10 µs of the ≈ 14 µs a
 * frame's decode took. test/src/protocol/codec.test.ts checks it agrees with the schema.
 */
function wellFormedFrame(raw: Record<string, unknown>): Frame | undefined {
  for (const k in raw) if (!FRAME_KEYS.has(k)) return undefined;
  const { seq, t, anchor, joints, jointTransforms, tracked } = raw;
  if (typeof seq !== 'number' || !Number.isSafeInteger(seq) || seq < 0) return undefined;
  if (typeof t !== 'number' || !Number.isFinite(t) || t < 0) return undefined;
  if (!isBin(anchor, 64)) return undefined;
  const hasJoints = joints !== undefined;
  if (hasJoints === (jointTransforms !== undefined)) return undefined;
  if (hasJoints ? !isBin(joints, ARKIT_JOINT_COUNT * 12) : !isBin(jointTransforms, ARKIT_JOINT_COUNT * 64)) return undefined;
  if (tracked !== undefined && !(isBin(tracked, ARKIT_JOINT_COUNT) && tracked.every((b) => b <= 1))) return undefined;
  const frame: Frame = hasJoints
    ? { type: 'frame', seq, t, anchor: bytesToFloat32(anchor), joints: bytesToFloat32(joints as Uint8Array) }
    : { type: 'frame', seq, t, anchor: bytesToFloat32(anchor), jointTransforms: bytesToFloat32(jointTransforms as Uint8Array) };
  if (tracked !== undefined) frame.tracked = new Uint8Array(tracked as Uint8Array);
  return frame;
}

const FEEDBACK_KEYS = new Set(['type', 'seq', 't', 'phase', 'contacts', 'metrics', 'joints', 'uncertainty', 'surprise', 'predictions', 'shed']);
const PREDICTION_KEYS = new Set(['h', 'uncertainty', 'pose']);
/** Names that passed METRIC_NAME (the same few dozen arrive in every feedback); bounded, then tested each time. */
const knownMetricNames = new Set<string>();
function metricName(k: string): boolean {
  if (knownMetricNames.has(k)) return true;
  if (!METRIC_NAME.test(k)) return false;
  if (knownMetricNames.size < 4096) knownMetricNames.add(k);
  return true;
}
const POSE_BYTES = CANONICAL_JOINT_COUNT * 3 * 4;
const nonNegativeOrNull = (v: unknown): v is number | null => v === null || (typeof v === 'number' && Number.isFinite(v) && v >= 0);

/**
 * The `Feedback` schema's result for a feedback that passes it as it is, or undefined for any other (the
 * schema then decides, with its coded error). The SDK reads one per frame: the schema's parse took ≈ 35 µs
 * and 25 KB per feedback (bench:frame-path), which every iPad pays and the load generator pays for every
 * session it simulates. test/src/protocol/codec.test.ts checks it agrees with the schema.
 */
export function wellFormedFeedback(raw: Record<string, unknown>): Feedback | undefined {
  for (const k in raw) if (!FEEDBACK_KEYS.has(k)) return undefined;
  const { seq, t, phase, contacts, metrics, joints, uncertainty, surprise, predictions, shed } = raw;
  if (typeof seq !== 'number' || !Number.isSafeInteger(seq) || seq < 0) return undefined;
  if (typeof t !== 'number' || !Number.isFinite(t)) return undefined;
  if (typeof phase !== 'string' || phase.length < 1 || phase.length > MAX_PHASE_CHARS) return undefined;
  if (!isPlainObject(contacts) || typeof contacts.left !== 'boolean' || typeof contacts.right !== 'boolean') return undefined;
  for (const k in contacts) if (k !== 'left' && k !== 'right') return undefined;
  if (!isPlainObject(metrics)) return undefined;
  let count = 0;
  for (const k in metrics) {
    const v = metrics[k];
    if (!Object.hasOwn(metrics, k) || !metricName(k) || typeof v !== 'number' || !Number.isFinite(v) || ++count > MAX_METRICS) return undefined;
  }
  if (joints !== undefined && !isBin(joints, POSE_BYTES)) return undefined;
  if (!nonNegativeOrNull(uncertainty) || !nonNegativeOrNull(surprise)) return undefined;
  if (!Array.isArray(predictions) || predictions.length > MAX_HORIZONS) return undefined;
  const preds: Prediction[] = [];
  for (const p of predictions as unknown[]) {
    if (!isPlainObject(p)) return undefined;
    for (const k in p) if (!PREDICTION_KEYS.has(k)) return undefined;
    const { h, uncertainty: u, pose } = p;
    if (typeof h !== 'number' || !Number.isInteger(h) || h < 1 || h > MAX_HORIZON_FRAMES) return undefined;
    if (u !== undefined && !(typeof u === 'number' && Number.isFinite(u) && u >= 0)) return undefined;
    if (pose !== undefined && !isBin(pose, POSE_BYTES)) return undefined;
    preds.push({ h, ...(u !== undefined ? { uncertainty: u } : {}), ...(pose !== undefined ? { pose: bytesToFloat32(pose) } : {}) });
  }
  if (shed !== undefined && typeof shed !== 'boolean') return undefined;
  return {
    type: 'feedback',
    seq,
    t,
    phase,
    contacts: { left: contacts.left, right: contacts.right },
    // The unpacked map itself: fresh from this message, held by nothing else.
    metrics: metrics as Record<string, number>,
    ...(joints !== undefined ? { joints: bytesToFloat32(joints as Uint8Array) } : {}),
    uncertainty,
    surprise,
    predictions: preds,
    ...(shed !== undefined ? { shed } : {}),
  };
}

function codeFor(type: string, issue: z.core.$ZodIssue, value: unknown): ErrorCode {
  const params = (issue as { params?: Partial<WireIssueParams> }).params;
  if (params?.wireCode !== undefined) return params.wireCode;
  if (type === 'hello' && issue.path[0] === 'protocol' && value !== undefined) return ErrorCode.UNSUPPORTED_PROTOCOL;
  if (typeof value === 'number' && !Number.isFinite(value)) return ErrorCode.NON_FINITE;
  return ErrorCode.INVALID_MESSAGE;
}

/** Server side: decodes one WebSocket message from an iPad (`ingest`) or a dashboard (`live`). Never throws. */
export function decodeClientMessage(bytes: Uint8Array | ArrayBuffer, channel: 'ingest', opts?: DecodeOptions): DecodeResult<IngestClientMessage>;
export function decodeClientMessage(bytes: Uint8Array | ArrayBuffer, channel: 'live', opts?: DecodeOptions): DecodeResult<LiveClientMessage>;
export function decodeClientMessage(
  bytes: Uint8Array | ArrayBuffer,
  channel: Channel,
  opts?: DecodeOptions,
): DecodeResult<IngestClientMessage | LiveClientMessage>;
export function decodeClientMessage(
  bytes: Uint8Array | ArrayBuffer,
  channel: Channel,
  opts: DecodeOptions = {},
): DecodeResult<IngestClientMessage | LiveClientMessage> {
  return decode(bytes, `${channel}-client`, `/v1/${channel}`, opts);
}

/** Client side (SDK): decodes one message from the server. Never throws. */
export function decodeServerMessage(bytes: Uint8Array | ArrayBuffer, channel: 'ingest', opts?: DecodeOptions): DecodeResult<IngestServerMessage>;
export function decodeServerMessage(bytes: Uint8Array | ArrayBuffer, channel: 'live', opts?: DecodeOptions): DecodeResult<LiveServerMessage>;
export function decodeServerMessage(
  bytes: Uint8Array | ArrayBuffer,
  channel: Channel,
  opts?: DecodeOptions,
): DecodeResult<IngestServerMessage | LiveServerMessage>;
export function decodeServerMessage(
  bytes: Uint8Array | ArrayBuffer,
  channel: Channel,
  opts: DecodeOptions = {},
): DecodeResult<IngestServerMessage | LiveServerMessage> {
  return decode(bytes, `${channel}-server`, `/v1/${channel}`, opts);
}

// Float32Array → little-endian bin; absent optionals are omitted (msgpack nil would not parse as "absent").
function toWire(value: unknown): unknown {
  if (value instanceof Float32Array) return float32ToBytes(value);
  if (value instanceof Uint8Array || value === null || typeof value !== 'object') return value;
  if (Array.isArray(value)) return value.map(toWire);
  return toWireObject(value);
}

/**
 * A plain object whose values all go out unchanged (metrics, contacts: numbers and booleans) is packed
 * as it is; the others are copied from the first key that changes (every feedback and update used to
 * be copied whole, through Object.entries' [key, value] pairs: ≈ 130 small arrays per frame).
 */
function toWireObject(value: object): Record<string, unknown> {
  const src = value as Record<string, unknown>;
  let out: Record<string, unknown> | null = isPlainObject(value) ? null : {};
  for (const k in src) {
    if (!Object.hasOwn(src, k)) continue;
    const v = src[k];
    const w = v === undefined ? undefined : toWire(v);
    if (out === null && (w !== v || v === undefined)) {
      out = {};
      for (const before in src) {
        if (before === k) break;
        if (Object.hasOwn(src, before)) out[before] = src[before];
      }
    }
    if (out !== null && w !== undefined) out[k] = w;
  }
  return out ?? src;
}

const fastPacker = new FastPacker();

/** msgpackr on the message after toWire: what the fast writer must match byte for byte (its test uses this). */
export function encodeWithMsgpackr(message: object): Uint8Array {
  return packr.pack(toWire(message));
}

function encode(message: object): Uint8Array {
  return fastPacker.pack(message) ?? encodeWithMsgpackr(message);
}

/** Server side: encodes a message for an iPad or a dashboard. Trusted input: not validated (hot path). */
export function encodeServerMessage(message: IngestServerMessage | LiveServerMessage): Uint8Array {
  return encode(message);
}

/** Client side (SDK, simulator): encodes a message for the server. */
export function encodeClientMessage(message: IngestClientMessage | LiveClientMessage): Uint8Array {
  return encode(message);
}
