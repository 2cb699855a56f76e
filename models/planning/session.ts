/**
 * The session as planning sees it: the observed world track (stage 2), its stage-3 labels and the model
 * inputs, as plain arrays. Built once from the pipeline's frames; every later step reads it.
 */
import type { MetricsFrame } from '../../streams/metrics.js';
import type { PhaseName } from '../../streams/phases.js';
import type { Side } from '../../streams/skeleton.js';
import type { Assessment } from '../../streams/types.js';

export interface PlanningSession {
  readonly assessment: Assessment;
  /** T timestamps, seconds from the first frame. */
  readonly t: Float64Array;
  /** T × 60 world joints (m, floor y = 0). */
  readonly joints: Float32Array;
  /** T × F model features (raw, as the feature stage produced them). */
  readonly x: Float32Array;
  readonly featureDim: number;
  readonly contacts: readonly Readonly<Record<Side, boolean>>[];
  readonly gait: readonly Readonly<Record<Side, 'stance' | 'swing'>>[];
  readonly phase: readonly PhaseName[];
}

export function planningSession(states: readonly MetricsFrame[], assessment: Assessment): PlanningSession {
  const T = states.length;
  const F = states[0]?.features.length ?? 0;
  const joints = new Float32Array(T * 60);
  const x = new Float32Array(T * F);
  states.forEach((s, i) => {
    joints.set(s.joints, i * 60);
    x.set(s.features, i * F);
  });
  return {
    assessment,
    t: Float64Array.from(states, (s) => s.t),
    joints,
    x,
    featureDim: F,
    contacts: states.map((s) => s.contacts),
    gait: states.map((s) => s.gait),
    phase: states.map((s) => s.phase),
  };
}

const derived = new WeakMap<PlanningSession, Map<string, unknown>>();

/**
 * A value computed from a session once and kept with it (a fixed handful of keys per session, dropped
 * with the session): the observed track's measures, reference lengths, standing height and strikes,
 * which every question on a pack would otherwise recompute over all T frames. Sessions are not changed
 * after they are built.
 */
export function sessionDerived<T>(s: PlanningSession, key: string, make: () => T): T {
  let m = derived.get(s);
  if (!m) derived.set(s, (m = new Map()));
  if (!m.has(key)) m.set(key, make());
  return m.get(key) as T;
}
