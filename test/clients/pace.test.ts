import { describe, expect, it } from 'vitest';
import { pace } from '../../clients/simulator/pace.js';
import type { Timers } from '../../clients/sdk/index.js';

/** A clock that only moves when a timer fires, and fires every timer `lateMs` late (a busy event loop). */
function lateTimers(lateMs: number): Timers & { fired: number } {
  const t = {
    now: 0,
    fired: 0,
  };
  return {
    get fired() {
      return t.fired;
    },
    now: () => t.now,
    setTimeout: (fn: () => void, ms: number) => {
      const at = t.now + ms + lateMs;
      return globalThis.setTimeout(() => {
        t.now = Math.max(t.now, at);
        t.fired++;
        fn();
      }, 0);
    },
    clearTimeout: (h: unknown) => globalThis.clearTimeout(h as ReturnType<typeof setTimeout>),
  };
}

describe('pace', () => {
  it('schedules from the start: 5 ms late timers delay each frame by 5 ms, never more (no drift)', async () => {
    const timers = lateTimers(5);
    const frames = Array.from({ length: 600 }, (_, i) => ({ t: 10 + i / 60 })); // 10 s at 60 Hz
    const lateness: number[] = [];
    for await (const { frame, due } of pace(frames, { speed: 1, startAt: 100, timers })) {
      expect(due).toBeCloseTo(100 + (frame.t - 10) * 1000, 6);
      lateness.push(timers.now() - due);
    }
    expect(lateness).toHaveLength(600);
    expect(Math.max(...lateness)).toBeLessThanOrEqual(5 + 1e-9);
    // the last frame goes out 10 s after the first, not 600 × 5 ms = 3 s later
    expect(timers.now()).toBeCloseTo(100 + (599 / 60) * 1000 + 5, 6);
  });

  it('plays faster with speed and does not wait at all with speed Infinity', async () => {
    const frames = [{ t: 0 }, { t: 1 }, { t: 2 }];
    const fast = lateTimers(0);
    const dues: number[] = [];
    for await (const { due } of pace(frames, { speed: 4, startAt: 0, timers: fast })) dues.push(due);
    expect(dues).toEqual([0, 250, 500]);
    const instant = lateTimers(0);
    for await (const _ of pace(frames, { speed: Infinity, startAt: 0, timers: instant })) void _;
    expect(instant.fired).toBe(0);
  });

  it('stops when the signal aborts', async () => {
    const ac = new AbortController();
    const got: number[] = [];
    for await (const { frame } of pace([{ t: 0 }, { t: 0.1 }, { t: 0.2 }], { speed: 1, startAt: 0, timers: lateTimers(0), signal: ac.signal })) {
      got.push(frame.t);
      if (got.length === 2) ac.abort();
    }
    expect(got).toEqual([0, 0.1]);
  });
});
