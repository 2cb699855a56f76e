import { describe, expect, it } from 'vitest';
import { firstValueFrom, from, lastValueFrom, map, toArray } from 'rxjs';
import { TestScheduler } from 'rxjs/testing';
import { type AlignedFrame, align } from '../../streams/align.js';
import { joint } from '../../streams/vec3.js';
import { StageError, StageErrorCode } from '../../streams/stage-error.js';
import type { PlaneAnchor, PoseFrame } from '../../streams/types.js';
import { BODY, FOOT_Y, frame, pose } from './synthetic.js';

const run = (frames: PoseFrame[], opts = {}): Promise<AlignedFrame[]> => lastValueFrom(from(frames).pipe(align(opts), toArray()));
const plane = (y: number, extra: Partial<PlaneAnchor> = {}): PlaneAnchor => ({
  transform: [1, 0, 0, 0, 0, 1, 0, 0, 0, 0, 1, 0, 0.4, y, -0.2, 1],
  extent: [3, 3],
  alignment: 'horizontal',
  classification: 'floor',
  ...extra,
});
const at = (f: AlignedFrame, name: Parameters<typeof joint>[1]) => joint(f.joints, name) ?? [NaN, NaN, NaN];

describe('align', () => {
  it('levels the floor from the feet and turns the pelvis facing to +z (left = +x)', async () => {
    const yaw = 0.7;
    const frames = Array.from({ length: 90 }, (_, i) => frame(i / 60, { at: [2, 0.3, -1], yaw }));
    const out = await run(frames);
    const last = out[out.length - 1]!;
    expect(last.floor.source).toBe('feet');
    expect(last.floor.y).toBeCloseTo(0.3 + FOOT_Y, 3);
    expect(out[0]!.floor.provisional).toBe(true);
    expect(last.floor.provisional).toBe(false);
    expect(last.forwardSource).toBe('pelvis');
    expect(last.forward[0]).toBeCloseTo(Math.sin(yaw), 5);
    expect(last.forward[2]).toBeCloseTo(Math.cos(yaw), 5);
    expect(at(last, 'root')[1]).toBeCloseTo(BODY.root[1] - FOOT_Y, 3);
    expect(at(last, 'root')[0]).toBeCloseTo(0, 5);
    expect(at(last, 'left_hip')[0]).toBeCloseTo(0.09, 5);
    expect(at(last, 'left_toe')[2]).toBeCloseTo(0.15, 5);
    expect(Math.min(at(last, 'left_heel')[1], at(last, 'left_toe')[1])).toBeCloseTo(0, 3);
    expect(last.quality.every((c) => c.passed)).toBe(true);
    expect(last.quality.map((c) => c.name)).toEqual(['feet_clearance_p1_m', 'gravity_root_above_feet_m', 'thigh_length_m', 'shank_length_m']);
  });

  it('fixes the forward axis from the root travel once it reaches travelM, and records when', async () => {
    // Faces +z but side-steps along −x at 1 m/s: the travel direction wins after 0.5 m.
    const frames = Array.from({ length: 60 }, (_, i) => frame(i / 60, { at: [-i / 60, 0, 0] }));
    const out = await run(frames);
    expect(out[29]!.forwardSource).toBe('pelvis');
    expect(out[30]!.forwardSource).toBe('travel');
    expect(out[59]!.forwardFixedAt).toBe(30);
    expect(out[59]!.forward[0]).toBeCloseTo(-1, 6);
    const root = at(out[59]!, 'root');
    expect(root[2]).toBeCloseTo(59 / 60, 4); // travel is +z in the world frame
    expect(root[0]).toBeCloseTo(0, 4);
    expect(at(out[59]!, 'left_hip')[2]).toBeCloseTo(59 / 60 - 0.09, 4); // the body faces world −x… its left is −z
  });

  it('prefers a floor-class horizontal plane near the feet over walls, tables and the feet', async () => {
    const planes = [plane(0.25), plane(1.0, { classification: 'table' }), plane(0.3, { alignment: 'vertical', classification: 'wall' })];
    const out = await run([frame(0, { at: [0, 0.3, 0] })], { planes });
    expect(out[0]!.floor).toEqual({ source: 'plane', y: 0.25, provisional: false });
    expect(at(out[0]!, 'left_heel')[1]).toBeCloseTo(0.07, 5);
  });

  it('switches to the plane when an env update arrives (marble)', () => {
    new TestScheduler((a, b) => expect(a).toEqual(b)).run(({ cold, hot, expectObservable, expectSubscriptions }) => {
      const env = hot('-p', { p: [plane(0.29)] });
      const src = cold('a-b-c|', { a: frame(0), b: frame(1 / 60), c: frame(2 / 60) });
      const out = src.pipe(align({ env }));
      expectObservable(out.pipe(map((f) => f.floor.source))).toBe('a-b-c|', { a: 'feet', b: 'plane', c: 'plane' });
      expectSubscriptions(env.subscriptions).toBe('^----!');
    });
  });

  it('lets go of the env stream on early unsubscribe (marble)', () => {
    new TestScheduler((a, b) => expect(a).toEqual(b)).run(({ cold, hot, expectObservable, expectSubscriptions }) => {
      const env = hot('----p', { p: [plane(0.29)] });
      const src = cold('a-b-c|', { a: frame(0), b: frame(1 / 60), c: frame(2 / 60) });
      expectObservable(
        src.pipe(
          align({ env }),
          map((f) => f.index),
        ),
        '^--!',
      ).toBe('a-b', { a: 0, b: 1 });
      expectSubscriptions(env.subscriptions).toBe('^--!');
    });
  });

  it('reports an inverted skeleton and a millimetre skeleton as failed checks', async () => {
    const flip = (f: Float32Array): Float32Array => f.map((v, i) => (i % 3 === 1 ? -v : v));
    const inverted = await run(Array.from({ length: 10 }, (_, i) => ({ t: i / 60, joints: flip(pose()) })));
    const g = inverted[9]!.quality.find((c) => c.name === 'gravity_root_above_feet_m')!;
    expect(g.passed).toBe(false);
    const mm = await run(Array.from({ length: 10 }, (_, i) => ({ t: i / 60, joints: pose().map((v) => v * 1000) })));
    expect(mm[9]!.quality.find((c) => c.name === 'thigh_length_m')).toMatchObject({ passed: false });
  });

  it('drops frames whose timestamp does not increase and counts them', async () => {
    const out = await run([frame(0), frame(0.1), frame(0.1), frame(0.05), frame(0.2)]);
    expect(out.map((f) => f.t)).toEqual([0, 0.1, 0.2]);
    expect(out[2]!.dropped).toBe(2);
    expect(out.map((f) => f.index)).toEqual([0, 1, 2]);
  });

  it('errors with a coded StageError on a malformed frame', async () => {
    const err = await run([frame(0), { t: 1, joints: new Float32Array(5) }]).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(StageError);
    expect((err as StageError).code).toBe(StageErrorCode.BAD_FRAME);
    const nanT = await run([{ t: NaN, joints: pose() }]).catch((e: unknown) => e);
    expect((nanT as StageError).code).toBe(StageErrorCode.BAD_FRAME);
    expect(() => align({ travelM: 0 })).toThrow(StageError);
  });

  it('keeps state per subscription', async () => {
    const piped = from([frame(0, { at: [0, 0.3, 0] }), frame(1 / 60, { at: [0, 0.3, 0] })]).pipe(align());
    const a = await lastValueFrom(piped.pipe(toArray()));
    const b = await lastValueFrom(piped.pipe(toArray()));
    expect(b.map((f) => f.index)).toEqual([0, 1]);
    expect(b[1]!.joints).toEqual(a[1]!.joints);
    expect((await firstValueFrom(piped)).index).toBe(0);
  });
});
