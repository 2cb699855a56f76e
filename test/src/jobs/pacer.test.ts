import { describe, expect, it } from 'vitest';
import { createPacer, paceWhileLive } from '../../../src/jobs/pacer.js';

/** A clock that only moves when told to: work advances it, and so does each sleep the pacer asks for. */
function fakeClock() {
  const c = {
    t: 0,
    sleeps: [] as number[],
    now: () => c.t,
    sleep: async (ms: number) => {
      c.sleeps.push(ms);
      c.t += ms;
    },
  };
  return c;
}

describe('pacer', () => {
  it('sleeps after each step so that work takes `duty` of the wall time', async () => {
    const clock = fakeClock();
    const pacer = createPacer(clock);
    pacer.setDuty(0.25);
    for (let i = 0; i < 10; i++) {
      clock.t += 5; // a 5 ms step of work
      await pacer.pace();
    }
    expect(clock.sleeps).toEqual(Array(10).fill(15));
    expect(50 / clock.t).toBeCloseTo(0.25, 10);
  });

  it('does not sleep at duty 1, and applies a new duty from the next step', async () => {
    const clock = fakeClock();
    const pacer = createPacer(clock);
    expect(pacer.duty).toBe(1);
    clock.t += 50;
    await pacer.pace();
    expect(clock.sleeps).toEqual([]);
    pacer.setDuty(0.5);
    clock.t += 4;
    await pacer.pace();
    expect(clock.sleeps).toEqual([4]); // the unpaced 50 ms before is not charged
    expect(() => pacer.setDuty(0)).toThrow(RangeError);
    expect(() => pacer.setDuty(1.5)).toThrow(RangeError);
    expect(() => pacer.setDuty(Number.NaN)).toThrow(RangeError);
  });

  it('adds up steps shorter than a timer tick before it sleeps', async () => {
    const clock = fakeClock();
    const pacer = createPacer(clock);
    pacer.setDuty(0.5);
    clock.t += 1;
    await pacer.pace();
    expect(clock.sleeps).toEqual([]);
    clock.t += 9;
    await pacer.pace();
    expect(clock.sleeps).toEqual([10]);
  });
});

describe('pacer charges', () => {
  it('at most 250 ms of work to one sleep (work between paced stretches is not paced)', async () => {
    const clock = fakeClock();
    const pacer = createPacer(clock);
    pacer.setDuty(0.5);
    clock.t += 5_000; // e.g. start-up before the first step
    await pacer.pace();
    expect(clock.sleeps).toEqual([250]);
  });
});

describe('paceWhileLive', () => {
  it('paces the targets while there are live sessions and unpaces them when the last one ends', async () => {
    let live = 0;
    const seen: number[][] = [[], []];
    const targets = seen.map((s) => ({ setDuty: (d: number) => void s.push(d) }));
    const pacing = paceWhileLive({ live: () => live, duty: 0.25, targets, intervalMs: 10 });
    try {
      const tick = (): Promise<void> => new Promise((r) => setTimeout(r, 40));
      await tick();
      live = 3;
      await tick();
      live = 0;
      await tick();
      // Sent once at the start and on every change only, to every target.
      for (const s of seen) expect(s).toEqual([1, 0.25, 1]);
    } finally {
      pacing.stop();
    }
  });
});
