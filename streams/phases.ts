// Stage 3 (live part): movement phase per frame, by assessment.
//   gait:         per-foot stance/swing from contacts; label double/single support.
//   squat:        standing → descent → bottom → ascent → standing (one rep).
//   sit_to_stand: standing → sitting → seated → rising → standing.
//   balance:      the stance (stance.ts): single_leg_stance_left/right or tandem_stance while the feet say
//                 so; in side-by-side stance static / unstable from CoM sway (below).
// Reps (squat, sit-to-stand) run from standing to standing, as the clinical chair-stand tests count a
// repetition: the 30-s chair stand counts full stands from seated and back (Jones, Rikli & Beam 1999,
// Res Q Exerc Sport 70(2):113–119); the five-times sit-to-stand is timed from seated to the fifth full
// stand (SPPB, Guralnik et al. 1994, J Gerontol 49(2):M85–M94; reference values Bohannon 2006, Percept
// Mot Skills 103(1):215–222). A rep starts at movement onset, the last frame the (unsmoothed) root was
// within REP_STAND_TOL_M (2 cm) of the standing height before it left standing, and ends on return to
// standing, the first frame after the rise with the root back within 2 cm. A patient who stands less
// tall after the rep never gets there: the rep then ends at the root's highest point after the rise,
// committed once the root is still again or leaves standing (a brisk five-times sit-to-stand may not
// pause at the top). A recording that starts seated (five-times sit-to-stand) has a first rep from the
// onset of its first rise (its last still frame, |smoothed vertical speed| < verticalSpeed). `rise_t`
// is the onset of the rise within a sit-to-stand rep (the last still frame after the lowest point):
// the five-times sit-to-stand clock starts there. A sit-to-stand rep counts only if the root dropped at
// least seatDropM (it sat down).
// Squat and sit-to-stand use the root height below the standing height ("drop") and the root's vertical
// speed, both smoothed with a time-constant EMA over the frames' own timestamps. The standing height is
// the highest smoothed root height so far; for sit-to-stand at least 0.95 × (thigh + shank + ankle
// height), so that a recording that starts seated (five-times sit-to-stand) is not taken for standing.
// Balance: unstable when the smoothed horizontal CoM speed exceeds balanceSpeed (0.1 m/s) or the CoM is
// more than balanceExcursionM (0.1 m) from its slow running mean (2 s EMA); back to static below 70 % of
// both (hysteresis). 0.1 m/s is several times quiet-standing CoM speed (~1–2 cm/s).
import { type OperatorFunction, defer, map } from 'rxjs';
import type { ContactFrame } from './contacts.js';
import type { Assessment } from './types.js';
import { JOINT_INDEX, type Side } from './skeleton.js';
import { type StanceChange, type StanceType, stanceTracker } from './stance.js';
import { joint } from './vec3.js';

export type PhaseName =
  | 'double_support'
  | 'single_support_left'
  | 'single_support_right'
  | 'no_support'
  | 'standing'
  | 'descent'
  | 'bottom'
  | 'ascent'
  | 'sitting'
  | 'seated'
  | 'rising'
  | 'static'
  | 'unstable'
  | 'single_leg_stance_left'
  | 'single_leg_stance_right'
  | 'tandem_stance';

export interface PhaseOptions {
  readonly assessment: Assessment;
  /** Vertical root speed separating moving from still (m/s). Default 0.1. */
  readonly verticalSpeed?: number;
  /** Root drop below standing height that still counts as standing (m). Default 0.08. */
  readonly standDropM?: number;
  /** Root drop beyond which a still body is seated (m). Default 0.2. */
  readonly seatDropM?: number;
  readonly smoothS?: number;
  readonly balanceSpeed?: number;
  readonly balanceExcursionM?: number;
}

/** Root within this of the standing height counts as standing for rep onset and return (m). */
export const REP_STAND_TOL_M = 0.02;

export const PHASE_DEFAULTS = { verticalSpeed: 0.1, standDropM: 0.08, seatDropM: 0.2, smoothS: 0.1, balanceSpeed: 0.1, balanceExcursionM: 0.1 } as const;

export interface RepEvent {
  readonly index: number;
  /** Movement onset out of standing (or out of seated for a first rep that starts seated), s. */
  readonly start_t: number;
  /** Return to standing: root back within REP_STAND_TOL_M of standing height (else its highest point after the rise), s. */
  readonly end_t: number;
  /** Sit-to-stand: onset of the rise (seat-off proxy), s; null for squats. */
  readonly rise_t: number | null;
  /** Largest root drop during the rep (m) and knee flexion (mean of sides) there (deg). */
  readonly maxDropM: number;
  readonly kneeFlexionAtBottomDeg: number;
}

