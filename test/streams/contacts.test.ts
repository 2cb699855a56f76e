import { describe, expect, it } from 'vitest';
import { from, lastValueFrom, map, toArray } from 'rxjs';
import { TestScheduler } from 'rxjs/testing';
import { align } from '../../streams/align.js';
import { type ContactFrame, contacts } from '../../streams/contacts.js';
import { physicalState } from '../../streams/physical-state.js';
import type { PoseFrame } from '../../streams/types.js';
import { LEFT_FOOT, type V3, frame, moved } from './synthetic.js';

const FPS = 60;
const run = (frames: PoseFrame[]): Promise<ContactFrame[]> => lastValueFrom(from(frames).pipe(align(), physicalState(), contacts(), toArray()));

/** Smooth swing: forward by `len` and up by `lift` (sinusoid) over the swing fraction s ∈ [0, 1]. */
const swing = (s: number, len: number, lift: number): V3 => [0, lift * Math.sin(Math.PI * s), (len * (1 - Math.cos(Math.PI * s))) / 2];

/**
 * Left foot: stance, swing, stance; the right foot stays planted. `belt` > 0 makes it a treadmill: the
 * root stays put and the stance foot slides back at belt speed; otherwise the root walks forward.
 */
function gait(belt: number): { frames: PoseFrame[]; liftOff: number; landing: number } {
  const [stance1, swingT] = [0.6, 0.4];
  const frames: PoseFrame[] = [];
  for (let k = 0; k < 1.6 * FPS; k++) {
    const t = k / FPS;
    let foot: V3;
    if (t < stance1) foot = [0, 0, belt ? 0.3 - belt * t : 0];
    else if (t < stance1 + swingT) {
      const d = swing((t - stance1) / swingT, belt ? 0.6 : 0.8, 0.1);
      foot = [0, d[1], (belt ? -0.3 : 0) + d[2]];
    } else foot = [0, 0, belt ? 0.3 - belt * (t - stance1 - swingT) : 0.8];
    const root: V3 = [0, 0, belt ? 0 : 0.5 * t];
    // Body frame = world − root (yaw 0): move the foot by (foot − root), keep the right foot planted.
    const joints = moved(LEFT_FOOT, [foot[0] - root[0], foot[1], foot[2] - root[2]], moved(['right_ankle', 'right_heel', 'right_toe'], [0, 0, -root[2]]));
    frames.push(frame(t, { at: root, joints }));
  }
  return { frames, liftOff: stance1, landing: stance1 + swingT };
}

