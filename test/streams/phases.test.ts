import { describe, expect, it } from 'vitest';
import { from, lastValueFrom, toArray } from 'rxjs';
import { align } from '../../streams/align.js';
import { contacts } from '../../streams/contacts.js';
import { type PhaseFrame, type PhaseOptions, phases } from '../../streams/phases.js';
import { physicalState } from '../../streams/physical-state.js';
import type { JointName } from '../../streams/skeleton.js';
import type { PoseFrame } from '../../streams/types.js';
import { BODY, RIGHT_FOOT, UPPER, type V3, frame, moved } from './synthetic.js';

const FPS = 60;
const run = (frames: PoseFrame[], opts: PhaseOptions): Promise<PhaseFrame[]> =>
  lastValueFrom(from(frames).pipe(align(), physicalState(), contacts(), phases(opts), toArray()));
const sequence = (out: PhaseFrame[]): string[] => out.map((f) => f.phase).filter((p, i, a) => p !== a[i - 1]);

/** Pose with the pelvis lowered by `drop` m, knees pushed forward so thigh and shank keep 0.43 m. */
function crouch(drop: number): Partial<Record<JointName, V3>> {
  const h = 0.86 - drop; // hip height above the ankle
  const forward = Math.sqrt(Math.max(0, 0.43 ** 2 - (h / 2) ** 2));
  const joints = moved(UPPER, [0, -drop, 0]);
  for (const side of ['left', 'right'] as const) {
    const [x, , z] = BODY[`${side}_knee`];
    joints[`${side}_knee`] = [x, BODY[`${side}_ankle`][1] + h / 2, z + forward];
  }
  return joints;
}

/** Piecewise-linear drop profile: [duration s, drop at the end (m)] segments from `start`. */
function profile(start: number, segments: readonly [number, number][]): PoseFrame[] {
  const out: PoseFrame[] = [];
  let t0 = 0;
  let d0 = start;
  for (const [dur, d1] of segments) {
    for (let k = 0; k < Math.round(dur * FPS); k++) {
      const s = k / (dur * FPS);
      const d = d0 + (d1 - d0) * (0.5 - 0.5 * Math.cos(Math.PI * s)); // smooth in and out
      out.push(frame(t0 + k / FPS, { joints: crouch(d) }));
    }
    t0 += dur;
    d0 = d1;
  }
  out.push(frame(t0, { joints: crouch(d0) }));
  return out;
}

