// /v1/ingest messages (iPad ↔ server). The schema is the type: `export const X` + `export type X`.
import { z } from 'zod';
import type { PlaneAnchor as PlaneAnchorType } from '../../streams/types.js';
import { ErrorCode } from './codes.js';
import {
  ARKIT_JOINT_COUNT,
  Assessment,
  CANONICAL_JOINT_COUNT,
  Contacts,
  Horizon,
  Id,
  Metrics,
  MAX_SEQ,
  ModelId,
  Phase,
  Seq,
  ShortText,
  float32Bin,
  flagBytes,
} from './fields.js';

/** The protocol version this module speaks (`hello.protocol`). */
export const PROTOCOL_VERSION = 1;
/** At most this many plane anchors per `env` message. */
export const MAX_PLANES = 64;
/** At most this many prediction horizons per session. */
export const MAX_HORIZONS = 16;

// ---- iPad → server -------------------------------------------------------------------------------

/** Opens a session (first message on /v1/ingest), or resumes one after a dropped connection. */
export const Hello = z.object({
  type: z.literal('hello'),
  /** Protocol version: 1. Anything else gets UNSUPPORTED_PROTOCOL. */
  protocol: z.literal(PROTOCOL_VERSION),
  /** Patient being assessed; a device token must carry the same `patient` claim. */
  patientId: Id,
  /** Which assessment the patient performs. */
  assessment: Assessment,
  /** Nominal frame rate of the device (ARKit body tracking: 60). */
  fps: z.number().min(1).max(240),
  /** Skeleton of `frame.joints`/`jointTransforms`: the 91-joint ARKit body skeleton. */
  skeleton: z.literal('arkit91'),
  /** The sending device, kept in the recording's provenance. */
  device: z.object({
    /** Hardware model, e.g. `iPad13,8`. */
    model: ShortText,
    /** OS and version, e.g. `iPadOS 17.4`. */
    os: ShortText,
    /** App name and version, e.g. `jepa-capture 1.3.0`. */
    app: ShortText.optional(),
  }),
  /** Present when reconnecting: continue that session instead of opening a new one. */
  resume: z
    .object({
      /** Session to continue (from `ready.sessionId`). */
      sessionId: Id,
      /** Highest `seq` the server acknowledged (`ack.seq`), or −1 if none was; resend frames after it. */
      lastAckedSeq: z.number().int().min(-1).max(MAX_SEQ),
    })
    .optional(),
});
export type Hello = z.infer<typeof Hello>;

/** An ARKit plane anchor (structure of streams/types.ts `PlaneAnchor`). */
export const PlaneAnchor = z.object({
  /** Column-major 4×4 transform of the plane in ARKit world coordinates (metres, y up): 16 numbers. */
  transform: z.array(z.number()).length(16),
  /** Plane size in metres along its local x and z. */
  extent: z.tuple([z.number().min(0), z.number().min(0)]),
  /** Plane alignment as ARKit detected it. */
  alignment: z.enum(['horizontal', 'vertical']),
  /** ARKit plane classification (`none` when ARKit could not classify it). */
  classification: z.enum(['floor', 'wall', 'ceiling', 'table', 'seat', 'window', 'door', 'none']),
});
export type PlaneAnchor = z.infer<typeof PlaneAnchor>;
// Compile-time check: what the wire carries is what the alignment stage reads.
const planeAnchorFitsStreams: (p: PlaneAnchor) => PlaneAnchorType = (p) => p;
void planeAnchorFitsStreams;

/** Environment: the plane anchors ARKit found (sent after `hello`, again whenever they change). */
export const Env = z.object({
  type: z.literal('env'),
  /** All current plane anchors (replaces earlier ones), at most 64. */
  planes: z.array(PlaneAnchor).max(MAX_PLANES),
});
export type Env = z.infer<typeof Env>;

/**
 * One skeleton frame. Exactly one of `joints` or `jointTransforms` is present.
 * Float arrays are msgpack bin of little-endian float32; decoded they are Float32Array.
 */
export const Frame = z
  .object({
    type: z.literal('frame'),
    /** Frame number, incremented by the device per frame; must increase (gaps allowed). */
    seq: Seq,
    /** Capture time in seconds on the device clock (ARFrame.timestamp); must increase. */
    t: z.number().min(0),
    /** ARBodyAnchor.transform: column-major 4×4 model→world (ARKit world, metres): 16 float32. */
    anchor: float32Bin(16, 'anchor'),
    /** Joint positions in model space (relative to the anchor), 91×3 float32 (x,y,z per joint, ARKit order). */
    joints: float32Bin(ARKIT_JOINT_COUNT * 3, 'joints').optional(),
    /** Joint model transforms (jointModelTransforms), 91 column-major 4×4 float32; positions are the translation columns. */
    jointTransforms: float32Bin(ARKIT_JOINT_COUNT * 16, 'jointTransforms').optional(),
    /**
     * Per-joint tracking flags: 91 bytes, 1 = tracked by ARKit this frame, 0 = inferred/untracked.
     * One byte per joint (not a bitmask) so it is readable without bit twiddling; absent = all tracked.
     */
    tracked: flagBytes(ARKIT_JOINT_COUNT, 'tracked').optional(),
  })
  .superRefine((f, ctx) => {
    if ((f.joints === undefined) === (f.jointTransforms === undefined)) {
      ctx.addIssue({
        code: 'custom',
        path: ['joints'],
        message: f.joints === undefined ? 'one of joints or jointTransforms is required' : 'send joints or jointTransforms, not both',
      });
    }
  });
export type Frame = z.infer<typeof Frame>;

