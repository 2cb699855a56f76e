/**
 * Surprise: how far the latent that arrived for frame t is from what the model predicted for t
 * at an earlier frame (t − h for a configured horizon h). Per session, a small ring of pending
 * predictions keyed by target seq. The shortest available horizon wins (the most recent, best-informed
 * prediction); when frames were shed, a longer horizon still gives an answer.
 *
 * Bounded: targets at or before the latest observed seq are discarded (their frame has been answered
 * or was shed), so a session holds at most maxHorizon targets; `capacity` caps it anyway (smallest
 * target goes first). Sessions are forgotten by `end`; past `maxSessions` the least recently seen goes.
 */

export interface Surprise {
  /** RMS distance between the arrived latent and the prediction for it (see latentDistance). */
  readonly value: number;
  /** Horizon (frames) of the prediction it was compared with. */
  readonly horizon: number;
}

interface Pending {
  horizon: number;
  latent: Float32Array;
}

/**
 * RMS distance sqrt(mean_d (a_d − b_d)²), the same definition as models/mc-dropout.ts `surprise`: on
 * the per-dimension scale of the uncertainty, so surprise / uncertainty reads as "how many predicted
 * standard deviations off". Computed here so the main thread never loads tfjs.
 */
export function latentDistance(a: Float32Array, b: Float32Array): number {
  const n = Math.min(a.length, b.length);
  if (n === 0) return NaN;
  let s = 0;
  for (let i = 0; i < n; i++) {
    const d = (a[i] ?? 0) - (b[i] ?? 0);
    s += d * d;
  }
  return Math.sqrt(s / n);
}

export class SurpriseTracker {
  // Map order = recency (re-inserted on every observe), so the first key is the least recently seen.
  private readonly sessions = new Map<string, Map<number, Pending>>();
  readonly capacity: number;

  constructor(
    readonly horizons: readonly number[],
    readonly maxSessions = 10_000,
    capacity?: number,
  ) {
    if (horizons.length === 0 || horizons.some((h) => !Number.isInteger(h) || h < 1)) {
      throw new RangeError(`horizons must be positive integers, got [${horizons.join(', ')}]`);
    }
    this.capacity = capacity ?? Math.max(...horizons);
  }

  get sessionCount(): number {
    return this.sessions.size;
  }

  /**
   * Records frame `seq`'s latent and predictions (one per horizon, same order as `horizons`) and
   * returns the surprise for `seq`, or null when nothing was predicted for it.
   */
  observe(sessionId: string, seq: number, latent: Float32Array, predictions: readonly Float32Array[]): Surprise | null {
    const pending = this.sessions.get(sessionId) ?? new Map<number, Pending>();
    this.sessions.delete(sessionId);
    this.sessions.set(sessionId, pending);
    if (this.sessions.size > this.maxSessions) {
      const lru = this.sessions.keys().next().value;
      if (lru !== undefined) this.sessions.delete(lru);
    }
    const hit = pending.get(seq);
    const surprise = hit ? { value: latentDistance(latent, hit.latent), horizon: hit.horizon } : null;

    // Forget targets the stream has moved past (their frames were shed, or answered now).
    for (const target of pending.keys()) if (target <= seq) pending.delete(target);

    this.horizons.forEach((h, i) => {
      const p = predictions[i];
      if (!p) return;
      const target = seq + h;
      const existing = pending.get(target);
      // Keep the shortest horizon per target: it is the most recent prediction.
      if (!existing || h <= existing.horizon) pending.set(target, { horizon: h, latent: p });
    });
    while (pending.size > this.capacity) {
      let min = Infinity;
      for (const t of pending.keys()) min = Math.min(min, t);
      pending.delete(min);
    }
    return surprise;
  }

  /** Pending predictions held for a session (for tests and gauges). */
  pendingOf(sessionId: string): number {
    return this.sessions.get(sessionId)?.size ?? 0;
  }

  end(sessionId: string): void {
    this.sessions.delete(sessionId);
  }
}
