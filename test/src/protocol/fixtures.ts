// Valid example messages (wire form before encoding) shared by the protocol tests.
import type {
  Ack,
  End,
  Ended,
  Env,
  ErrorMessage,
  Feedback,
  Frame,
  Hello,
  Ready,
  SessionEnded,
  SessionStarted,
  Snapshot,
  Update,
} from '../../../src/protocol/index.js';

export const identityAnchor = (): Float32Array => new Float32Array([1, 0, 0, 0, 0, 1, 0, 0, 0, 0, 1, 0, 0.5, 0, -2, 1]);

/** 91 joints spread over a 1.8 m tall body, deterministic (not a real pose: the codec does not care). */
export function modelJoints(): Float32Array {
  const j = new Float32Array(91 * 3);
  for (let i = 0; i < 91; i++) {
    j[i * 3] = Math.sin(i) * 0.3;
    j[i * 3 + 1] = -0.9 + (i / 90) * 1.8;
    j[i * 3 + 2] = Math.cos(i) * 0.1;
  }
  return j;
}

export function jointTransforms(): Float32Array {
  const p = modelJoints();
  const m = new Float32Array(91 * 16);
  for (let i = 0; i < 91; i++) {
    m.set([1, 0, 0, 0, 0, 1, 0, 0, 0, 0, 1, 0, p[i * 3]!, p[i * 3 + 1]!, p[i * 3 + 2]!, 1], i * 16);
  }
  return m;
}

export const frame = (seq = 812, t = 13.5): Frame => ({ type: 'frame', seq, t, anchor: identityAnchor(), joints: modelJoints() });

export const hello = (): Hello => ({
  type: 'hello',
  protocol: 1,
  patientId: 'p-0042',
  assessment: 'gait',
  fps: 60,
  skeleton: 'arkit91',
  device: { model: 'iPad13,8', os: 'iPadOS 17.4' },
});

export const env = (): Env => ({
  type: 'env',
  planes: [{ transform: [1, 0, 0, 0, 0, 1, 0, 0, 0, 0, 1, 0, 0, -1.2, 0, 1], extent: [3, 4], alignment: 'horizontal', classification: 'floor' }],
});

export const end = (): End => ({ type: 'end' });

const pose = (): Float32Array => Float32Array.from({ length: 60 }, (_, i) => i / 10);

export const ready = (): Ready => ({
  type: 'ready',
  sessionId: 's-1',
  model: { id: 'pretrained', kind: 'pretrained', version: '1' },
  horizons: [1, 5, 10, 30],
});
export const feedback = (): Feedback => ({
  type: 'feedback',
  seq: 812,
  t: 13.5,
  phase: 'stance',
  contacts: { left: true, right: false },
  metrics: { cadence_spm: 104.5 },
  joints: pose(),
  uncertainty: 0.12,
  surprise: null,
  predictions: [{ h: 1, uncertainty: 0.1, pose: pose() }, { h: 5, uncertainty: 0.14 }, { h: 10 }],
});
export const ack = (): Ack => ({ type: 'ack', seq: 800 });
export const ended = (): Ended => ({ type: 'ended', sessionId: 's-1', frames: 1200, jobId: 'job-7' });
export const errorMessage = (): ErrorMessage => ({ type: 'error', code: 'NON_FINITE', message: 'frame 3: t is NaN', seq: 3 });
export const update = (): Update => ({
  type: 'update',
  sessionId: 's-1',
  seq: 812,
  t: 13.5,
  joints: pose(),
  phase: 'swing',
  contacts: { left: false, right: true },
  metrics: {},
  uncertainty: null,
  surprise: 0.4,
  prediction: pose(),
  predictions: [{ h: 1, uncertainty: 0.1, pose: pose() }, { h: 5 }],
});
export const snapshot = (): Snapshot => ({ type: 'snapshot', sessionId: 's-1', updates: [update(), { ...update(), seq: 813 }] });
export const sessionStarted = (): SessionStarted => ({
  type: 'session.started',
  sessionId: 's-1',
  clinic: 'c-1',
  patientId: 'p-0042',
  assessment: 'squat',
  startedAt: 1_763_942_400_000,
});
export const sessionEnded = (): SessionEnded => ({ type: 'session.ended', sessionId: 's-1', frames: 1200 });
