// The model's live accuracy over a replay: for every horizon h, the pose the server predicted at frame t
// for t + h (`feedback.predictions[].pose`) against the pose the server computed when frame t + h
// arrived (`feedback.joints`), beside the zero-velocity baseline (frame t's own pose) on the same pairs.
//
// Definition — the same as `jepa-motion eval`'s pose_mm (models/evaluate.ts): MPJPE in millimetres
// over the 19 non-root canonical joints finite in both poses, in the canonical space of
// models/probe-pose.ts (root-relative, yaw-aligned to the pelvis). The prediction is expressed in the
// canonical frame of frame t, where the server decoded it (pose_t + decode(ẑ) − decode(z)); the actual
// pose in its own frame, as eval does. Errors are pooled over every joint of every pair of every session.
import type { Feedback } from '../../src/protocol/index.js';
import { canonicalPose, mpjpe, poseFrame, POSE_DIM } from '../../models/probe-pose.js';

/** What `pose_error` in the replay report states about its numbers. */
export const POSE_ERROR_DEFINITION =
  'MPJPE (mm) over the 19 non-root canonical joints, root-relative and yaw-aligned to the pelvis (jepa-motion eval pose_mm, models/evaluate.ts): ' +
  'the pose predicted at frame t for t+h (feedback.predictions[].pose, expressed in frame t) vs the server-computed pose of frame t+h (feedback.joints); ' +
  'zero_velocity = the pose of frame t itself';

export interface HorizonPoseError {
  /** Mean error of the model's predicted poses (mm). */
  readonly model: number;
  /** Mean error of predicting "no movement": frame t's pose (mm), on the same pairs. */
  readonly zero_velocity: number;
  /** (t, t+h) frame pairs scored. */
  readonly pairs: number;
}

export interface PoseErrorReport {
  readonly unit: 'mm';
  readonly definition: string;
  /** Per horizon (frames ahead); absent horizons had no scored pair (no predicted poses, or too short a replay). */
  readonly horizons: Readonly<Record<string, HorizonPoseError>>;
}

/** Pooled error sums over every session of a replay. */
export class PoseErrorStats {
  private readonly acc = new Map<number, { model: number; zero: number; count: number; zeroCount: number; pairs: number }>();

  add(h: number, model: { sumMm: number; count: number }, zero: { sumMm: number; count: number }): void {
    const a = this.acc.get(h) ?? { model: 0, zero: 0, count: 0, zeroCount: 0, pairs: 0 };
    a.model += model.sumMm;
    a.count += model.count;
    a.zero += zero.sumMm;
    a.zeroCount += zero.count;
    a.pairs += 1;
    this.acc.set(h, a);
  }

  report(): PoseErrorReport {
    const horizons: Record<string, HorizonPoseError> = {};
    for (const [h, a] of [...this.acc].sort((x, y) => x[0] - y[0])) {
      if (a.count === 0 || a.zeroCount === 0) continue;
      horizons[String(h)] = { model: round(a.model / a.count), zero_velocity: round(a.zero / a.zeroCount), pairs: a.pairs };
    }
    return { unit: 'mm', definition: POSE_ERROR_DEFINITION, horizons };
  }
}

interface Seen {
  /** The frame's own pose in its canonical frame. */
  readonly canonical: Float32Array;
  /** Per horizon: the predicted pose expressed in this frame's canonical frame. */
  readonly predicted: ReadonlyMap<number, Float32Array>;
}

/**
 * One session's window of recent feedback (at most the largest horizon + 1 frames, by seq), scoring
 * each arriving frame against the predictions made for it.
 */
export class PoseErrorTracker {
  private readonly seen = new Map<number, Seen>();
  private maxH = 0;

  constructor(private readonly stats: PoseErrorStats) {}

  observe(f: Feedback): void {
    if (!f.joints || f.joints.length !== POSE_DIM) return;
    const canonical = canonicalPose(f.joints);
    for (const [seq, s] of this.seen) {
      const p = s.predicted.get(f.seq - seq);
      if (p) this.stats.add(f.seq - seq, mpjpe(p, canonical), mpjpe(s.canonical, canonical));
    }
    const frame = poseFrame(f.joints);
    const predicted = new Map<number, Float32Array>();
    for (const p of f.predictions) {
      if (!p.pose || p.pose.length !== POSE_DIM) continue;
      predicted.set(p.h, canonicalPose(p.pose, 0, new Float32Array(POSE_DIM), frame));
      this.maxH = Math.max(this.maxH, p.h);
    }
    this.seen.set(f.seq, { canonical, predicted });
    // Feedback comes in seq order, so the map is in seq order: drop what no future frame can score.
    for (const seq of this.seen.keys()) {
      if (seq >= f.seq - this.maxH) break;
      this.seen.delete(seq);
    }
  }
}

const round = (mm: number): number => Math.round(mm * 10) / 10;
