// The live per-session chain: ARKit wire frame → PoseFrame (streams/adapt) → sessionPipeline (align →
// physical state → contacts → phases → features → metrics), reduced to what feedback/updates carry.
// Same stages as offline; `env` plane updates flow into alignment through `planes$`.
import { map, pipe, type OperatorFunction } from 'rxjs';
import { sessionPipeline, type SessionPipelineOptions } from '../../streams/session-pipeline.js';
import type { ArkitFrame } from '../../streams/adapt.js';
import type { MetricsFrame } from '../../streams/metrics.js';
import type { PoseFrame } from '../../streams/types.js';
import type { FrameMsg, PipelineFactory, PipelineState } from './types.js';

/** At most this many metrics go on the wire (protocol MAX_METRICS). */
const MAX_WIRE_METRICS = 64;

/**
 * Flattens the structured running metrics into the wire's `name → finite number` record: nested
 * objects join keys with `_` (`stance_pct.left` → `stance_pct_left`), lists report their count and
 * last value (`rep_times_s` → `rep_times_s_count`, `rep_times_s_last`), null/NaN and strings are omitted.
 */
export function flattenMetrics(m: unknown, prefix = '', out: Record<string, number> = {}): Record<string, number> {
  if (Object.keys(out).length >= MAX_WIRE_METRICS) return out;
  if (typeof m === 'number') {
    if (Number.isFinite(m) && prefix) out[prefix] = m;
  } else if (typeof m === 'boolean') {
    if (prefix) out[prefix] = m ? 1 : 0;
  } else if (Array.isArray(m)) {
    const nums = m.filter((v): v is number => typeof v === 'number' && Number.isFinite(v));
    out[`${prefix}_count`] = m.length;
    const last = nums[nums.length - 1];
    if (last !== undefined) out[`${prefix}_last`] = last;
  } else if (m !== null && typeof m === 'object') {
    for (const [k, v] of Object.entries(m)) {
      flattenMetrics(v, prefix ? `${prefix}_${k}` : k, out);
      if (Object.keys(out).length >= MAX_WIRE_METRICS) break;
    }
  }
  return out;
}

/**
 * Stage 1's running quality checks as `quality_passed_<check>` = 1 | 0, so dashboards can flag a
 * session whose alignment or scale is implausible (streams/quality.ts names and limits the checks).
 */
function qualityMetrics(f: MetricsFrame): Record<string, number> {
  const out: Record<string, number> = {};
  for (const c of f.quality ?? []) out[`quality_passed_${c.name}`] = c.passed ? 1 : 0;
  return out;
}

export function toPipelineState(f: MetricsFrame): PipelineState {
  return {
    t: f.t,
    joints: f.joints,
    phase: f.phase,
    contacts: { left: f.contacts.left, right: f.contacts.right },
    metrics: flattenMetrics(f.metrics, '', qualityMetrics(f)),
    features: f.features,
  };
}

/**
 * Builds the PipelineFactory the server uses. `adapt` is streams/adapt.ts's operator (injected so this
 * module does not fix the adapter's options); extra stage options (thresholds) pass through.
 */
export function livePipeline(adapt: () => OperatorFunction<ArkitFrame, PoseFrame>, extra: Partial<SessionPipelineOptions> = {}): PipelineFactory {
  return ({ assessment, fps, planes$ }) => pipe(liveStages(adapt, { ...extra, assessment, fps, env: planes$ }), map(toPipelineState));
}

/** Wire frame → full pipeline frame: the stages a live session runs, also used to replay a recording (src/recordings). */
export function liveStages(adapt: () => OperatorFunction<ArkitFrame, PoseFrame>, opts: SessionPipelineOptions): OperatorFunction<FrameMsg, MetricsFrame> {
  return pipe(map(toArkitFrame), adapt(), sessionPipeline(opts));
}

/** The wire frame without its absent optional fields (streams/adapt's input type). */
export function toArkitFrame(f: FrameMsg): ArkitFrame {
  return {
    seq: f.seq,
    t: f.t,
    anchor: f.anchor,
    ...(f.joints ? { joints: f.joints } : {}),
    ...(f.jointTransforms ? { jointTransforms: f.jointTransforms } : {}),
    ...(f.tracked ? { tracked: f.tracked } : {}),
  };
}
