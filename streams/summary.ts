// The summary object `jepa-motion pipeline --json` prints for one processed recording.
// Times are seconds from the first frame. event_timing compares detected heel strikes / toe-offs with
// the recording's annotations (C3D events, force plates): each annotation is matched to the nearest
// detected event of the same type and side within EVENT_MATCH_WINDOW_S.
import type { GaitEvent } from './contacts.js';
import { type MetricsFrame, type Metrics, cadenceSpm } from './metrics.js';
import type { QualityCheck } from './quality.js';
import { StageError, StageErrorCode } from './stage-error.js';
import type { Annotation, RecordingMeta } from './types.js';
import { joint } from './vec3.js';

export const EVENT_MATCH_WINDOW_S = 0.2;

export interface EventTiming {
  /** Where the annotations came from (e.g. 'c3d-event', 'force-plate'). */
  readonly sources: readonly string[];
  readonly window_ms: number;
  readonly annotated: number;
  readonly matched: number;
  readonly median_abs_error_ms: number | null;
  readonly mean_error_ms: number | null;
  readonly p90_abs_error_ms: number | null;
  readonly by_type: Readonly<
    Record<GaitEvent['type'], { annotated: number; matched: number; median_abs_error_ms: number | null; mean_error_ms: number | null }>
  >;
}

export interface PipelineSummary {
  readonly frames: number;
  readonly fps: number;
  readonly duration_s: number;
  readonly floor: { readonly source: string; readonly clearance_min_m: number | null; readonly y_source_m: number };
  readonly forward: { readonly source: string; readonly fixed_at_s: number | null };
  readonly quality: { readonly passed: boolean; readonly checks: readonly QualityCheck[] };
  readonly body_height_m: number | null;
  readonly body_height_basis: 'head_joint' | 'neck_joint' | null;
  readonly com_model: string;
  readonly contacts: { readonly left: number; readonly right: number };
  readonly steps: number;
  /**
   * Cadence over the WHOLE recording (all heel strikes, cadenceSpm). `metrics.cadence_spm` is the live
   * value at the last frame, over the last CADENCE_WINDOW (12) strikes only: same definition, shorter
   * window, so the two differ when the step rate changes during the recording.
   */
  readonly overall_cadence_spm: number | null;
  readonly events: readonly { type: GaitEvent['type']; side: GaitEvent['side']; t_s: number }[];
  readonly phases: readonly { name: string; start_s: number; end_s: number }[];
  readonly metrics: Metrics;
  readonly event_timing?: EventTiming;
}

const median = (a: readonly number[]): number | null => {
  if (!a.length) return null;
  const s = [...a].sort((x, y) => x - y);
  const m = s.length >> 1;
  return s.length % 2 ? (s[m] ?? null) : ((s[m - 1] ?? 0) + (s[m] ?? 0)) / 2;
};
const quantile = (a: readonly number[], q: number): number | null => {
  if (!a.length) return null;
  const s = [...a].sort((x, y) => x - y);
  return s[Math.min(s.length - 1, Math.floor(q * s.length))] ?? null;
};
const meanOf = (a: readonly number[]): number | null => (a.length ? a.reduce((x, y) => x + y, 0) / a.length : null);

/** Signed errors (detected − annotated, s) of the annotations that found a match. */
function matchErrors(annotations: readonly Annotation[], events: readonly GaitEvent[]): number[] {
  const errs: number[] = [];
  for (const a of annotations) {
    let best = Infinity;
    for (const e of events) {
      if (e.type !== a.type || e.side !== a.side) continue;
      const d = e.t - a.t_s;
      if (Math.abs(d) < Math.abs(best)) best = d;
    }
    if (Math.abs(best) <= EVENT_MATCH_WINDOW_S) errs.push(best);
  }
  return errs;
}

