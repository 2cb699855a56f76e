// /v1/live messages (therapist dashboards ↔ server).
import { z } from 'zod';
import { ErrorMessage, MAX_HORIZONS, Prediction } from './ingest-messages.js';
import { Assessment, CANONICAL_JOINT_COUNT, Contacts, Id, Metrics, Phase, Seq, float32Bin } from './fields.js';

/** At most this many updates in one `snapshot` (a few seconds at ≤ 30 Hz). */
export const MAX_SNAPSHOT_UPDATES = 1024;

// `subscribe`/`unsubscribe` name exactly one target; the parsed type is that exact union.
function targetMessage<T extends 'subscribe' | 'unsubscribe'>(type: T) {
  return z
    .object({
      type: z.literal(type),
      /** Follow one session. */
      sessionId: Id.optional(),
      /** Follow every session of a clinic (must be the token's clinic). */
      clinic: Id.optional(),
    })
    .superRefine((m, ctx) => {
      if ((m.sessionId === undefined) === (m.clinic === undefined)) {
        ctx.addIssue({ code: 'custom', path: ['sessionId'], message: 'exactly one of sessionId or clinic is required' });
      }
    })
    .transform((m): { type: T; sessionId: string } | { type: T; clinic: string } =>
      m.sessionId !== undefined ? { type: m.type, sessionId: m.sessionId } : { type: m.type, clinic: m.clinic ?? '' },
    );
}

/** Start following a session (`{sessionId}`) or a whole clinic (`{clinic}`); answered by a `snapshot` per session. */
export const Subscribe = targetMessage('subscribe');
export type Subscribe = z.infer<typeof Subscribe>;

/** Stop following a session or clinic (same target as the `subscribe`). */
export const Unsubscribe = targetMessage('unsubscribe');
export type Unsubscribe = z.infer<typeof Unsubscribe>;

/** Any message a dashboard sends on /v1/live. */
export type LiveClientMessage = Subscribe | Unsubscribe;

/** A followed session started. */
export const SessionStarted = z.object({
  type: z.literal('session.started'),
  /** The new session. */
  sessionId: Id,
  /** Its clinic. */
  clinic: Id,
  /** Its patient. */
  patientId: Id,
  /** Its assessment. */
  assessment: Assessment,
  /** Start time, Unix epoch milliseconds (server clock). */
  startedAt: z.number().int().min(0),
});
export type SessionStarted = z.infer<typeof SessionStarted>;

/** Latest state of a followed session (at most LIVE_UPDATE_HZ per session; slow dashboards get the latest only). */
export const Update = z.object({
  type: z.literal('update'),
  /** Session this state belongs to. */
  sessionId: Id,
  /** `seq` of the frame it was computed from. */
  seq: Seq,
  /** `t` of that frame (device clock, seconds). */
  t: z.number(),
  /** Canonical world joints (20×3 float32, metres, floor y=0; streams/skeleton.ts order). */
  joints: float32Bin(CANONICAL_JOINT_COUNT * 3, 'joints'),
  /** Current movement phase. */
  phase: Phase,
  /** Foot contacts. */
  contacts: Contacts,
  /** Running metrics. */
  metrics: Metrics,
  /** MC-dropout uncertainty; null when the frame got no prediction. */
  uncertainty: z.number().min(0).nullable(),
  /** Surprise (latent distance to what was predicted); null until a prediction exists. */
  surprise: z.number().min(0).nullable(),
  /** Predicted world pose at the first configured horizon (20×3 float32; = `predictions[0].pose`), when available. */
  prediction: float32Bin(CANONICAL_JOINT_COUNT * 3, 'prediction').optional(),
  /** The frame's predictions at every configured horizon, as in `feedback.predictions` (pose definition there). */
  predictions: z.array(Prediction).max(MAX_HORIZONS).optional(),
});
export type Update = z.infer<typeof Update>;

/** Recent history of a session, sent once on subscribe (oldest first, SNAPSHOT_SECONDS long). */
export const Snapshot = z.object({
  type: z.literal('snapshot'),
  /** Session the history belongs to. */
  sessionId: Id,
  /** Updates, oldest first. History keeps each prediction's `h` and `uncertainty` and the first horizon's `prediction`, not every horizon's pose. */
  updates: z.array(Update).max(MAX_SNAPSHOT_UPDATES),
});
export type Snapshot = z.infer<typeof Snapshot>;

/** A followed session ended. */
export const SessionEnded = z.object({
  type: z.literal('session.ended'),
  /** The session. */
  sessionId: Id,
  /** Frames stored. */
  frames: z.number().int().min(0),
  /** Background job started for it (absent when the session ended without `end`, e.g. lost past the resume window with no frames). */
  jobId: Id.optional(),
});
export type SessionEnded = z.infer<typeof SessionEnded>;

/**
 * A task pack of a session of a followed clinic was stored (sent to that clinic's subscribers only, from
 * any node). Its report is GET /v1/taskpacks/:taskpackId/report.
 */
export const TaskpackReady = z.object({
  type: z.literal('taskpack.ready'),
  /** The task pack. */
  taskpackId: Id,
  /** The session it was built from. */
  sessionId: Id,
  /** Its patient. */
  patientId: Id,
  /** Its clinic. */
  clinic: Id,
});
export type TaskpackReady = z.infer<typeof TaskpackReady>;

export { ErrorMessage };

/** Any message the server sends on /v1/live. */
export type LiveServerMessage = SessionStarted | Update | Snapshot | SessionEnded | TaskpackReady | ErrorMessage;
