// Source-rate joint tracks → fixed-rate frames. Short gaps are interpolated on the source's own
// timestamps before resampling; long gaps stay NaN and are reported, so later stages never see
// invented motion longer than `maxGapS`.
import type { Gap, PoseFrame } from '../types.js';
import { JOINTS, JOINT_COUNT, type JointName } from '../skeleton.js';

export const DEFAULT_FPS = 60;
export const DEFAULT_MAX_GAP_S = 0.1;

/** Canonical joints at the source's own sample times (metres, y up, right-handed; NaN = missing). */
export interface JointTrack {
  /** Seconds, strictly increasing (any origin: output time is relative to times[0]). */
  readonly times: Float64Array;
  /** times.length × JOINT_COUNT × 3. Modified in place when gaps are filled. */
  readonly joints: Float64Array;
}

export interface ResampleResult {
  readonly frames: PoseFrame[];
  readonly gaps: Gap[];
  readonly available: JointName[];
}

const STRIDE = JOINT_COUNT * 3;

function missing(j: Float64Array, i: number, k: number): boolean {
  const o = i * STRIDE + k * 3;
  return !(Number.isFinite(j[o]) && Number.isFinite(j[o + 1]) && Number.isFinite(j[o + 2]));
}

/**
 * Fills gaps of at most `maxGapS` (missing samples × source period) by linear interpolation between
 * the valid samples either side; leading/trailing gaps have one side only and are never filled.
 */
export function fillGaps(track: JointTrack, maxGapS: number): { gaps: Gap[]; available: JointName[] } {
  const { times, joints } = track;
  const n = times.length;
  const t0 = times[0] ?? 0;
  const period = n > 1 ? ((times[n - 1] ?? 0) - t0) / (n - 1) : 0;
  const gaps: Gap[] = [];
  const available: JointName[] = [];
  for (let k = 0; k < JOINT_COUNT; k++) {
    const joint = JOINTS[k] as JointName;
    let i = 0;
    let anyValid = false;
    while (i < n) {
      if (!missing(joints, i, k)) {
        anyValid = true;
        i++;
        continue;
      }
      const start = i;
      while (i < n && missing(joints, i, k)) i++;
      const end = i - 1; // last missing sample
      if (start === 0 && i === n) break; // joint absent from the whole source: not a gap
      const interior = start > 0 && i < n;
      const filled = interior && (end - start + 1) * period <= maxGapS + 1e-9;
      if (filled) {
        const a = start - 1;
        const b = i;
        const ta = times[a] ?? 0;
        const tb = times[b] ?? 0;
        for (let s = start; s <= end; s++) {
          const w = ((times[s] ?? 0) - ta) / (tb - ta);
          for (let c = 0; c < 3; c++) {
            const va = joints[a * STRIDE + k * 3 + c] ?? NaN;
            const vb = joints[b * STRIDE + k * 3 + c] ?? NaN;
            joints[s * STRIDE + k * 3 + c] = va + (vb - va) * w;
          }
        }
      } else {
        // A partly missing sample is treated as wholly missing, so x/y/z never disagree.
        for (let s = start; s <= end; s++) joints.fill(NaN, s * STRIDE + k * 3, s * STRIDE + k * 3 + 3);
      }
      gaps.push({ joint, start_s: (times[start] ?? 0) - t0, end_s: (times[end] ?? 0) - t0, filled });
    }
    if (anyValid) available.push(joint);
  }
  return { gaps, available };
}

/** Linear resampling at `fps` from t = 0 (= times[0]) to the last source time. */
export function resampleTrack(track: JointTrack, fps: number): PoseFrame[] {
  const { times, joints } = track;
  const n = times.length;
  if (n === 0) return [];
  const t0 = times[0] ?? 0;
  const duration = (times[n - 1] ?? t0) - t0;
  const count = Math.floor(duration * fps + 1e-6) + 1;
  const frames: PoseFrame[] = [];
  let seg = 0;
  for (let f = 0; f < count; f++) {
    const t = f / fps;
    const ts = t0 + t;
    while (seg < n - 2 && (times[seg + 1] ?? Infinity) <= ts) seg++;
    const out = new Float32Array(STRIDE);
    const ta = times[seg] ?? t0;
    const tb = times[seg + 1] ?? ta;
    const w = tb > ta ? Math.min(1, Math.max(0, (ts - ta) / (tb - ta))) : 0;
    const a = seg * STRIDE;
    const b = (n > 1 ? seg + 1 : seg) * STRIDE;
    for (let c = 0; c < STRIDE; c++) {
      const va = joints[a + c] ?? NaN;
      const vb = joints[b + c] ?? NaN;
      // An exact hit on a sample keeps it even when its neighbour is missing.
      out[c] = w === 0 ? va : w === 1 ? vb : va + (vb - va) * w;
    }
    frames.push({ t, joints: out });
  }
  return frames;
}

export function resample(track: JointTrack, fps: number, maxGapS: number): ResampleResult {
  const { gaps, available } = fillGaps(track, maxGapS);
  return { frames: resampleTrack(track, fps), gaps, available };
}