export function eventTiming(annotations: readonly Annotation[], events: readonly GaitEvent[], range: [number, number]): EventTiming {
  const inRange = annotations.filter((a) => a.t_s > range[0] && a.t_s < range[1]);
  const all = matchErrors(inRange, events);
  const abs = all.map((e) => Math.abs(e) * 1000);
  const part = (type: GaitEvent['type']) => {
    const ann = inRange.filter((a) => a.type === type);
    const errs = matchErrors(ann, events);
    return {
      annotated: ann.length,
      matched: errs.length,
      median_abs_error_ms: median(errs.map((e) => Math.abs(e) * 1000)),
      mean_error_ms: meanOf(errs.map((e) => e * 1000)),
    };
  };
  return {
    sources: [...new Set(inRange.map((a) => a.source))].sort(),
    window_ms: EVENT_MATCH_WINDOW_S * 1000,
    annotated: inRange.length,
    matched: all.length,
    median_abs_error_ms: median(abs),
    mean_error_ms: meanOf(all.map((e) => e * 1000)),
    p90_abs_error_ms: quantile(abs, 0.9),
    by_type: { heel_strike: part('heel_strike'), toe_off: part('toe_off') },
  };
}

export function summarize(states: readonly MetricsFrame[], meta: RecordingMeta): PipelineSummary {
  const first = states[0];
  const last = states[states.length - 1];
  if (!first || !last) throw new StageError(StageErrorCode.NO_FRAMES, 'summary', 'no frames to summarise');
  const events = states.flatMap((s) => s.events).sort((a, b) => a.t - b.t);
  const strikes = events.filter((e) => e.type === 'heel_strike');
  const phases: { name: string; start_s: number; end_s: number }[] = [];
  const contactCount = { left: 0, right: 0 };
  let clearance = Infinity;
  const heads: number[] = [];
  const necks: number[] = [];
  let prev: MetricsFrame | null = null;
  for (const s of states) {
    const open = phases[phases.length - 1];
    if (open && open.name === s.phase) open.end_s = s.t;
    else phases.push({ name: s.phase, start_s: s.t, end_s: s.t });
    for (const side of ['left', 'right'] as const) if (s.contacts[side] && !(prev?.contacts[side] ?? false)) contactCount[side] += 1;
    const h = Math.min(s.feet.left.height, s.feet.right.height);
    if (Number.isFinite(h)) clearance = Math.min(clearance, h);
    const head = joint(s.joints, 'head');
    const neck = joint(s.joints, 'neck');
    if (head) heads.push(head[1]);
    if (neck) necks.push(neck[1]);
    prev = s;
  }
  const basis = heads.length ? 'head_joint' : necks.length ? 'neck_joint' : null;
  const summary: PipelineSummary = {
    frames: states.length,
    fps: meta.fps,
    duration_s: last.t - first.t,
    floor: { source: last.floor.source, clearance_min_m: Number.isFinite(clearance) ? clearance : null, y_source_m: last.floor.y },
    forward: {
      source: last.forwardSource,
      fixed_at_s: last.forwardFixedAt !== null ? (states[last.forwardFixedAt]?.t ?? null) : null,
    },
    quality: { passed: last.quality.every((c) => c.passed), checks: last.quality },
    // Height of the head (or neck) joint, 90th percentile over frames: a standing-height proxy, not stature.
    body_height_m: quantile(heads.length ? heads : necks, 0.9),
    body_height_basis: basis,
    com_model: last.comModel,
    contacts: contactCount,
    // Gait: heel strikes; other assessments: foot repositionings (metrics.ts / steps.ts).
    steps: last.metrics.steps,
    overall_cadence_spm: last.assessment === 'gait' ? cadenceSpm(strikes.map((e) => e.t)) : null,
    events: events.map((e) => ({ type: e.type, side: e.side, t_s: e.t })),
    phases,
    metrics: last.metrics,
  };
  if (meta.annotations.length === 0) return summary;
  return { ...summary, event_timing: eventTiming(meta.annotations, events, [first.t, last.t]) };
}