/** The assessment is over: the server finalises the recording and answers `ended`. */
export const End = z.object({ type: z.literal('end') });
export type End = z.infer<typeof End>;

/** Any message an iPad sends on /v1/ingest. */
export type IngestClientMessage = Hello | Env | Frame | End;

// ---- server → iPad -------------------------------------------------------------------------------

/** Which world model serves a session (`ready.model`). */
export const ModelRef = z.object({
  /** Model id in the registry: `pretrained`, or a patient model's key such as `models/<clinic>/<patient>/v<n>`. */
  id: ModelId,
  /** `pretrained` (shipped/clinic model) or `patient` (fine-tuned on this patient's sessions). */
  kind: z.enum(['pretrained', 'patient']),
  /** Registry version of that model (opaque string, e.g. `3` or a content hash). */
  version: z.string().min(1).max(128),
});
export type ModelRef = z.infer<typeof ModelRef>;

/** The session is open (answer to `hello`). */
export const Ready = z.object({
  type: z.literal('ready'),
  /** Session id: use it in `hello.resume` after a dropped connection. */
  sessionId: Id,
  /** World model serving this session. */
  model: ModelRef,
  /** On resume: the first `seq` the server wants (last persisted + 1); frames before it are ignored. */
  resumeFromSeq: Seq.optional(),
  /** Horizons (frames ahead) that `feedback.predictions` will carry, ascending. */
  horizons: z.array(Horizon).max(MAX_HORIZONS),
});
export type Ready = z.infer<typeof Ready>;

/**
 * The world model's prediction at one horizon.
 *
 * `pose` follows the definition of pose error in `jepa-motion eval` (models/evaluate.ts, pose_mm): the
 * model's probe decoder (a ridge regression from latent to pose, `probe.npz` beside the model) decodes
 * the predicted CHANGE, decode(ẑ_h) − decode(z_t), and it is added to this frame's own pose (`joints`),
 * turned from the pelvis-facing frame it is decoded in back to the world. The probe's absolute reading
 * is 9–13 cm off on a body it never saw (README, "probe absolute mm"); its reading of a change is not, so the predicted pose stands on
 * the patient. The root is not predicted (the model sees no position in the room): the predicted pose's
 * root is the current one, and its limbs, trunk and head are where the model expects them in `h` frames.
 */
export const Prediction = z.object({
  /** Frames ahead (Δh): the prediction is for the frame with `seq` + h. */
  h: Horizon,
  /** MC-dropout uncertainty of this horizon (mean over latent dims of the std across passes; unitless, latent space). */
  uncertainty: z.number().min(0).optional(),
  /**
   * Predicted world joints at this horizon: 20 canonical joints × xyz float32 (streams/skeleton.ts order),
   * metres, the world frame of `joints` (floor y = 0, +y up). NaN for a joint the frame lacks. Present
   * when the server decodes poses (LIVE_POSES, on by default) and the frame got a prediction.
   */
  pose: float32Bin(CANONICAL_JOINT_COUNT * 3, 'pose').optional(),
});
export type Prediction = z.infer<typeof Prediction>;

/** The server's answer to one frame (in seq order; late frames may be answered `shed`). */
export const Feedback = z.object({
  type: z.literal('feedback'),
  /** `seq` of the frame this answers. */
  seq: Seq,
  /** `t` of that frame (device clock, seconds). */
  t: z.number(),
  /** Current movement phase. */
  phase: Phase,
  /** Foot contacts. */
  contacts: Contacts,
  /** Running metrics. */
  metrics: Metrics,
  /**
   * This frame's canonical world joints as the server computed them (20×3 float32, metres, floor y = 0,
   * +y up; streams/skeleton.ts order; NaN = joint missing): the pose `predictions[].pose` start from, and
   * the actual pose to score a prediction made `h` frames earlier against. Absent when the frame produced no state.
   */
  joints: float32Bin(CANONICAL_JOINT_COUNT * 3, 'joints').optional(),
  /** MC-dropout uncertainty (mean std across passes); null when the frame got no prediction. */
  uncertainty: z.number().min(0).nullable(),
  /** Distance between this frame's latent and what was predicted for it; null until a prediction exists. */
  surprise: z.number().min(0).nullable(),
  /** Predictions at the session's horizons (empty when shed or no model). */
  predictions: z.array(Prediction).max(MAX_HORIZONS),
  /** True when the server was overloaded and skipped inference for this frame (it is still stored). */
  shed: z.boolean().optional(),
});
export type Feedback = z.infer<typeof Feedback>;

/** Every frame up to and including `seq` is persisted: the device may drop them from its resend buffer. */
export const Ack = z.object({
  type: z.literal('ack'),
  /** Highest persisted `seq`. */
  seq: Seq,
});
export type Ack = z.infer<typeof Ack>;

/** The session is finalised (answer to `end`). */
export const Ended = z.object({
  type: z.literal('ended'),
  /** The session that ended. */
  sessionId: Id,
  /** Frames stored for the session. */
  frames: z.number().int().min(0),
  /** Background job (retrain + task pack) started for it. */
  jobId: Id,
});
export type Ended = z.infer<typeof Ended>;

/** A message was rejected (the connection and the session go on). */
export const ErrorMessage = z.object({
  type: z.literal('error'),
  /** Wire error code (see the README table). */
  code: z.enum(ErrorCode),
  /** Human-readable detail, naming the field or frame at fault. */
  message: z.string().max(1024),
  /** `seq` of the rejected frame, when the message was a frame. */
  seq: Seq.optional(),
});
export type ErrorMessage = z.infer<typeof ErrorMessage>;

/** Any message the server sends on /v1/ingest. */
export type IngestServerMessage = Ready | Feedback | Ack | Ended | ErrorMessage;
