// Running clinical metrics, updated every frame from the events and states seen so far.
// Windows are bounded: the last CADENCE_WINDOW heel strikes, the last SIDE_WINDOW steps/strides per side,
// the last REP_WINDOW reps; totals (steps, reps, sway) are running sums.
// Gait speed is the root's path length on the floor plane between the first and last heel strike of the
// window. On a treadmill that is meaningless: a treadmill is recognised by the stance foot moving in the
// lab frame (median horizontal speed of feet in contact > 0.2 m/s and faster than the root), and then
// gait speed is reported as null with kind 'treadmill' and the belt speed estimated from the stance feet:
// the MEDIAN of their horizontal speed over the last BELT_WINDOW foot-frames in contact. (The mean was
// 12 % low on Fukuchi's treadmill walk: loading and push-off frames, where the foot is not yet or no
// longer carried by the belt, pulled it down; the median is 0.47 m/s against 0.48 m/s in mid-stance.)
// Steps: in gait every heel strike (the contact detector's initial contacts); in the other assessments
// stepping is not the task, so only a foot that lifted and landed > 0.15 m away counts (steps.ts: a foot
// repositioning, listed in `foot_repositionings`); a squat or a sit-to-stand with planted feet has 0.
// Reps (phases.ts): standing to standing. rep_times_s = end_t − start_t (s): movement onset → return to
// standing, one full sit-down-and-stand-up cycle for sit-to-stand (30-s chair stand, Jones et al. 1999),
// except a first rep that starts seated, which is its rise only. five_times_sit_to_stand_s = return to
// standing after the fifth rise − onset of the first rise (s): the SPPB chair-stand time, clocked from
// seated to the fifth full stand (Guralnik et al. 1994; Bohannon 2006).
// Stance (balance, stance.ts): time_s per stance type (s, from the committed stance changes); single-leg
// bouts (Springer et al. 2007 unipedal stance: from the lifted foot leaving the floor until it touches
// down or the stance foot moves); loss-of-balance events: a single-leg bout ended by the lifted foot
// touching down ('touch_down') or by losing all support ('support_lost'), and foot repositionings during
// the test ('stepping_response'). A planned end of the stance also ends a bout: the unipedal stance
// test scores the touch-down the same way, whatever its cause.
// Sway (balance): CoM path length on the floor plane and the 95 % confidence ellipse area
// π·χ²₂(0.95)·√det(Σ) with χ²₂(0.95) = 5.991, Σ the running covariance (Welford) of CoM x/z.
import { type OperatorFunction, defer, map } from 'rxjs';
import type { FeatureFrame } from './features.js';
import type { RepEvent } from './phases.js';
import type { Side } from './skeleton.js';
import { STANCE_TYPES, type StanceType } from './stance.js';
import { MedianWindow } from './median-window.js';
import { type FootRepositioning, footRepositionings } from './steps.js';
import type { Assessment } from './types.js';
import { joint } from './vec3.js';

export const CADENCE_WINDOW = 12;

/**
 * Cadence (steps/min): n heel strikes (either foot) span n − 1 steps, so 60·(n − 1)/(t_last − t_first);
 * null below two strikes. Cadence is steps per minute (Perry & Burnfield, Gait Analysis: Normal and
 * Pathological Function, 2nd ed., 2010). The one definition used by the live metric (over the last
 * CADENCE_WINDOW strikes) and by the recording summary (over all strikes).
 */
export function cadenceSpm(strikeTimes: readonly number[]): number | null {
  const first = strikeTimes[0];
  const last = strikeTimes[strikeTimes.length - 1];
  if (first === undefined || last === undefined || strikeTimes.length < 2 || !(last > first)) return null;
  return (60 * (strikeTimes.length - 1)) / (last - first);
}
export const SIDE_WINDOW = 6;
export const REP_WINDOW = 50;
/** Last foot repositionings and loss-of-balance events kept in the metrics. */
export const EVENT_WINDOW = 20;
/** Stance foot-frames the belt speed is the median of (about 5 s of both feet at 60 Hz); oldest dropped. */
export const BELT_WINDOW = 600;
const CHI2_95_2DOF = 5.991;

type PerSide<T> = { left: T; right: T };

export interface LossOfBalanceEvent {
  readonly t: number;
  readonly side: Side;
  readonly kind: 'touch_down' | 'support_lost' | 'stepping_response';
}

