// One processed state of a session as the views draw it, from a live `update` or a replay state, and
// the bounded per-session history the plots, phase bar and alert badges read. Every state carries the
// session id it came from; a history refuses states of any other session (a view can only ever show
// the session it names).
import { centreOfMass } from '../../../streams/body-model.js';
import type { ReplayState, Update } from '../../../src/protocol/index.js';

export interface PredictedPose {
  /** Frames ahead; null when the server sent the legacy single `prediction` (first horizon, unnamed). */
  readonly h: number | null;
  readonly uncertainty: number | null;
  readonly pose: Float32Array;
}

export interface State {
  readonly sessionId: string;
  readonly seq: number;
  readonly t: number;
  readonly joints: Float32Array;
  readonly phase: string;
  readonly contacts: { readonly left: boolean; readonly right: boolean };
  readonly metrics: Readonly<Record<string, number>>;
  readonly uncertainty: number | null;
  readonly surprise: number | null;
  readonly predictions: readonly PredictedPose[];
}

/**
 * What a state is read from: a live `update` (per-horizon `predictions`, and/or the older single
 * `prediction` = first horizon) or a replay state (always `predictions`).
 */
export type StateSource = Omit<Update, 'prediction' | 'predictions'> & {
  readonly prediction?: Float32Array | undefined;
  readonly predictions?:
    readonly { readonly h: number; readonly uncertainty?: number | null | undefined; readonly pose?: Float32Array | undefined }[] | undefined;
};

/** Live update or replay state → State (predictions without a decoded pose are dropped: nothing to draw). */
export function toState(u: StateSource | ReplayState): State {
  const list = u.predictions;
  let predictions: PredictedPose[] = [];
  if (Array.isArray(list)) {
    for (const p of list as NonNullable<StateSource['predictions']>) {
      if (p.pose instanceof Float32Array && p.pose.length === u.joints.length)
        predictions.push({ h: p.h, uncertainty: p.uncertainty ?? u.uncertainty, pose: p.pose });
    }
  } else if ('prediction' in u && u.prediction instanceof Float32Array) {
    predictions = [{ h: null, uncertainty: u.uncertainty, pose: u.prediction }];
  }
  return {
    sessionId: u.sessionId,
    seq: u.seq,
    t: u.t,
    joints: u.joints,
    phase: u.phase,
    contacts: u.contacts,
    metrics: u.metrics,
    uncertainty: u.uncertainty,
    surprise: u.surprise,
    predictions,
  };
}

/** Live history kept per session (s of device time); ≤ 30 Hz updates → ≤ 1800 points. */
export const LIVE_HISTORY_S = 60;
/** Points used as a session's own baseline for flagging, and how many it needs first. */
const BASELINE_POINTS = 600;
const MIN_BASELINE = 30;
/** Robust z above which uncertainty or surprise is flagged: median + 3 × 1.4826 × MAD (≈ 3 SD). */
export const FLAG_Z = 3;
/** CoM speed smoothing time constant (s). */
const COM_TAU_S = 0.25;

export interface Sample {
  readonly seq: number;
  readonly t: number;
  readonly kneeL: number | null;
  readonly kneeR: number | null;
  readonly hipL: number | null;
  readonly hipR: number | null;
  /** Horizontal speed of the centre of mass (m/s), null until two frames have one. */
  readonly comSpeed: number | null;
  readonly uncertainty: number | null;
  readonly surprise: number | null;
  readonly flagUncertainty: boolean;
  readonly flagSurprise: boolean;
  readonly phase: string;
  readonly left: boolean;
  readonly right: boolean;
}

const num = (m: Readonly<Record<string, number>>, k: string): number | null => {
  const v = m[k];
  return typeof v === 'number' && Number.isFinite(v) ? v : null;
};

function robustLimit(values: readonly number[]): number | undefined {
  if (values.length < MIN_BASELINE) return undefined;
  const s = [...values].sort((a, b) => a - b);
  const med = s[Math.floor(s.length / 2)] ?? 0;
  const dev = s.map((v) => Math.abs(v - med)).sort((a, b) => a - b);
  const mad = dev[Math.floor(dev.length / 2)] ?? 0;
  return med + FLAG_Z * 1.4826 * mad;
}

