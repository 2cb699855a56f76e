// Real-time pacing of recorded frames: frame i is due at startAt + (t_i − t_0)/speed (ms, monotonic
// clock), computed from the start rather than from the previous send, so a late timer delays one
// frame but never shifts the ones after it (no drift over a long session).
import type { Timers } from '../sdk/index.js';

export interface PaceOptions {
  /** 1 = real time; Infinity = no waiting. */
  readonly speed: number;
  /** timers.now() value at which the first frame is due. */
  readonly startAt: number;
  readonly timers: Timers;
  readonly signal?: AbortSignal;
}

export const sleepUntil = (timers: Timers, at: number): Promise<void> =>
  new Promise((resolve) => {
    timers.setTimeout(resolve, Math.max(0, at - timers.now()));
  });

/** Yields each frame once it is due, with its due time. Stops early when `signal` aborts. */
export async function* pace<T extends { readonly t: number }>(frames: Iterable<T>, opts: PaceOptions): AsyncGenerator<{ frame: T; due: number }> {
  let t0: number | undefined;
  for (const frame of frames) {
    if (opts.signal?.aborted) return;
    t0 ??= frame.t;
    const due = Number.isFinite(opts.speed) ? opts.startAt + ((frame.t - t0) / opts.speed) * 1000 : opts.timers.now();
    if (due > opts.timers.now()) await sleepUntil(opts.timers, due);
    yield { frame, due };
  }
}