export interface StanceMetrics {
  /** Current (committed) stance. */
  readonly type: StanceType;
  /** Time in each stance since the start (s). */
  readonly time_s: Readonly<Record<StanceType, number>>;
  readonly single_leg: {
    /** Single-leg stance bouts begun. */
    readonly bouts: number;
    /** Duration of the bout in progress (s), null when not on one leg. */
    readonly current_s: number | null;
    /** Duration of the last finished bout (s). */
    readonly last_s: number | null;
    /** Longest bout per stance leg (s), the one in progress included. */
    readonly longest_s: PerSide<number | null>;
  };
  readonly loss_of_balance: { readonly count: number; readonly events: readonly LossOfBalanceEvent[] };
}

export interface Metrics {
  /** Gait: heel strikes. Other assessments: foot repositionings (steps.ts). */
  readonly steps: number;
  /** Outside gait: the last EVENT_WINDOW feet that lifted and landed > 0.15 m away. Empty for gait. */
  readonly foot_repositionings: readonly FootRepositioning[];
  /** Live cadence over the last CADENCE_WINDOW heel strikes (cadenceSpm). */
  readonly cadence_spm: number | null;
  readonly step_time_s: PerSide<number | null>;
  readonly step_time_asymmetry_pct: number | null;
  readonly stance_pct: PerSide<number | null>;
  readonly gait_speed_mps: number | null;
  readonly gait_speed_kind: 'overground' | 'treadmill' | 'unknown';
  readonly belt_speed_mps: number | null;
  readonly knee_flexion_deg: PerSide<number | null>;
  readonly hip_flexion_deg: PerSide<number | null>;
  readonly peak_knee_flexion_deg: number | null;
  readonly reps: number;
  readonly rep_times_s: readonly number[];
  readonly squat_depth_m: number | null;
  readonly squat_knee_flexion_deg: number | null;
  readonly five_times_sit_to_stand_s: number | null;
  readonly sway: { readonly path_length_m: number; readonly area95_m2: number | null; readonly duration_s: number } | null;
  /** Balance only. */
  readonly stance: StanceMetrics | null;
}

export interface MetricsFrame extends FeatureFrame {
  readonly metrics: Metrics;
}

const mean = (a: readonly number[]): number | null => (a.length ? a.reduce((x, y) => x + y, 0) / a.length : null);
const push = <T>(a: T[], v: T, max: number): void => {
  a.push(v);
  if (a.length > max) a.shift();
};
const finiteOrNull = (v: number): number | null => (Number.isFinite(v) ? v : null);
const singleSide = (s: StanceType): Side | null => (s === 'single_left' ? 'left' : s === 'single_right' ? 'right' : null);

/** One metrics step per frame (state: the running windows and totals). The `metrics` operator wraps it. */
export type MetricsStep = (f: FeatureFrame) => MetricsFrame;

