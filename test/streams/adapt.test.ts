import { from, lastValueFrom, Subject, throwError, toArray, concat, of } from 'rxjs';
import { describe, expect, it } from 'vitest';
import { adapt, type ArkitFrame } from '../../streams/adapt.js';
import { ARKIT_INDEX } from '../../streams/adapters/arkit.js';
import { AdapterError, AdapterErrorCode } from '../../streams/errors.js';
import { JOINT_INDEX } from '../../streams/skeleton.js';

const translate = (x: number, y: number, z: number): Float32Array => Float32Array.of(1, 0, 0, 0, 0, 1, 0, 0, 0, 0, 1, 0, x, y, z, 1);

function frame(seq: number, t: number, extra: Partial<ArkitFrame> = {}): ArkitFrame {
  const joints = new Float32Array(91 * 3);
  for (let j = 0; j < 91; j++) joints.set([j * 0.01, 1 + j * 0.001, -j * 0.01], j * 3);
  return { seq, t, anchor: translate(1, 0, 2), joints, ...extra };
}

const run = (frames: ArkitFrame[], opts = {}) => lastValueFrom(from(frames).pipe(adapt(opts), toArray()));

describe('adapt (ARKit frames → PoseFrames)', () => {
  it('time relative to the first frame, world = anchor × model', async () => {
    const out = await run([frame(1, 100.5), frame(2, 100.5 + 1 / 60)]);
    expect(out.map((f) => f.t)).toEqual([0, expect.closeTo(1 / 60, 9) as unknown as number]);
    const k = JOINT_INDEX.left_knee * 3;
    const a = ARKIT_INDEX.left_leg_joint;
    expect(out[0]!.joints[k]).toBeCloseTo(1 + a * 0.01, 5);
    expect(out[0]!.joints[k + 1]).toBeCloseTo(1 + a * 0.001, 5);
    expect(out[0]!.joints[k + 2]).toBeCloseTo(2 - a * 0.01, 5);
    expect(out[0]!.joints).toHaveLength(60);
  });

  it('jointTransforms give the same pose as joints', async () => {
    const base = frame(1, 0);
    const transforms = new Float32Array(91 * 16);
    for (let j = 0; j < 91; j++)
      transforms.set([1, 0, 0, 0, 0, 1, 0, 0, 0, 0, 1, 0, base.joints![j * 3]!, base.joints![j * 3 + 1]!, base.joints![j * 3 + 2]!, 1], j * 16);
    const [a] = await run([base]);
    const [b] = await run([{ seq: 1, t: 0, anchor: base.anchor, jointTransforms: transforms }]);
    expect(Array.from(b!.joints)).toEqual(Array.from(a!.joints));
  });

  it('untracked joints are NaN, and so is the heel estimated from an untracked toe', async () => {
    const tracked = new Uint8Array(91).fill(1);
    tracked[ARKIT_INDEX.left_leg_joint] = 0;
    tracked[ARKIT_INDEX.right_toes_joint] = 0;
    const input = frame(1, 0, { tracked });
    const before = Array.from(input.joints!);
    const [f] = await run([input]);
    expect(Array.from(input.joints!)).toEqual(before); // the caller's arrays are never modified
    expect(Number.isNaN(f!.joints[JOINT_INDEX.left_knee * 3]!)).toBe(true);
    expect(Number.isNaN(f!.joints[JOINT_INDEX.right_toe * 3]!)).toBe(true);
    expect(Number.isNaN(f!.joints[JOINT_INDEX.right_heel * 3]!)).toBe(true);
    expect(Number.isFinite(f!.joints[JOINT_INDEX.left_heel * 3]!)).toBe(true);
    expect(Number.isFinite(f!.joints[JOINT_INDEX.right_knee * 3]!)).toBe(true);
  });

  it('bad frames are dropped and reported with a code; the stream goes on', async () => {
    const errors: [AdapterError, number][] = [];
    const onInvalid = (e: AdapterError, f: ArkitFrame): void => void errors.push([e, f.seq]);
    const out = await run(
      [
        frame(1, 10),
        frame(2, 10.1, { anchor: new Float32Array(15) }),
        frame(3, 10.2, { joints: new Float32Array(90) }),
        { seq: 4, t: 10.3, anchor: translate(0, 0, 0) },
        frame(5, 10.0), // goes back in time
        frame(6, Number.NaN),
        frame(7, 10.4, { tracked: new Uint8Array(3) }),
        frame(8, 10.5),
      ],
      { onInvalid },
    );
    expect(out.map((f) => f.t)).toEqual([0, expect.closeTo(0.5, 9) as unknown as number]);
    expect(errors.map(([, seq]) => seq)).toEqual([2, 3, 4, 5, 6, 7]);
    for (const [e] of errors) {
      expect(e).toBeInstanceOf(AdapterError);
      expect(e.code).toBe(AdapterErrorCode.MALFORMED);
    }
  });

  it('empty source completes empty; source errors pass through; unsubscribing stops the map', async () => {
    await expect(run([])).resolves.toEqual([]);
    const boom = new Error('socket closed');
    await expect(
      lastValueFrom(
        concat(
          of(frame(1, 0)),
          throwError(() => boom),
        ).pipe(adapt()),
      ),
    ).rejects.toBe(boom);
    const subject = new Subject<ArkitFrame>();
    const seen: number[] = [];
    const sub = subject.pipe(adapt()).subscribe((f) => seen.push(f.t));
    subject.next(frame(1, 5));
    sub.unsubscribe();
    subject.next(frame(2, 6));
    expect(seen).toEqual([0]);
    expect(subject.observed).toBe(false);
  });
});
