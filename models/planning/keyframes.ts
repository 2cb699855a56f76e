/**
 * Stage 7, first step: movement phases from root speed and the keyframes planning perturbs.
 * Root speed is the pelvis's 3-D speed by finite differences over the frames' own timestamps, smoothed
 * with a centred moving average of SMOOTH_S (a single noisy frame must not open a phase). With m and s
 * the mean and standard deviation of that speed over the session: static < m − s ≤ transition ≤ m + s <
 * dynamic. Keyframes: the first and last frame and every phase change; when there is no phase change,
 * KEYFRAMES_FALLBACK evenly spaced frames. At most MAX_KEYFRAMES are kept (evenly thinned, first and last
 * always), so a long noisy session costs a bounded amount of planning.
 */
export const SMOOTH_S = 0.2;
export const KEYFRAMES_FALLBACK = 5;
export const MAX_KEYFRAMES = 24;
/** 1 mm/s: below any speed difference that means a different movement phase. */
export const SPEED_EPS = 1e-3;

export type SpeedPhase = 'static' | 'transition' | 'dynamic';

export interface SpeedPhases {
  readonly speed: Float64Array;
  readonly mean: number;
  readonly std: number;
  readonly phase: readonly SpeedPhase[];
  /** Contiguous runs of one phase: [start, end] frame indices (inclusive) and times. */
  readonly segments: readonly { phase: SpeedPhase; start: number; end: number; start_s: number; end_s: number }[];
}

export function rootSpeedPhases(t: ArrayLike<number>, joints: Float32Array): SpeedPhases {
  const T = t.length;
  const raw = new Float64Array(T);
  for (let i = 1; i < T; i++) {
    const dt = t[i]! - t[i - 1]!;
    const d = Math.hypot(
      joints[i * 60]! - joints[(i - 1) * 60]!,
      joints[i * 60 + 1]! - joints[(i - 1) * 60 + 1]!,
      joints[i * 60 + 2]! - joints[(i - 1) * 60 + 2]!,
    );
    raw[i] = dt > 0 && Number.isFinite(d) ? d / dt : NaN;
  }
  raw[0] = T > 1 ? raw[1]! : 0;
  const meanDt = T > 1 ? (t[T - 1]! - t[0]!) / (T - 1) : 1 / 60;
  const half = Math.max(0, Math.round(SMOOTH_S / meanDt / 2));
  const speed = new Float64Array(T);
  for (let i = 0; i < T; i++) {
    let s = 0;
    let n = 0;
    for (let k = Math.max(0, i - half); k <= Math.min(T - 1, i + half); k++)
      if (Number.isFinite(raw[k]!)) {
        s += raw[k]!;
        n++;
      }
    speed[i] = n ? s / n : 0;
  }
  const mean = speed.reduce((a, b) => a + b, 0) / Math.max(1, T);
  const std = Math.sqrt(speed.reduce((a, b) => a + (b - mean) ** 2, 0) / Math.max(1, T));
  // SPEED_EPS keeps float noise on a constant speed (std ≈ 1e-17) from splitting it into phases.
  const phase = Array.from(speed, (v): SpeedPhase => (v < mean - std - SPEED_EPS ? 'static' : v > mean + std + SPEED_EPS ? 'dynamic' : 'transition'));
  const segments: { phase: SpeedPhase; start: number; end: number; start_s: number; end_s: number }[] = [];
  phase.forEach((p, i) => {
    const last = segments[segments.length - 1];
    if (last && last.phase === p) {
      last.end = i;
      last.end_s = t[i]!;
    } else segments.push({ phase: p, start: i, end: i, start_s: t[i]!, end_s: t[i]! });
  });
  return { speed, mean, std, phase, segments };
}

export function keyframes(phases: SpeedPhases): number[] {
  const T = phases.phase.length;
  if (T === 0) return [];
  const changes = phases.segments.slice(1).map((s) => s.start);
  let keys: number[];
  if (changes.length === 0)
    keys = Array.from({ length: Math.min(KEYFRAMES_FALLBACK, T) }, (_, i) => Math.round((i * (T - 1)) / Math.max(1, Math.min(KEYFRAMES_FALLBACK, T) - 1)));
  else keys = [0, ...changes, T - 1];
  keys = [...new Set(keys)].sort((a, b) => a - b);
  if (keys.length <= MAX_KEYFRAMES) return keys;
  const inner = keys.slice(1, -1);
  const pick = Array.from({ length: MAX_KEYFRAMES - 2 }, (_, i) => inner[Math.floor(((i + 0.5) * inner.length) / (MAX_KEYFRAMES - 2))]!);
  return [keys[0]!, ...new Set(pick), keys[keys.length - 1]!];
}
