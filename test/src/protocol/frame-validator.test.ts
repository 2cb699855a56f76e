import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { ErrorCode, FrameValidator, MAX_JOINT_DISTANCE_M, type Frame } from '../../../src/protocol/index.js';
import { hasMotionData, motion } from '../../helpers/motion-data.js';
import { frame, jointTransforms } from './fixtures.js';

const names = Array.from({ length: 91 }, (_, i) => (i === 22 ? 'left_hand_joint' : `j${i}`));

function rejected(v: FrameValidator, f: Frame) {
  const r = v.check(f);
  if (r.ok) throw new Error(`frame ${f.seq} was accepted`);
  return r.error;
}

describe('FrameValidator', () => {
  it('accepts increasing frames, with gaps in seq', () => {
    const v = new FrameValidator();
    expect(v.check(frame(1, 0.0))).toEqual({ ok: true });
    expect(v.check(frame(2, 1 / 60))).toEqual({ ok: true });
    expect(v.check(frame(9, 0.2))).toEqual({ ok: true });
    expect(v.last).toEqual({ seq: 9, t: 0.2 });
  });

  it('accepts jointTransforms frames and checks their translation column', () => {
    const v = new FrameValidator({ jointNames: names });
    const { joints: _j, ...rest } = frame(1, 0);
    expect(v.check({ ...rest, jointTransforms: jointTransforms() })).toEqual({ ok: true });
    const far = jointTransforms();
    far[22 * 16 + 13] = 11;
    expect(rejected(v, { ...rest, seq: 2, t: 1, jointTransforms: far })).toMatchObject({
      code: ErrorCode.ABSURD_VALUE,
      message: expect.stringContaining('joint 22 (left_hand_joint)'),
    });
    const nan = jointTransforms();
    nan[22 * 16 + 5] = NaN;
    expect(rejected(v, { ...rest, seq: 2, t: 1, jointTransforms: nan }).message).toBe('frame 2: joint 22 (left_hand_joint) transform[5] is NaN');
  });

  it('DUPLICATE_SEQ and SEQ_NOT_MONOTONIC', () => {
    const v = new FrameValidator();
    v.check(frame(10, 1));
    expect(rejected(v, frame(10, 2))).toEqual({ code: ErrorCode.DUPLICATE_SEQ, message: 'frame 10: seq 10 repeats the last accepted frame', seq: 10 });
    expect(rejected(v, frame(9, 2))).toEqual({ code: ErrorCode.SEQ_NOT_MONOTONIC, message: 'frame 9: seq 9 is below the last accepted seq 10', seq: 9 });
  });

  it('TIME_NOT_MONOTONIC for equal or earlier t', () => {
    const v = new FrameValidator();
    v.check(frame(1, 5));
    expect(rejected(v, frame(2, 5)).code).toBe(ErrorCode.TIME_NOT_MONOTONIC);
    expect(rejected(v, frame(2, 4.9)).message).toBe('frame 2: t 4.9 s does not increase over the last accepted t 5 s');
  });

  it('NON_FINITE names the joint, its name and the axis', () => {
    const v = new FrameValidator({ jointNames: names });
    const f = frame(812, 1);
    f.joints![22 * 3 + 1] = NaN;
    expect(rejected(v, f)).toEqual({ code: ErrorCode.NON_FINITE, message: 'frame 812: joint 22 (left_hand_joint) y is NaN', seq: 812 });
    const g = frame(812, 1);
    g.joints![3 * 3 + 2] = -Infinity;
    expect(new FrameValidator().check(g)).toMatchObject({ ok: false, error: { message: 'frame 812: joint 3 z is -Infinity' } });
  });

  it('NON_FINITE in the anchor and in t', () => {
    const f = frame(5, 1);
    f.anchor[13] = Infinity;
    expect(rejected(new FrameValidator(), f)).toMatchObject({ code: ErrorCode.NON_FINITE, message: 'frame 5: anchor[13] (column 3, row 1) is Infinity' });
    expect(rejected(new FrameValidator(), frame(5, NaN))).toMatchObject({ code: ErrorCode.NON_FINITE, message: 'frame 5: t is NaN' });
  });

  it('ABSURD_VALUE: joint beyond the bound, non-rigid anchor, anchor far away', () => {
    const f = frame(1, 1);
    f.joints![0] = MAX_JOINT_DISTANCE_M + 0.5;
    expect(rejected(new FrameValidator(), f)).toMatchObject({
      code: ErrorCode.ABSURD_VALUE,
      message: expect.stringMatching(/^frame 1: joint 0 is 10\.\d+ m from the body origin \(limit 10 m\)$/),
    });
    const scaled = frame(1, 1);
    scaled.anchor[0] = 3;
    expect(rejected(new FrameValidator(), scaled).message).toContain('anchor rotation column 0 has length 3.000');
    const rowMajor = frame(1, 1);
    rowMajor.anchor.set([1, 0, 0, 2, 0, 1, 0, 0, 0, 0, 1, 0, 0, 0, 0, 1]);
    expect(rejected(new FrameValidator(), rowMajor).message).toContain('anchor bottom row');
    const far = frame(1, 1);
    far.anchor[14] = -500;
    expect(rejected(new FrameValidator(), far).message).toContain('from the world origin (limit 100 m)');
  });

  it('JOINT_COUNT for frames built in code with wrong lengths', () => {
    expect(rejected(new FrameValidator(), { ...frame(1, 1), joints: new Float32Array(270) }).code).toBe(ErrorCode.JOINT_COUNT);
    const { joints: _j, ...none } = frame(1, 1);
    expect(rejected(new FrameValidator(), none).code).toBe(ErrorCode.JOINT_COUNT);
    expect(rejected(new FrameValidator(), { ...frame(1, 1), tracked: new Uint8Array(3) }).code).toBe(ErrorCode.JOINT_COUNT);
  });

  it('a rejected frame does not advance the state', () => {
    const v = new FrameValidator();
    v.check(frame(1, 1));
    const bad = frame(2, 2);
    bad.joints![0] = NaN;
    expect(v.check(bad).ok).toBe(false);
    expect(v.last).toEqual({ seq: 1, t: 1 });
    expect(v.check(frame(2, 2))).toEqual({ ok: true });
  });

  it('resumes after a known frame', () => {
    const v = new FrameValidator({ after: { seq: 100, t: 10 } });
    expect(rejected(v, frame(100, 11)).code).toBe(ErrorCode.DUPLICATE_SEQ);
    expect(v.check(frame(101, 10.1))).toEqual({ ok: true });
  });
});