export interface PhaseFrame extends ContactFrame {
  readonly assessment: Assessment;
  readonly phase: PhaseName;
  /** Time the current phase started (s). */
  readonly phaseStart: number;
  readonly gait: Readonly<Record<Side, 'stance' | 'swing'>>;
  /** Root drop below the standing height (m), smoothed; NaN without a root. */
  readonly rootDrop: number;
  readonly standingHeight: number;
  /** Completed squat / sit-to-stand reps so far, and the one completed at this frame. */
  readonly reps: number;
  readonly repCompleted: RepEvent | null;
  /** Balance only (null otherwise): committed stance (stance.ts) and the change committed at this frame. */
  readonly stance: StanceType | null;
  readonly stanceChange: StanceChange | null;
}

const STANCE_PHASE: Partial<Record<StanceType, PhaseName>> = {
  single_left: 'single_leg_stance_left',
  single_right: 'single_leg_stance_right',
  tandem: 'tandem_stance',
};

const ema = (prev: number, x: number, dt: number, tau: number): number =>
  !Number.isFinite(prev) ? x : !Number.isFinite(x) ? prev : prev + (1 - Math.exp(-dt / tau)) * (x - prev);

const finite3 = (a: Float32Array, i: number): boolean => Number.isFinite(a[i]) && Number.isFinite(a[i + 1]) && Number.isFinite(a[i + 2]);
const dist3 = (j: Float32Array, a: number, b: number): number => Math.hypot(j[a]! - j[b]!, j[a + 1]! - j[b + 1]!, j[a + 2]! - j[b + 2]!);
const LEGS = (['left', 'right'] as const).map((s) => ({ h: 3 * JOINT_INDEX[`${s}_hip`], k: 3 * JOINT_INDEX[`${s}_knee`], a: 3 * JOINT_INDEX[`${s}_ankle`] }));

/** Longest thigh + shank + ankle height of the two legs (per frame: by index, no tuples), NaN without a full leg. */
function legHeight(f: ContactFrame): number {
  const j = f.joints;
  let best = NaN;
  for (const { h, k, a } of LEGS) {
    if (finite3(j, h) && finite3(j, k) && finite3(j, a))
      best = Math.max(Number.isFinite(best) ? best : 0, dist3(j, h, k) + dist3(j, k, a) + Math.max(0, j[a + 1]!));
  }
  return best;
}

/** One phase step per frame (state: the current phase, smoothed root, the rep in progress). The `phases` operator wraps it. */
export type PhasesStep = (f: ContactFrame) => PhaseFrame;

