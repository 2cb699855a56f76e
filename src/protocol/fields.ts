// Field schemas shared by the ingest and live messages: ids, bounded text, and binary arrays.
// Float arrays travel as msgpack `bin` holding little-endian float32 (compact, exact, and readable
// from any language); decoding copies them into a fresh aligned Float32Array because a decoded bin
// is usually a view into the socket's buffer at an arbitrary (often unaligned) offset.
import { z } from 'zod';
import { JOINT_COUNT } from '../../streams/skeleton.js';
import type { ErrorCode } from './codes.js';

/** Joints in the ARKit body skeleton (ARSkeletonDefinition.defaultBody3D), `skeleton: 'arkit91'`. */
export const ARKIT_JOINT_COUNT = 91;
/** Joints in the canonical skeleton every server output uses (streams/skeleton.ts). */
export const CANONICAL_JOINT_COUNT = JOINT_COUNT;
/** Largest `seq` a frame may carry (2^53 − 1: exact in every msgpack implementation's doubles). */
export const MAX_SEQ = Number.MAX_SAFE_INTEGER;
/** Largest prediction horizon, in frames (10 s at 60 Hz). */
export const MAX_HORIZON_FRAMES = 600;

const hostIsLittleEndian = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

/** Copies little-endian float32 bytes into a new, aligned Float32Array (bit-exact, NaN payloads too). */
export function bytesToFloat32(bytes: Uint8Array): Float32Array {
  const out = new Float32Array(bytes.byteLength >>> 2);
  if (hostIsLittleEndian) {
    new Uint8Array(out.buffer).set(bytes.subarray(0, out.length * 4));
  } else {
    const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    for (let i = 0; i < out.length; i++) out[i] = view.getFloat32(i * 4, true);
  }
  return out;
}

/** Little-endian bytes of a Float32Array: a zero-copy view on little-endian hosts, a copy otherwise. */
export function float32ToBytes(values: Float32Array): Uint8Array {
  if (hostIsLittleEndian) return new Uint8Array(values.buffer, values.byteOffset, values.byteLength);
  const out = new Uint8Array(values.length * 4);
  const view = new DataView(out.buffer);
  for (let i = 0; i < values.length; i++) view.setFloat32(i * 4, values[i] ?? 0, true);
  return out;
}

/** Issue params that make the codec report a specific wire code instead of INVALID_MESSAGE. */
export interface WireIssueParams {
  readonly wireCode: ErrorCode;
}

const bin = z.instanceof(Uint8Array, { message: 'expected binary (msgpack bin)' });

/**
 * A msgpack bin of exactly `count` little-endian float32 values, decoded to a Float32Array.
 * A wrong length is reported with code JOINT_COUNT (it is a joint/matrix count problem on the wire).
 */
export function float32Bin(count: number, what: string) {
  return bin
    .superRefine((bytes, ctx) => {
      if (bytes.byteLength !== count * 4) {
        ctx.addIssue({
          code: 'custom',
          message: `${what} must be ${count} float32 (${count * 4} bytes), got ${bytes.byteLength} bytes`,
          params: { wireCode: 'JOINT_COUNT' } satisfies WireIssueParams,
        });
      }
    })
    .transform(bytesToFloat32);
}

/** A msgpack bin of exactly `count` bytes, each 0 or 1, decoded to a fresh Uint8Array (not a socket view). */
export function flagBytes(count: number, what: string) {
  return bin
    .superRefine((bytes, ctx) => {
      if (bytes.byteLength !== count) {
        ctx.addIssue({
          code: 'custom',
          message: `${what} must be ${count} bytes, got ${bytes.byteLength}`,
          params: { wireCode: 'JOINT_COUNT' } satisfies WireIssueParams,
        });
        return;
      }
      const bad = bytes.findIndex((b) => b > 1);
      if (bad >= 0) ctx.addIssue({ code: 'custom', message: `${what}[${bad}] is ${bytes[bad]}, must be 0 or 1` });
    })
    .transform((bytes) => new Uint8Array(bytes));
}