describe('contacts', () => {
  it('overground: one toe-off and one heel strike near the true lift-off and landing', async () => {
    const { frames, liftOff, landing } = gait(0);
    const out = await run(frames);
    const events = out.flatMap((f) => f.events);
    expect(events.map((e) => `${e.type}:${e.side}`)).toEqual(['toe_off:left', 'heel_strike:left']);
    expect(Math.abs(events[0]!.t - liftOff)).toBeLessThan(0.1);
    expect(Math.abs(events[1]!.t - landing)).toBeLessThan(0.1);
    expect(events[1]!.t).toBeLessThanOrEqual(landing);
    expect(out.every((f) => f.contacts.right)).toBe(true);
    expect(out[10]!.contacts.left).toBe(true);
    expect(out[Math.round((liftOff + 0.2) * FPS)]!.contacts.left).toBe(false);
  });

  it('treadmill: the stance foot sliding back at belt speed is still in contact', async () => {
    const { frames, liftOff, landing } = gait(1.0);
    const out = await run(frames);
    const mid = out[Math.round(0.3 * FPS)]!;
    expect(mid.feet.left.speed).toBeCloseTo(1.0, 3);
    expect(mid.contacts.left).toBe(true);
    const events = out.flatMap((f) => f.events).filter((e) => e.side === 'left');
    expect(events.map((e) => e.type)).toEqual(['toe_off', 'heel_strike']);
    expect(Math.abs(events[0]!.t - liftOff)).toBeLessThan(0.1);
    expect(Math.abs(events[1]!.t - landing)).toBeLessThan(0.1);
    expect(out[Math.round(1.3 * FPS)]!.contacts.left).toBe(true);
  });

  it('ignores a change shorter than the minimum duration (hysteresis + debounce)', async () => {
    const frames = Array.from({ length: 30 }, (_, k) => frame(k / FPS, k === 12 ? { joints: moved(LEFT_FOOT, [0, 0.1, 0]) } : {}));
    const out = await run(frames);
    expect(out.flatMap((f) => f.events)).toEqual([]);
    expect(out.every((f) => f.contacts.left && f.contacts.right)).toBe(true);
    // A foot in contact that rises 1.5 cm stays in contact (within the 2 cm lift-off band, below 5 cm)…
    const hover = await run(Array.from({ length: 30 }, (_, k) => frame(k / FPS, k >= 5 ? { joints: moved(LEFT_FOOT, [0, 0.015, 0]) } : {})));
    expect(hover[29]!.contacts.left).toBe(true);
    // …one that rises 3 cm while moving (0.6 m/s) has lifted off, although its lowest point is still below
    // the 5 cm off height (before the lift-off test it stayed "in contact" up to 5 cm: running feet never
    // left the ground); the same rise without moving (a noisy sensor, a weight shift) is not a lift-off.
    const rise = (move: boolean) => (k: number) => frame(k / FPS, k >= 5 ? { joints: moved(LEFT_FOOT, [0, 0.03, move ? 0.01 * (k - 4) : 0]) } : {});
    const lifted = await run(Array.from({ length: 30 }, (_, k) => rise(true)(k)));
    expect(lifted[10]!.contacts.left).toBe(false);
    expect(lifted.flatMap((f) => f.events)[0]).toEqual({ type: 'toe_off', side: 'left', t: 5 / FPS });
    const still = await run(Array.from({ length: 30 }, (_, k) => rise(false)(k)));
    expect(still.every((f) => f.contacts.left)).toBe(true);
    // …but a foot that starts at 4.5 cm never makes contact (on threshold 4 cm).
    const start = await run(Array.from({ length: 30 }, (_, k) => frame(k / FPS, { joints: moved(LEFT_FOOT, [0, 0.045, 0]) })));
    expect(start[29]!.feet.left.height).toBeCloseTo(0.045, 3);
    expect(start[29]!.contacts.left).toBe(false);
  });

  it('commits a change minDurationS after it starts, stamped with its first frame (marble)', () => {
    new TestScheduler((a, b) => expect(a).toEqual(b)).run(({ cold, expectObservable }) => {
      // 10 fps: the foot lifts 20 cm at t = 0.2 s; minDurationS 0.05 → committed on the next frame.
      const f = (k: number) => frame(k / 10, k >= 2 ? { joints: moved(LEFT_FOOT, [0, 0.2, 0]) } : {});
      const src = cold('abcde|', { a: f(0), b: f(1), c: f(2), d: f(3), e: f(4) });
      const out = src.pipe(
        align(),
        physicalState(),
        contacts(),
        map((x) => x.events.map((e) => `${e.type}@${e.t.toFixed(1)}`).join() || String(x.contacts.left)),
      );
      expectObservable(out).toBe('abcde|', { a: 'true', b: 'true', c: 'true', d: 'toe_off@0.2', e: 'false' });
    });
  });

  it('rejects contradictory thresholds with a coded error', () => {
    expect(() => contacts({ onHeightM: 0.06, offHeightM: 0.05 })).toThrow(expect.objectContaining({ name: 'StageError', code: 'STAGE_BAD_OPTIONS' }));
  });

  it('passes errors through (marble)', () => {
    new TestScheduler((a, b) => expect(a).toEqual(b)).run(({ cold, expectObservable }) => {
      const src = cold('a#', { a: frame(0) }, new Error('boom'));
      expectObservable(
        src.pipe(
          align(),
          physicalState(),
          contacts(),
          map((x) => x.contacts.left),
        ),
      ).toBe('a#', { a: true }, new Error('boom'));
    });
  });
});
