import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { featureNames } from '../../../../streams/features.js';
import { JOINT_INDEX } from '../../../../streams/skeleton.js';
import type { Recording } from '../../../../streams/types.js';
import { recordingToFeatures } from '../../../../src/jobs/workers/recording-to-features.js';
import { RetrainError, RetrainErrorCode } from '../../../../src/jobs/workers/retrain-errors.js';
import { hasMotionData, motion } from '../../../helpers/motion-data.js';
import { loadMocap, writeSessionRecording } from './session-recording.js';

let dir: string;
let walk: Recording;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'jm-r2f-'));
  if (hasMotionData) walk = await loadMocap(motion('opensim-gait', 'subject01_walk1.trc'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

async function codeOf(p: Promise<unknown>): Promise<string> {
  try {
    await p;
  } catch (e) {
    expect(e).toBeInstanceOf(RetrainError);
    return (e as RetrainError).code;
  }
  throw new Error('expected a RetrainError');
}

describe.skipIf(!hasMotionData)('recordingToFeatures on a real walk replayed as an ARKit session', () => {
  it('yields one feature row per frame, aligned to the env floor plane', async () => {
    const fx = await writeSessionRecording(join(dir, 's1.jmrl'), walk, { patientId: 'p1', sessionId: 's1', assessment: 'gait' });
    const r = await recordingToFeatures(fx.path, { expectedSha256: fx.sha256, subject: 'p1' });
    expect(fx.frames).toBe(walk.frames.length);
    expect(r.wireFrames).toBe(fx.frames);
    expect(r.droppedFrames).toBe(0);
    expect(r.rejectedRecords).toBe(0);
    expect(r.hello.assessment).toBe('gait');
    const s = r.sequence;
    expect(s.names).toEqual(featureNames());
    expect(s.t.length).toBe(fx.frames);
    expect(s.x.length).toBe(fx.frames * s.names.length);
    expect(s.x.every(Number.isFinite)).toBe(true);
    expect(s.t[0]).toBe(0);
    expect(s.t[s.t.length - 1]).toBeCloseTo((fx.frames - 1) / 60, 3);
    expect(s.source).toEqual({ file: fx.path, sha256: fx.sha256, subject: 'p1' });
    // Floor from the env plane (the lowest-foot quantile): the feet touch y = 0 within a few cm.
    const toe = JOINT_INDEX.left_toe * 3 + 1;
    let minToe = Infinity;
    for (let i = 0; i < s.t.length; i++) minToe = Math.min(minToe, s.poses[i * 60 + toe]!);
    expect(Math.abs(minToe)).toBeLessThan(0.05);
  });

  it('drops frames resent after a resume (time not increasing) and keeps the rest', async () => {
    const fx = await writeSessionRecording(join(dir, 's2.jmrl'), walk, { patientId: 'p1', sessionId: 's2', assessment: 'gait', resumeAfter: 80, resend: 5 });
    const r = await recordingToFeatures(fx.path);
    expect(r.wireFrames).toBe(fx.frames + 5);
    expect(r.droppedFrames).toBe(5);
    expect(r.sequence.t.length).toBe(fx.frames);
  });

  it('caps the frames used at maxFrames', async () => {
    const fx = await writeSessionRecording(join(dir, 's3.jmrl'), walk, { patientId: 'p1', sessionId: 's3', assessment: 'gait' });
    const r = await recordingToFeatures(fx.path, { maxFrames: 100 });
    expect(r.sequence.t.length).toBe(100);
    expect(r.truncatedFrames).toBe(fx.frames - 100);
  });

  it('rejects damaged, foreign, missing and mismatched files with their codes', async () => {
    const fx = await writeSessionRecording(join(dir, 's4.jmrl'), walk, { patientId: 'p1', sessionId: 's4', assessment: 'gait' });
    const bytes = await readFile(fx.path);
    const cut = join(dir, 'cut.jmrl');
    await writeFile(cut, bytes.subarray(0, Math.floor(bytes.length / 2)));
    expect(await codeOf(recordingToFeatures(cut))).toBe(RetrainErrorCode.RECORDING_DAMAGED);
    const garbage = join(dir, 'garbage.jmrl');
    await writeFile(garbage, Buffer.from('this is not a recording log at all, just text'.repeat(10)));
    expect(await codeOf(recordingToFeatures(garbage))).toBe(RetrainErrorCode.RECORDING_UNREADABLE);
    expect(await codeOf(recordingToFeatures(join(dir, 'absent.jmrl')))).toBe(RetrainErrorCode.RECORDING_NOT_FOUND);
    expect(await codeOf(recordingToFeatures(fx.path, { expectedSha256: '0'.repeat(64) }))).toBe(RetrainErrorCode.RECORDING_MISMATCH);
    const flipped = Buffer.from(bytes);
    flipped[Math.floor(flipped.length / 2)]! ^= 0xff;
    const corrupt = join(dir, 'corrupt.jmrl');
    await writeFile(corrupt, flipped);
    expect(await codeOf(recordingToFeatures(corrupt))).toBe(RetrainErrorCode.RECORDING_DAMAGED);
  });
});