export class SessionHistory {
  private readonly samples: Sample[] = [];
  private lastSeq = -1;
  private com: { t: number; x: number; z: number; speed: number | null } | undefined;
  private limits: { unc?: number; sur?: number; at: number } = { at: -Infinity };
  /** Device time of the first state this history saw: the plots' time zero. */
  t0: number | undefined;
  /** States refused because they named another session (a test asserts it stays 0 for correct wiring). */
  refused = 0;
  comModel: string | undefined;

  constructor(
    readonly sessionId: string,
    private readonly maxSeconds: number = LIVE_HISTORY_S,
  ) {}

  get length(): number {
    return this.samples.length;
  }

  get all(): readonly Sample[] {
    return this.samples;
  }

  /** Adds a state in seq order; duplicates (a snapshot overlapping updates) and other sessions are ignored. */
  push(s: State): Sample | undefined {
    if (s.sessionId !== this.sessionId) {
      this.refused += 1;
      return undefined;
    }
    if (s.seq <= this.lastSeq) return undefined;
    this.lastSeq = s.seq;
    this.t0 ??= s.t;
    const comSpeed = this.comSpeed(s);
    if (s.t - this.limits.at >= 1) this.refreshLimits(s.t);
    const flag = (v: number | null, lim: number | undefined) => v !== null && lim !== undefined && v > lim;
    const sample: Sample = {
      seq: s.seq,
      t: s.t,
      kneeL: num(s.metrics, 'knee_flexion_deg_left'),
      kneeR: num(s.metrics, 'knee_flexion_deg_right'),
      hipL: num(s.metrics, 'hip_flexion_deg_left'),
      hipR: num(s.metrics, 'hip_flexion_deg_right'),
      comSpeed,
      uncertainty: s.uncertainty,
      surprise: s.surprise,
      flagUncertainty: flag(s.uncertainty, this.limits.unc),
      flagSurprise: flag(s.surprise, this.limits.sur),
      phase: s.phase,
      left: s.contacts.left,
      right: s.contacts.right,
    };
    this.samples.push(sample);
    const first = this.samples[0];
    if (first && s.t - first.t > this.maxSeconds)
      this.samples.splice(
        0,
        this.samples.findIndex((x) => s.t - x.t <= this.maxSeconds),
      );
    return sample;
  }

  /** Flagged moments (time, which) for the timeline. */
  flagged(): { t: number; uncertainty: boolean; surprise: boolean }[] {
    return this.samples.filter((x) => x.flagUncertainty || x.flagSurprise).map((x) => ({ t: x.t, uncertainty: x.flagUncertainty, surprise: x.flagSurprise }));
  }

  /** Any flag within the last `seconds` of device time. */
  recentlyFlagged(seconds: number): boolean {
    const last = this.samples[this.samples.length - 1];
    if (!last) return false;
    for (let i = this.samples.length - 1; i >= 0; i--) {
      const x = this.samples[i]!;
      if (last.t - x.t > seconds) break;
      if (x.flagUncertainty || x.flagSurprise) return true;
    }
    return false;
  }

  private refreshLimits(t: number): void {
    const recent = this.samples.slice(-BASELINE_POINTS);
    const values = (k: 'uncertainty' | 'surprise') => recent.map((x) => x[k]).filter((v): v is number => v !== null);
    const unc = robustLimit(values('uncertainty'));
    const sur = robustLimit(values('surprise'));
    this.limits = { at: t, ...(unc !== undefined ? { unc } : {}), ...(sur !== undefined ? { sur } : {}) };
  }

  private comSpeed(s: State): number | null {
    const c = centreOfMass(s.joints);
    this.comModel = c.model;
    if (!c.position) return this.com?.speed ?? null;
    const [x, , z] = c.position;
    const prev = this.com;
    let speed: number | null = prev?.speed ?? null;
    if (prev && s.t > prev.t) {
      const dt = s.t - prev.t;
      const raw = Math.hypot(x - prev.x, z - prev.z) / dt;
      const a = 1 - Math.exp(-dt / COM_TAU_S);
      speed = speed === null ? raw : speed + a * (raw - speed);
    }
    this.com = { t: s.t, x, z, speed };
    return speed;
  }
}
