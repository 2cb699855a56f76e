// Duty-cycle pacing of background work on a box that also answers frames. Lowest CPU priority
// (./background-process.ts) decides who gets a contended core, but not what the cores share: retrains
// training flat out beside 20 live sessions still moved their p99 by 1.52× on the 2-core box
// (bench:retrain-isolation, 3 rounds), while the serving process's own share of the jobs was under 1 %
// of a core (V8 profile of its main thread). So while live sessions run, background work computes at
// most `duty` of the wall time: after each step it sleeps for busy × (1 − duty) / duty, where busy is
// the CPU time the process used since the last step (waiting for a job or for I/O is never charged).
// Steps are what the caller says (a training minibatch: milliseconds; a task-pack stage), so the work
// runs in short bursts, spread out.
import { setTimeout as sleep } from 'node:timers/promises';

/** Shortest busy stretch worth a sleep (timer resolution is about a millisecond). */
const MIN_BUSY_MS = 2;
/**
 * Longest busy stretch one sleep pays for. Work between two paced stretches (loading, a gate's
 * evaluation, start-up) is not paced; charging all of it to the next step would stall a job for
 * seconds without making any step shorter.
 */
const MAX_CHARGE_MS = 250;

export interface Pacer {
  /** Fraction of wall time the work may compute: 1 = unpaced. */
  setDuty(duty: number): void;
  readonly duty: number;
  /** Milliseconds slept so far (for logs and tests). */
  readonly sleptMs: number;
  /** Call after every step; resolves when the next step may start. */
  pace(): Promise<void>;
}

export interface PacerClock {
  /** Milliseconds of work done so far (CPU time for real). */
  readonly now: () => number;
  readonly sleep: (ms: number) => Promise<unknown>;
}

/** CPU milliseconds of this process (every thread: V8's helpers work for the step too). */
const cpuMs = (): number => {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1000;
};
const realClock: PacerClock = { now: cpuMs, sleep: (ms) => sleep(ms) };

export function createPacer(clock: PacerClock = realClock): Pacer {
  const { now } = clock;
  let duty = 1;
  let busySince = now();
  let slept = 0;
  return {
    get duty() {
      return duty;
    },
    get sleptMs() {
      return slept;
    },
    setDuty(d) {
      if (!(d > 0 && d <= 1)) throw new RangeError(`duty must be in (0, 1], got ${d}`);
      duty = d;
    },
    async pace() {
      const busy = Math.min(now() - busySince, MAX_CHARGE_MS);
      if (duty < 1 && busy >= MIN_BUSY_MS) {
        const ms = (busy * (1 - duty)) / duty;
        slept += ms;
        await clock.sleep(ms);
      }
      if (duty === 1 || busy >= MIN_BUSY_MS) busySince = now();
    },
  };
}

/** What paceWhileLive steers: e.g. the retrain processes, the task-pack builder. */
export interface PaceTarget {
  setDuty(duty: number): void;
}

export const LIVE_POLL_MS = 1_000;

/**
 * Every `intervalMs`, sets the targets' duty to `duty` while `live()` counts any live session and to 1
 * otherwise (sent only when it changes; once at the start). A new session waits at most one interval
 * for its background neighbours to slow down.
 */
export function paceWhileLive(o: {
  readonly live: () => number;
  readonly duty: number;
  readonly targets: readonly PaceTarget[];
  readonly intervalMs?: number;
}): { stop(): void } {
  let current = NaN;
  const apply = (): void => {
    const d = o.live() > 0 ? o.duty : 1;
    if (d === current) return;
    current = d;
    for (const t of o.targets) t.setDuty(d);
  };
  apply();
  const timer = setInterval(apply, o.intervalMs ?? LIVE_POLL_MS);
  timer.unref();
  return { stop: () => clearInterval(timer) };
}