export function phasesStep(opts: PhaseOptions): PhasesStep {
  const o = { ...PHASE_DEFAULTS, ...opts };
  let phase: PhaseName | null = null;
  let phaseStart = 0;
  let rootY = NaN,
    vy = NaN,
    maxRootY = NaN,
    legMean = 0,
    legN = 0;
  let comSpeed = NaN,
    comMeanX = NaN,
    comMeanZ = NaN;
  let reps = 0,
    repStart = NaN,
    riseStart = NaN,
    repMaxDrop = 0,
    repMaxDropT = NaN,
    repKnee = NaN,
    lastStillT = NaN,
    lastNearStandT = NaN,
    endPending = false,
    endT = NaN,
    peakY = NaN,
    peakT = NaN,
    lastEndT = NaN;
  const stance = o.assessment === 'balance' ? stanceTracker() : null;
  const closeRep = (): RepEvent | null => {
    const counts = o.assessment === 'squat' || repMaxDrop >= o.seatDropM;
    const rep: RepEvent | null = counts
      ? {
          index: reps,
          start_t: repStart,
          end_t: endT,
          rise_t: o.assessment === 'squat' ? null : riseStart,
          maxDropM: repMaxDrop,
          kneeFlexionAtBottomDeg: repKnee,
        }
      : null;
    if (rep) reps += 1;
    lastEndT = endT;
    repStart = NaN;
    riseStart = NaN;
    repMaxDrop = 0;
    repMaxDropT = NaN;
    repKnee = NaN;
    endPending = false;
    return rep;
  };
  const next = (
    f: ContactFrame,
  ): { phase: PhaseName; rep: RepEvent | null; drop: number; stand: number; stance: ReturnType<NonNullable<typeof stance>> | null } => {
    const root = joint(f.joints, 'root');
    const leg = legHeight(f);
    if (Number.isFinite(leg)) legMean = (legMean * legN + leg) / ++legN;
    rootY = ema(rootY, root ? root[1] : NaN, f.dt, o.smoothS);
    const rv = f.velocities[3 * 0 + 1];
    vy = ema(vy, f.velocityValid && rv !== undefined ? rv : 0, f.dt, o.smoothS);
    maxRootY = Number.isFinite(maxRootY) ? Math.max(maxRootY, rootY) : rootY;
    // Only sit-to-stand may start seated; a squat starts standing, so its reference is the root alone.
    const legRef = o.assessment === 'sit_to_stand' && legN > 0 ? 0.95 * legMean : -Infinity;
    const stand = Math.max(maxRootY, legRef);
    const drop = stand - rootY;
    // Unsmoothed, for rep onset and return (the EMA would delay both by about smoothS).
    const rawDrop = root ? stand - root[1] : NaN;
    const v = o.verticalSpeed;
    const still = Math.abs(vy) < v;
    const cur = phase;
    let p: PhaseName = cur ?? 'standing';
    let rep: RepEvent | null = null;
    const knee = (f.angles.kneeFlexion.left + f.angles.kneeFlexion.right) / 2;
    const st = stance ? stance(f) : null;
    if (o.assessment === 'gait') {
      const { left, right } = f.contacts;
      p = left && right ? 'double_support' : left ? 'single_support_left' : right ? 'single_support_right' : 'no_support';
    } else if (o.assessment === 'balance') {
      const c = f.com;
      const sp = f.comVelocity ? Math.hypot(f.comVelocity[0], f.comVelocity[2]) : NaN;
      comSpeed = ema(comSpeed, sp, f.dt, 0.25);
      comMeanX = ema(comMeanX, c ? c[0] : NaN, f.dt, 2);
      comMeanZ = ema(comMeanZ, c ? c[2] : NaN, f.dt, 2);
      const exc = c ? Math.hypot(c[0] - comMeanX, c[2] - comMeanZ) : NaN;
      const k = cur === 'unstable' ? 0.7 : 1;
      p = (st && STANCE_PHASE[st.stance]) ?? (comSpeed > k * o.balanceSpeed || exc > k * o.balanceExcursionM ? 'unstable' : 'static');
    } else if (Number.isFinite(drop)) {
      const squat = o.assessment === 'squat';
      if (drop < o.standDropM && (cur === null || cur === 'ascent' || cur === 'rising' || cur === 'standing' || still)) {
        p = 'standing';
      } else if (vy < -v) {
        p = squat ? (cur === 'bottom' || cur === 'descent' || cur === 'standing' || cur === null ? 'descent' : 'bottom') : 'sitting';
      } else if (vy > v) {
        p = squat ? (cur === 'descent' ? 'bottom' : 'ascent') : 'rising';
      } else if (squat) {
        p = cur === 'descent' || cur === 'bottom' ? 'bottom' : cur === 'ascent' ? 'ascent' : drop > o.standDropM ? 'bottom' : 'standing';
      } else {
        p = drop > o.seatDropM ? 'seated' : (cur ?? 'standing');
      }
      // Return to standing (see the header): within 2 cm now, else the highest point once still or gone.
      if (endPending) {
        if (root && !(root[1] <= peakY)) {
          peakY = root[1];
          peakT = f.t;
        }
        if (rawDrop < REP_STAND_TOL_M || p !== 'standing' || still) {
          endT = rawDrop < REP_STAND_TOL_M ? f.t : peakT;
          rep = closeRep();
        }
      }
      if (Number.isFinite(repStart)) {
        if (drop > repMaxDrop) {
          repMaxDrop = drop;
          repMaxDropT = f.t;
          repKnee = knee;
        }
        if (!squat && p === 'rising' && cur !== 'rising' && !Number.isFinite(riseStart)) {
          riseStart = Math.max(lastStillT, repMaxDropT);
        }
        if (p === 'standing' && cur !== 'standing' && !endPending) {
          endPending = true;
          peakY = root ? root[1] : NaN;
          peakT = f.t;
          if (rawDrop < REP_STAND_TOL_M) {
            endT = f.t;
            rep = closeRep();
          }
        }
      } else {
        // A rep opens when the body leaves standing, or (sit-to-stand only) rises from a seated start.
        const leaves = cur === 'standing' && (squat ? p === 'descent' : p === 'sitting');
        const risesFromSeat = !squat && p === 'rising' && cur !== 'rising';
        if (leaves || risesFromSeat) {
          // Onset: the last frame near standing height (from a seat: the last still frame), never before
          // the previous rep's end.
          const from = risesFromSeat ? lastStillT : lastNearStandT;
          const onset = Math.max(Number.isFinite(from) ? from : -Infinity, Number.isFinite(lastEndT) ? lastEndT : -Infinity);
          repStart = Number.isFinite(onset) ? onset : f.t;
          repMaxDrop = drop;
          repMaxDropT = f.t;
          repKnee = knee;
          if (risesFromSeat) riseStart = repStart;
        }
      }
    }
    if (still) lastStillT = f.t;
    if (rawDrop < REP_STAND_TOL_M) lastNearStandT = f.t;
    if (p !== cur) {
      phase = p;
      phaseStart = f.t;
    }
    return { phase: p, rep, drop, stand, stance: st };
  };
  return (f): PhaseFrame => {
    const r = next(f);
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
      assessment: o.assessment,
      phase: r.phase,
      phaseStart,
      gait: { left: f.contacts.left ? 'stance' : 'swing', right: f.contacts.right ? 'stance' : 'swing' },
      rootDrop: r.drop,
      standingHeight: r.stand,
      reps,
      repCompleted: r.rep,
      stance: r.stance?.stance ?? null,
      stanceChange: r.stance?.change ?? null,
    };
  };
}

export function phases(opts: PhaseOptions): OperatorFunction<ContactFrame, PhaseFrame> {
  return (source) => defer(() => source.pipe(map(phasesStep(opts))));
}