// Real motion must pass the bounds: optical markers of a walking and a standing adult, expressed
// relative to the pelvis (as ARKit model space is relative to the hips), streamed as frames.
function trcFrames(file: string): Frame[] {
  const lines = readFileSync(file, 'utf8')
    .split(/\r?\n/)
    .slice(6)
    .filter((l) => l.trim() !== '');
  return lines.map((line, row) => {
    const cells = line.split('\t').map(Number);
    const markers = cells.slice(2);
    const count = Math.min(91, Math.floor(markers.length / 3));
    // Pelvis origin: mid-point of R.ASIS and L.ASIS (markers 0 and 1 in both trials).
    const o = [0, 1, 2].map((k) => (markers[k]! + markers[3 + k]!) / 2000);
    const joints = new Float32Array(91 * 3);
    for (let j = 0; j < count; j++) for (let k = 0; k < 3; k++) joints[j * 3 + k] = markers[j * 3 + k]! / 1000 - o[k]!;
    const anchor = new Float32Array([1, 0, 0, 0, 0, 1, 0, 0, 0, 0, 1, 0, o[0]!, o[1]!, o[2]!, 1]);
    return { type: 'frame', seq: row, t: row / 60, anchor, joints };
  });
}

describe.skipIf(!hasMotionData)('FrameValidator on real recordings (opensim-gait)', () => {
  it.each(['subject01_walk1.trc', 'subject01_static.trc'])('accepts every frame of %s', (name) => {
    const frames = trcFrames(motion('opensim-gait', name));
    expect(frames.length).toBeGreaterThan(150);
    const v = new FrameValidator();
    const rejections = frames.map((f) => v.check(f)).filter((r) => !r.ok);
    expect(rejections).toEqual([]);
  });

  it('rejects a real frame with one marker teleported 12 m, and the stream goes on', () => {
    const frames = trcFrames(motion('opensim-gait', 'subject01_walk1.trc'));
    const v = new FrameValidator();
    frames.slice(0, 10).forEach((f) => v.check(f));
    const bad = frames[10]!;
    bad.joints![5 * 3] = 12;
    expect(v.check(bad)).toMatchObject({ ok: false, error: { code: ErrorCode.ABSURD_VALUE, seq: 10 } });
    expect(frames.slice(11).every((f) => v.check(f).ok)).toBe(true);
  });
});
