// The live per-session chain: ARKit wire frame → PoseFrame (streams/adapt) → sessionPipeline (align →
// physical state → contacts → phases → features → metrics), reduced to what feedback/updates carry.
// Same stages as offline. Live, they run as one synchronous step per frame (each stage's step function,
// which is what its operator maps): RxJS cost ≈ a dozen subscriber hops per frame for nothing, since
// every stage is a 1:1 map. `env` plane updates flow into alignment through `planes$`.
import { map, pipe, type OperatorFunction } from 'rxjs';
import { sessionPipeline, sessionStep, type SessionPipelineOptions } from '../../streams/session-pipeline.js';
import { adaptStep, type AdaptOptions, type ArkitFrame } from '../../streams/adapt.js';
import type { MetricsFrame } from '../../streams/metrics.js';
import type { PlaneAnchor, PoseFrame } from '../../streams/types.js';
import type { FrameMsg, PipelineFactory, PipelineState } from './types.js';

/** At most this many metrics go on the wire (protocol MAX_METRICS). */
const MAX_WIRE_METRICS = 64;

/**
 * Flattens the structured running metrics into the wire's `name → finite number` record: nested
 * objects join keys with `_` (`stance_pct.left` → `stance_pct_left`), lists report their count and
 * last value (`rep_times_s` → `rep_times_s_count`, `rep_times_s_last`), null/NaN and strings are omitted.
 * At most MAX_WIRE_METRICS entries, in the metrics' own key order.
 */
export function flattenMetrics(m: unknown): Record<string, number> {
  const out: Record<string, number> = {};
  flattenInto(m, '', out, { n: 0 });
  return out;
}

/** `count.n` tracks out's size (it runs every frame: Object.keys(out) per key was quadratic). */
function flattenInto(m: unknown, prefix: string, out: Record<string, number>, count: { n: number }): void {
  if (count.n >= MAX_WIRE_METRICS) return;
  if (typeof m === 'number') {
    if (Number.isFinite(m) && prefix) put(out, count, prefix, m);
  } else if (typeof m === 'boolean') {
    if (prefix) put(out, count, prefix, m ? 1 : 0);
  } else if (Array.isArray(m)) {
    put(out, count, joinKey(prefix, 'count'), m.length);
    for (let i = m.length - 1; i >= 0; i--) {
      const v: unknown = m[i];
      if (typeof v === 'number' && Number.isFinite(v)) {
        put(out, count, joinKey(prefix, 'last'), v);
        break;
      }
    }
  } else if (m !== null && typeof m === 'object') {
    for (const k in m) {
      if (!Object.hasOwn(m, k)) continue;
      flattenInto((m as Record<string, unknown>)[k], prefix ? joinKey(prefix, k) : k, out, count);
      if (count.n >= MAX_WIRE_METRICS) break;
    }
  }
}

/**
 * `${prefix}_${k}`, memoised: every frame flattens the same few dozen names, and a key built afresh is a
 * new string V8 must hash and look up on every store. Bounded: past KEY_CACHE_MAX names (metric names
 * come from code, so this is not reached) keys are built per call again.
 */
const KEY_CACHE_MAX = 1024;
const keyCache = new Map<string, Map<string, string>>();
let keyCacheSize = 0;

function joinKey(prefix: string, k: string): string {
  let byKey = keyCache.get(prefix);
  const hit = byKey?.get(k);
  if (hit !== undefined) return hit;
  const key = `${prefix}_${k}`;
  if (keyCacheSize < KEY_CACHE_MAX) {
    if (!byKey) keyCache.set(prefix, (byKey = new Map()));
    byKey.set(k, key);
    keyCacheSize += 1;
  }
  return key;
}

function put(out: Record<string, number>, count: { n: number }, key: string, v: number): void {
  if (!Object.hasOwn(out, key)) count.n += 1;
  out[key] = v;
}

/**
 * Stage 1's running quality checks as `quality_passed_<check>` = 1 | 0, so dashboards can flag a
 * session whose alignment or scale is implausible (streams/quality.ts names and limits the checks).
 * Added into the flattened metrics, within the same MAX_WIRE_METRICS bound.
 */
function addQualityMetrics(f: MetricsFrame, out: Record<string, number>, size: number): Record<string, number> {
  let n = size;
  for (const c of f.quality ?? []) {
    if (n >= MAX_WIRE_METRICS) break;
    out[joinKey('quality_passed', c.name)] = c.passed ? 1 : 0;
    n += 1;
  }
  return out;
}

function wireMetrics(f: MetricsFrame): Record<string, number> {
  const out: Record<string, number> = {};
  const count = { n: 0 };
  flattenInto(f.metrics, '', out, count);
  return addQualityMetrics(f, out, count.n);
}

export function toPipelineState(f: MetricsFrame): PipelineState {
  return {
    t: f.t,
    joints: f.joints,
    phase: f.phase,
    contacts: { left: f.contacts.left, right: f.contacts.right },
    metrics: wireMetrics(f),
    features: f.features,
  };
}

/** Options of the live pipeline: the adapter's and extra stage options (thresholds); assessment and fps come per session. */
export type LivePipelineOptions = Partial<Omit<SessionPipelineOptions, 'env'>> & { readonly adapt?: AdaptOptions };

/**
 * Builds the PipelineFactory the server uses: per session one synchronous step (adapt → sessionStep →
 * wire state), following the session's plane updates through one subscription (not per frame).
 */
export function livePipeline(extra: LivePipelineOptions = {}): PipelineFactory {
  const { adapt: adaptOpts, ...stageOpts } = extra;
  return ({ assessment, fps, planes$ }) => {
    const next = liveStep({ ...stageOpts, assessment, fps }, adaptOpts);
    // As the operator chain's withLatestFrom(planes$ startWith planes): the latest update, else `planes`.
    let planes: readonly PlaneAnchor[] = stageOpts.planes ?? [];
    const sub = planes$.subscribe((p) => (planes = p));
    return {
      step: (frame) => {
        const m = next(frame, planes);
        return m ? toPipelineState(m) : undefined;
      },
      close: () => sub.unsubscribe(),
    };
  };
}

/** Wire frame → full pipeline frame as one synchronous step: what `liveStages` computes, frame by frame. */
export function liveStep(opts: SessionPipelineOptions, adaptOpts: AdaptOptions = {}): (frame: FrameMsg, planes: readonly PlaneAnchor[]) => MetricsFrame | null {
  const adaptNext = adaptStep(adaptOpts);
  const sessionNext = sessionStep(opts);
  return (frame, planes) => {
    const pose = adaptNext(toArkitFrame(frame));
    return pose ? sessionNext(pose, planes) : null;
  };
}

/** Wire frame → full pipeline frame: the stages as RxJS operators, used to replay a recording (src/recordings). */
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