describe('phases', () => {
  it('squat: standing → descent → bottom → ascent → standing, one rep with its depth', async () => {
    const out = await run(
      profile(0, [
        [0.5, 0],
        [1, 0.4],
        [0.3, 0.4],
        [1, 0],
        [0.5, 0],
      ]),
      { assessment: 'squat' },
    );
    expect(sequence(out)).toEqual(['standing', 'descent', 'bottom', 'ascent', 'standing']);
    const reps = out.filter((f) => f.repCompleted).map((f) => f.repCompleted!);
    expect(reps).toHaveLength(1);
    expect(reps[0]!.maxDropM).toBeCloseTo(0.4, 2);
    expect(reps[0]!.kneeFlexionAtBottomDeg).toBeGreaterThan(60);
    expect(reps[0]!.start_t).toBeGreaterThan(0.5);
    expect(reps[0]!.end_t).toBeLessThan(3.3);
    expect(out[out.length - 1]!.reps).toBe(1);
  });

  it('a rep that ends 5 cm short of the standing height ends at its highest point', async () => {
    const out = await run(
      profile(0, [
        [0.5, 0],
        [1, 0.4],
        [1, 0.05],
        [0.5, 0.05],
      ]),
      { assessment: 'squat' },
    );
    const reps = out.filter((f) => f.repCompleted).map((f) => f.repCompleted!);
    expect(reps).toHaveLength(1);
    // The ascent ends (the root's highest point) at 2.5 s.
    expect(Math.abs(reps[0]!.end_t - 2.5)).toBeLessThanOrEqual(2 / FPS);
  });

  it('sit-to-stand from seated: five reps with seated/rising/standing/sitting phases', async () => {
    const cycle: [number, number][] = [
      [1, 0],
      [0.5, 0],
      [1, 0.45],
      [0.5, 0.45],
    ];
    const out = await run(profile(0.45, [[0.5, 0.45], ...Array.from({ length: 5 }, () => cycle).flat()]), { assessment: 'sit_to_stand' });
    const seq = sequence(out);
    expect(seq.slice(0, 5)).toEqual(['seated', 'rising', 'standing', 'sitting', 'seated']);
    const reps = out.filter((f) => f.repCompleted).map((f) => f.repCompleted!);
    expect(reps).toHaveLength(5);
    for (const r of reps) expect(r.end_t - r.start_t).toBeGreaterThan(0.5);
    expect(reps[0]!.start_t).toBeGreaterThanOrEqual(0.5);
    expect(reps[0]!.start_t).toBeLessThan(1);
  });

  it('sit-to-stand from standing: one rep runs from movement onset through seated back to standing', async () => {
    // Still 0–0.5 s, sit 0.5–1.5 s, seated 1.5–2 s, rise 2–3 s, standing still 3–3.5 s: the rep is 0.5 → 3 s.
    const out = await run(
      profile(0, [
        [0.5, 0],
        [1, 0.45],
        [0.5, 0.45],
        [1, 0],
        [0.5, 0],
      ]),
      { assessment: 'sit_to_stand' },
    );
    expect(sequence(out)).toEqual(['standing', 'sitting', 'seated', 'rising', 'standing']);
    const reps = out.filter((f) => f.repCompleted).map((f) => f.repCompleted!);
    expect(reps).toHaveLength(1);
    // Onset and return: the root within 2 cm of the standing height. On this profile (drop = 0.45·(1 − cos πs)/2)
    // that is up to s = acos(1 − 0.04/0.45)/π = 0.135 of the sit (t = 0.635 s) and from s = 0.865 of the
    // rise (t = 2.865 s); one frame of tolerance.
    expect(Math.abs(reps[0]!.start_t - 0.635)).toBeLessThanOrEqual(1 / FPS);
    expect(Math.abs(reps[0]!.end_t - 2.865)).toBeLessThanOrEqual(1 / FPS);
    expect(reps[0]!.rise_t!).toBeGreaterThanOrEqual(1.9);
    expect(reps[0]!.rise_t!).toBeLessThan(2.15);
    // A dip that never reaches the seat is not a sit-to-stand.
    const dip = await run(
      profile(0, [
        [0.5, 0],
        [0.5, 0.12],
        [0.5, 0],
        [0.5, 0],
      ]),
      { assessment: 'sit_to_stand' },
    );
    expect(dip.at(-1)!.reps).toBe(0);
  });

  it('balance: single-leg stance is its own phase, and the stance is reported per frame', async () => {
    // Both feet down 0–1 s, right foot 20 cm up 1–3 s, down again 3–4 s.
    const frames: PoseFrame[] = [];
    for (let k = 0; k <= 4 * FPS; k++) {
      const t = k / FPS;
      const lift = t >= 1 && t < 3 ? 0.2 : 0;
      frames.push(frame(t, { joints: moved(RIGHT_FOOT, [0, lift, 0]) }));
    }
    const out = await run(frames, { assessment: 'balance' });
    expect(sequence(out)).toEqual(['static', 'single_leg_stance_left', 'static']);
    const changes = out.filter((f) => f.stanceChange).map((f) => f.stanceChange!);
    expect(changes.map((c) => [c.from, c.to])).toEqual([
      ['double', 'single_left'],
      ['single_left', 'double'],
    ]);
    // Dated to the first frame of the change (the lift at 1 s, the touch-down at 3 s).
    expect(changes[0]!.t).toBeCloseTo(1, 6);
    expect(changes[1]!.t).toBeCloseTo(3, 6);
    expect(out.find((f) => f.stanceChange)!.t).toBeCloseTo(1.1, 6);
    // Other assessments carry no stance.
    expect((await run(frames.slice(0, 10), { assessment: 'squat' })).every((f) => f.stance === null)).toBe(true);
  });

  it('balance: feet in line are a tandem stance', async () => {
    // Right foot placed directly in front of the left (heel at the left toe).
    const tandem = moved(RIGHT_FOOT, [0.09, 0, 0.2]);
    const frames = Array.from({ length: FPS + 1 }, (_, k) => frame(k / FPS, { joints: tandem }));
    const out = await run(frames, { assessment: 'balance' });
    expect(sequence(out)).toEqual(['tandem_stance']);
    expect(out.at(-1)!.stance).toBe('tandem');
  });

  it('balance: static until the CoM moves, unstable while it does, static again', async () => {
    const frames: PoseFrame[] = [];
    for (let k = 0; k <= 4 * FPS; k++) {
      const t = k / FPS;
      const shift = t < 2 ? 0 : t < 2.5 ? 0.3 * (t - 2) : 0.15; // the whole body shifts 15 cm at 0.3 m/s
      frames.push(frame(t, { at: [shift, 0, 0] }));
    }
    const out = await run(frames, { assessment: 'balance' });
    expect(sequence(out)).toEqual(['static', 'unstable', 'static']);
    const firstUnstable = out.find((f) => f.phase === 'unstable')!;
    expect(firstUnstable.t).toBeGreaterThan(2);
    expect(firstUnstable.t).toBeLessThan(2.4);
  });

  it('gait: stance/swing per foot from contacts', async () => {
    const out = await run([frame(0), frame(1 / FPS)], { assessment: 'gait' });
    expect(out[1]!.gait).toEqual({ left: 'stance', right: 'stance' });
    expect(out[1]!.phase).toBe('double_support');
  });
});