/**
 * An identifier (patient, session, clinic, job, model): 1–128 of `A–Z a–z 0–9 _ . -`, starting with a
 * letter or digit. Ids end up in file and subject names, so no slashes, spaces or wildcards.
 */
export const Id = z.string().regex(/^[A-Za-z0-9][A-Za-z0-9_.-]{0,127}$/, 'must be 1–128 of A–Z a–z 0–9 _ . - (starting with a letter or digit)');

/** Longest model id on the wire (the model registry's own bound on artifact ids). */
export const MAX_MODEL_ID_LENGTH = 512;
/** Most `/`-separated segments in a model id (`models/<clinic>/<patient>/v<n>` has 4). */
export const MAX_MODEL_ID_SEGMENTS = 8;
const MODEL_ID_SEGMENT = '[A-Za-z0-9][A-Za-z0-9_.=-]{0,127}';

/**
 * A model id: the registry/artifact key of a checkpoint, e.g. `pretrained` or
 * `models/dev-clinic/dev-patient/v1`. It is a key, not a single name, so unlike {@link Id} it has
 * `/`-separated segments: 1–8 segments of 1–128 of `A–Z a–z 0–9 _ . = -` (each starting with a letter
 * or digit, so no empty, `.` or `..` segment and no leading or trailing slash), ≤ 512 characters.
 * `=` appears in keys whose clinic or patient needed escaping (jobs/workers/feature-history keySegment).
 */
export const ModelId = z
  .string()
  .max(MAX_MODEL_ID_LENGTH, `must be at most ${MAX_MODEL_ID_LENGTH} characters`)
  .regex(
    new RegExp(`^${MODEL_ID_SEGMENT}(?:/${MODEL_ID_SEGMENT}){0,${MAX_MODEL_ID_SEGMENTS - 1}}$`),
    `must be 1–${MAX_MODEL_ID_SEGMENTS} /-separated segments of 1–128 of A–Z a–z 0–9 _ . = - (each starting with a letter or digit)`,
  );

/** Free text from a device (model names, OS versions): 1–128 characters. */
export const ShortText = z.string().min(1).max(128);

/** Frame sequence number: an unsigned integer the device increments per frame (gaps allowed). */
export const Seq = z.number().int().min(0).max(MAX_SEQ);

/** Assessment kinds (streams/types.ts `Assessment`). */
export const Assessment = z.enum(['gait', 'balance', 'sit_to_stand', 'squat']);
export type Assessment = z.infer<typeof Assessment>;

/** A phase label's length in characters. */
export const MAX_PHASE_CHARS = 64;

/**
 * Movement phase label from stage 3, e.g. `stance`, `swing`, `descent`, `bottom`, `ascent`, `static`,
 * `unstable`, `sitting`, `rising`, `standing`, or `unknown` before enough frames arrived.
 */
export const Phase = z.string().min(1).max(MAX_PHASE_CHARS);

/** Foot contacts with the floor (stage 2: foot < 5 cm above the floor and slow, with hysteresis). */
export const Contacts = z.object({
  /** Left foot on the floor. */
  left: z.boolean(),
  /** Right foot on the floor. */
  right: z.boolean(),
});

/** At most this many metrics per message. */
export const MAX_METRICS = 64;

/**
 * Running metrics by name (e.g. `cadence_spm`, `stride_length_m`, `sway_area_cm2`); units in the name.
 * Names are identifiers (`[A-Za-z][A-Za-z0-9_]*`, ≤ 64). Values are finite; a metric that cannot be
 * computed yet is omitted rather than sent as NaN.
 */
/** A metric's name: an identifier of up to 64 characters. */
export const METRIC_NAME = /^[A-Za-z][A-Za-z0-9_]{0,63}$/;
export const Metrics = z
  .record(z.string().regex(METRIC_NAME, 'metric names are identifiers of up to 64 characters'), z.number())
  .refine((m) => Object.keys(m).length <= MAX_METRICS, `at most ${MAX_METRICS} metrics`);

/** Prediction horizon in frames ahead (Δh), 1–600. */
export const Horizon = z.number().int().min(1).max(MAX_HORIZON_FRAMES);