export function metricsStep(opts: { readonly assessment: Assessment }): MetricsStep {
  let steps = 0;
  let path = 0;
  let prevRoot: [number, number] | null = null;
  const strikes: { t: number; path: number }[] = [];
  const lastHS: PerSide<number> = { left: NaN, right: NaN };
  const lastTO: PerSide<number> = { left: NaN, right: NaN };
  const stepTimes: PerSide<number[]> = { left: [], right: [] };
  const stance: PerSide<number[]> = { left: [], right: [] };
  const stanceSpeeds = new MedianWindow(BELT_WINDOW);
  let peakKnee = NaN;
  const reps: RepEvent[] = [];
  const gait = opts.assessment === 'gait';
  const balance = opts.assessment === 'balance';
  const repositioned = footRepositionings();
  const repositionings: FootRepositioning[] = [];
  // Stance accounting (balance): closed time per type + the open segment since segStart.
  const stanceTime = Object.fromEntries(STANCE_TYPES.map((k) => [k, 0])) as Record<StanceType, number>;
  let segStart = NaN,
    bouts = 0,
    boutStart = NaN,
    lastBout: number | null = null,
    lobCount = 0;
  const longest: PerSide<number | null> = { left: null, right: null };
  const lob: LossOfBalanceEvent[] = [];
  let firstRiseStart = NaN,
    fifthRepEnd = NaN,
    repCount = 0;
  // Sway accumulators (Welford).
  let swayN = 0,
    mx = 0,
    mz = 0,
    sxx = 0,
    szz = 0,
    sxz = 0,
    swayPath = 0,
    swayStart = NaN,
    swayEnd = NaN;
  let prevCom: [number, number] | null = null;

  return (f): MetricsFrame => {
    const root = joint(f.joints, 'root');
    if (root) {
      if (prevRoot) path += Math.hypot(root[0] - prevRoot[0], root[2] - prevRoot[1]);
      prevRoot = [root[0], root[2]];
    }
    for (const e of f.events) {
      const other: Side = e.side === 'left' ? 'right' : 'left';
      if (e.type === 'toe_off') {
        lastTO[e.side] = e.t;
        continue;
      }
      if (gait) steps += 1;
      push(strikes, { t: e.t, path }, CADENCE_WINDOW);
      if (Number.isFinite(lastHS[other]) && e.t > lastHS[other]) push(stepTimes[e.side], e.t - lastHS[other], SIDE_WINDOW);
      const prev = lastHS[e.side];
      if (Number.isFinite(prev) && lastTO[e.side] > prev && lastTO[e.side] < e.t) {
        push(stance[e.side], (100 * (lastTO[e.side] - prev)) / (e.t - prev), SIDE_WINDOW);
      }
      lastHS[e.side] = e.t;
    }
    for (const s of ['left', 'right'] as const) {
      if (f.contacts[s] && Number.isFinite(f.feet[s].speed)) stanceSpeeds.push(f.feet[s].speed);
    }
    const k = Math.max(f.angles.kneeFlexion.left, f.angles.kneeFlexion.right);
    if (Number.isFinite(k)) peakKnee = Number.isFinite(peakKnee) ? Math.max(peakKnee, k) : k;
    if (f.repCompleted) {
      push(reps, f.repCompleted, REP_WINDOW);
      repCount += 1;
      if (repCount === 1) firstRiseStart = f.repCompleted.rise_t ?? f.repCompleted.start_t;
      if (repCount === 5) fifthRepEnd = f.repCompleted.end_t;
    }
    if (!gait) {
      for (const r of repositioned(f)) {
        steps += 1;
        push(repositionings, r, EVENT_WINDOW);
        if (balance) {
          lobCount += 1;
          push(lob, { t: r.t, side: r.side, kind: 'stepping_response' }, EVENT_WINDOW);
        }
      }
    }
    if (balance && f.stance) {
      if (!Number.isFinite(segStart)) segStart = f.t;
      const ch = f.stanceChange;
      if (ch) {
        stanceTime[ch.from] += Math.max(0, ch.t - segStart);
        segStart = ch.t;
        const fromSide = singleSide(ch.from);
        if (fromSide && Number.isFinite(boutStart)) {
          const d = ch.t - boutStart;
          lastBout = d;
          longest[fromSide] = Math.max(longest[fromSide] ?? 0, d);
          lobCount += 1;
          // The lifted foot is the other one; losing all support is the stance foot's doing.
          const lifted: Side = fromSide === 'left' ? 'right' : 'left';
          push(lob, ch.to === 'none' ? { t: ch.t, side: fromSide, kind: 'support_lost' } : { t: ch.t, side: lifted, kind: 'touch_down' }, EVENT_WINDOW);
          boutStart = NaN;
        }
        if (singleSide(ch.to)) {
          bouts += 1;
          boutStart = ch.t;
        }
      }
    }
    if (balance && f.com) {
      const [x, z] = [f.com[0], f.com[2]];
      if (prevCom) swayPath += Math.hypot(x - prevCom[0], z - prevCom[1]);
      prevCom = [x, z];
      swayN += 1;
      const dx = x - mx,
        dz = z - mz;
      mx += dx / swayN;
      mz += dz / swayN;
      sxx += dx * (x - mx);
      szz += dz * (z - mz);
      sxz += dx * (z - mz);
      if (!Number.isFinite(swayStart)) swayStart = f.t;
      swayEnd = f.t;
    }

    const first = strikes[0];
    const last = strikes[strikes.length - 1];
    const span = first && last ? last.t - first.t : 0;
    const cadence = cadenceSpm(strikes.map((x) => x.t));
    const stanceSpeed = stanceSpeeds.median();
    const rootSpeed = first && last && span > 0 ? (last.path - first.path) / span : NaN;
    const treadmill = stanceSpeed > 0.2 && stanceSpeed > rootSpeed;
    const kind = !Number.isFinite(rootSpeed) ? 'unknown' : treadmill ? 'treadmill' : 'overground';
    const stL = mean(stepTimes.left),
      stR = mean(stepTimes.right);
    const lastRep = reps[reps.length - 1];
    const det = swayN > 1 ? (sxx / (swayN - 1)) * (szz / (swayN - 1)) - (sxz / (swayN - 1)) ** 2 : NaN;
    // Cadence, step and stance timing, and speed describe walking: reported for gait only (in a squat
    // or on a noisy sensor, the odd foot shuffle is not a step rate).
    const side = f.stance ? singleSide(f.stance) : null;
    const current = side && Number.isFinite(boutStart) ? f.t - boutStart : null;
    const m: Metrics = {
      steps,
      foot_repositionings: gait ? [] : [...repositionings],
      cadence_spm: gait ? cadence : null,
      step_time_s: { left: gait ? stL : null, right: gait ? stR : null },
      step_time_asymmetry_pct: gait && stL !== null && stR !== null ? (200 * Math.abs(stL - stR)) / (stL + stR) : null,
      stance_pct: { left: gait ? mean(stance.left) : null, right: gait ? mean(stance.right) : null },
      gait_speed_mps: gait && kind === 'overground' ? rootSpeed : null,
      gait_speed_kind: gait ? kind : 'unknown',
      belt_speed_mps: gait && treadmill ? stanceSpeed : null,
      knee_flexion_deg: { left: finiteOrNull(f.angles.kneeFlexion.left), right: finiteOrNull(f.angles.kneeFlexion.right) },
      hip_flexion_deg: { left: finiteOrNull(f.angles.hipFlexion.left), right: finiteOrNull(f.angles.hipFlexion.right) },
      peak_knee_flexion_deg: finiteOrNull(peakKnee),
      reps: repCount,
      rep_times_s: reps.map((r) => r.end_t - r.start_t),
      squat_depth_m: opts.assessment === 'squat' && lastRep ? lastRep.maxDropM : null,
      squat_knee_flexion_deg: opts.assessment === 'squat' && lastRep ? finiteOrNull(lastRep.kneeFlexionAtBottomDeg) : null,
      five_times_sit_to_stand_s: opts.assessment === 'sit_to_stand' && repCount >= 5 ? fifthRepEnd - firstRiseStart : null,
      sway:
        opts.assessment === 'balance'
          ? {
              path_length_m: swayPath,
              area95_m2: finiteOrNull(Math.PI * CHI2_95_2DOF * Math.sqrt(Math.max(0, det))),
              duration_s: swayN > 0 ? swayEnd - swayStart : 0,
            }
          : null,
      stance:
        balance && f.stance
          ? {
              type: f.stance,
              time_s: { ...stanceTime, [f.stance]: stanceTime[f.stance] + Math.max(0, f.t - segStart) },
              single_leg: {
                bouts,
                current_s: current,
                last_s: lastBout,
                longest_s: {
                  left: side === 'left' && current !== null ? Math.max(longest.left ?? 0, current) : longest.left,
                  right: side === 'right' && current !== null ? Math.max(longest.right ?? 0, current) : longest.right,
                },
              },
              loss_of_balance: { count: lobCount, events: [...lob] },
            }
          : null,
    };
    // Fields written out, not spread (see contacts.ts).
    return {
      t: f.t,
      joints: f.joints,
      index: f.index,
      sourceJoints: f.sourceJoints,
      transform: f.transform,
      floor: f.floor,
      forward: f.forward,
      forwardSource: f.forwardSource,
      forwardFixedAt: f.forwardFixedAt,
      quality: f.quality,
      dropped: f.dropped,
      dt: f.dt,
      velocities: f.velocities,
      velocityValid: f.velocityValid,
      com: f.com,
      comVelocity: f.comVelocity,
      comModel: f.comModel,
      heading: f.heading,
      angles: f.angles,
      contacts: f.contacts,
      feet: f.feet,
      events: f.events,
      assessment: f.assessment,
      phase: f.phase,
      phaseStart: f.phaseStart,
      gait: f.gait,
      rootDrop: f.rootDrop,
      standingHeight: f.standingHeight,
      reps: f.reps,
      repCompleted: f.repCompleted,
      stance: f.stance,
      stanceChange: f.stanceChange,
      features: f.features,
      metrics: m,
    };
  };
}

export function metrics(opts: { readonly assessment: Assessment }): OperatorFunction<FeatureFrame, MetricsFrame> {
  return (source) => defer(() => source.pipe(map(metricsStep(opts))));
}
