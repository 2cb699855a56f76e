// Schema accept/reject per message and per field, on the wire form (bins as Uint8Array).
import { describe, expect, it } from 'vitest';
import type { z } from 'zod';
import {
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
  TaskpackReady,
  SessionStarted,
  Snapshot,
  Subscribe,
  Unsubscribe,
  Update,
  Id,
  ModelId,
} from '../../../src/protocol/index.js';

const f32 = (n: number): Uint8Array => new Uint8Array(n * 4);
const anchorBytes = (): Uint8Array => new Uint8Array(new Float32Array([1, 0, 0, 0, 0, 1, 0, 0, 0, 0, 1, 0, 0, 0, 0, 1]).buffer);

type Case = readonly [name: string, value: unknown, path: string];
interface Spec {
  schema: z.ZodType;
  valid: Record<string, unknown>[];
  invalid: (base: Record<string, unknown>) => Case[];
}

const hello = {
  type: 'hello',
  protocol: 1,
  patientId: 'p-1',
  assessment: 'gait',
  fps: 60,
  skeleton: 'arkit91',
  device: { model: 'iPad13,8', os: 'iPadOS 17' },
};
const frame = { type: 'frame', seq: 0, t: 0, anchor: anchorBytes(), joints: f32(273) };
const update = {
  type: 'update',
  sessionId: 's',
  seq: 1,
  t: 1,
  joints: f32(60),
  phase: 'static',
  contacts: { left: true, right: true },
  metrics: {},
  uncertainty: null,
  surprise: null,
};
const plane = { transform: Array(16).fill(0), extent: [1, 2], alignment: 'horizontal', classification: 'floor' };

const specs: Record<string, Spec> = {
  hello: {
    schema: Hello,
    valid: [hello, { ...hello, device: { model: 'x', os: 'y', app: 'z 1.0' }, resume: { sessionId: 's-1', lastAckedSeq: -1 } }],
    invalid: (b) => [
      ['protocol string', { ...b, protocol: '1' }, 'protocol'],
      ['patientId with a slash', { ...b, patientId: '../etc' }, 'patientId'],
      ['patientId empty', { ...b, patientId: '' }, 'patientId'],
      ['unknown assessment', { ...b, assessment: 'run' }, 'assessment'],
      ['fps 0', { ...b, fps: 0 }, 'fps'],
      ['skeleton other', { ...b, skeleton: 'coco17' }, 'skeleton'],
      ['device missing', { ...b, device: undefined }, 'device'],
      ['device.model too long', { ...b, device: { model: 'x'.repeat(129), os: 'y' } }, 'device.model'],
      ['resume.lastAckedSeq -2', { ...b, resume: { sessionId: 's', lastAckedSeq: -2 } }, 'resume.lastAckedSeq'],
    ],
  },
  env: {
    schema: Env,
    valid: [
      { type: 'env', planes: [] },
      { type: 'env', planes: [plane] },
    ],
    invalid: (b) => [
      ['planes missing', { type: 'env' }, 'planes'],
      ['transform of 15', { ...b, planes: [{ ...plane, transform: Array(15).fill(0) }] }, 'planes.0.transform'],
      ['negative extent', { ...b, planes: [{ ...plane, extent: [-1, 2] }] }, 'planes.0.extent.0'],
      ['bad classification', { ...b, planes: [{ ...plane, classification: 'sofa' }] }, 'planes.0.classification'],
      ['65 planes', { ...b, planes: Array(65).fill(plane) }, 'planes'],
    ],
  },
  frame: {
    schema: Frame,
    valid: [frame, { type: 'frame', seq: 1, t: 0.1, anchor: anchorBytes(), jointTransforms: f32(91 * 16), tracked: new Uint8Array(91).fill(1) }],
    invalid: (b) => [
      ['seq fractional', { ...b, seq: 1.5 }, 'seq'],
      ['seq negative', { ...b, seq: -1 }, 'seq'],
      ['t negative', { ...b, t: -0.1 }, 't'],
      ['anchor as numbers', { ...b, anchor: Array(16).fill(0) }, 'anchor'],
      ['anchor 15 floats', { ...b, anchor: f32(15) }, 'anchor'],
      ['joints odd bytes', { ...b, joints: new Uint8Array(1093) }, 'joints'],
      ['neither joints nor transforms', { ...b, joints: undefined }, 'joints'],
      ['both joints and transforms', { ...b, jointTransforms: f32(91 * 16) }, 'joints'],
      ['jointTransforms 90', { ...b, joints: undefined, jointTransforms: f32(90 * 16) }, 'jointTransforms'],
      ['tracked value 2', { ...b, tracked: new Uint8Array(91).fill(2) }, 'tracked'],
    ],
  },
  end: { schema: End, valid: [{ type: 'end' }], invalid: () => [['wrong type', { type: 'End' }, 'type']] },
  ready: {
    schema: Ready,
    valid: [
      { type: 'ready', sessionId: 's', model: { id: 'm', kind: 'patient', version: '3' }, horizons: [1, 5], resumeFromSeq: 10 },
      // What the retrain worker registers for a patient (jobs/workers/patient-checkpoints patientModelId).
      { type: 'ready', sessionId: 's', model: { id: 'models/dev-clinic/dev-patient/v1', kind: 'patient', version: '1' }, horizons: [1] },
    ],
    invalid: (b) => [
      ['model id with an empty segment', { ...b, model: { id: 'models//v1', kind: 'patient', version: '1' } }, 'model.id'],
      ['model kind', { ...b, model: { id: 'm', kind: 'x', version: '1' } }, 'model.kind'],
      ['horizon 0', { ...b, horizons: [0] }, 'horizons.0'],
      ['resumeFromSeq negative', { ...b, resumeFromSeq: -1 }, 'resumeFromSeq'],
    ],
  },
  feedback: {
    schema: Feedback,
    valid: [
      {
        type: 'feedback',
        seq: 1,
        t: 1,
        phase: 'stance',
        contacts: { left: true, right: false },
        metrics: { a: 1 },
        uncertainty: 0,
        surprise: 1,
        predictions: [{ h: 1, pose: f32(60) }],
        shed: false,
      },
      {
        type: 'feedback',
        seq: 2,
        t: 1.1,
        phase: 'stance',
        contacts: { left: true, right: false },
        metrics: {},
        joints: f32(60),
        uncertainty: 0.2,
        surprise: null,
        predictions: [
          { h: 1, uncertainty: 0.1, pose: f32(60) },
          { h: 10, uncertainty: 0.3 },
        ],
      },
    ],
    invalid: (b) => [
      ['contacts.right missing', { ...b, contacts: { left: true } }, 'contacts.right'],
      ['metric string', { ...b, metrics: { a: 'x' } }, 'metrics.a'],
      ['metric name not an identifier', { ...b, metrics: { 'cadence spm': 1 } }, 'metrics.cadence spm'],
      ['uncertainty negative', { ...b, uncertainty: -1 }, 'uncertainty'],
      ['pose 19 joints', { ...b, predictions: [{ h: 1, pose: f32(57) }] }, 'predictions.0.pose'],
      ['horizon uncertainty negative', { ...b, predictions: [{ h: 1, uncertainty: -0.1 }] }, 'predictions.0.uncertainty'],
      ['joints 19', { ...b, joints: f32(57) }, 'joints'],
      ['phase empty', { ...b, phase: '' }, 'phase'],
    ],
  },
  ack: { schema: Ack, valid: [{ type: 'ack', seq: 0 }], invalid: (b) => [['seq string', { ...b, seq: '1' }, 'seq']] },
  ended: {
    schema: Ended,
    valid: [{ type: 'ended', sessionId: 's', frames: 0, jobId: 'j' }],
    invalid: (b) => [
      ['jobId missing', { ...b, jobId: undefined }, 'jobId'],
      ['frames negative', { ...b, frames: -1 }, 'frames'],
    ],
  },
  error: {
    schema: ErrorMessage,
    valid: [{ type: 'error', code: 'SHED', message: 'busy' }],
    invalid: (b) => [['unknown code', { ...b, code: 'OOPS' }, 'code']],
  },
  subscribe: {
    schema: Subscribe,
    valid: [
      { type: 'subscribe', sessionId: 's' },
      { type: 'subscribe', clinic: 'c' },
    ],
    invalid: (b) => [
      ['both targets', { ...b, clinic: 'c' }, 'sessionId'],
      ['no target', { type: 'subscribe' }, 'sessionId'],
    ],
  },
  unsubscribe: {
    schema: Unsubscribe,
    valid: [{ type: 'unsubscribe', clinic: 'c' }],
    invalid: () => [['bad clinic id', { type: 'unsubscribe', clinic: 'a b' }, 'clinic']],
  },
  'session.started': {
    schema: SessionStarted,
    valid: [{ type: 'session.started', sessionId: 's', clinic: 'c', patientId: 'p', assessment: 'balance', startedAt: 0 }],
    invalid: (b) => [['startedAt as string', { ...b, startedAt: '2026-01-01' }, 'startedAt']],
  },
  update: {
    schema: Update,
    valid: [update, { ...update, prediction: f32(60) }, { ...update, prediction: f32(60), predictions: [{ h: 1, uncertainty: 0.2, pose: f32(60) }, { h: 5 }] }],
    invalid: (b) => [
      ['joints 91×3', { ...b, joints: f32(273) }, 'joints'],
      ['prediction pose 19 joints', { ...b, predictions: [{ h: 1, pose: f32(57) }] }, 'predictions.0.pose'],
      ['surprise missing', { ...b, surprise: undefined }, 'surprise'],
    ],
  },
  snapshot: {
    schema: Snapshot,
    valid: [{ type: 'snapshot', sessionId: 's', updates: [update] }],
    invalid: (b) => [['bad update inside', { ...b, updates: [{ ...update, seq: -1 }] }, 'updates.0.seq']],
  },
  'session.ended': {
    schema: SessionEnded,
    valid: [{ type: 'session.ended', sessionId: 's', frames: 3 }],
    invalid: (b) => [['frames fractional', { ...b, frames: 1.5 }, 'frames']],
  },
  'taskpack.ready': {
    schema: TaskpackReady,
    valid: [{ type: 'taskpack.ready', taskpackId: 'tp-0123456789abcdef01234567', sessionId: 's', patientId: 'p', clinic: 'c' }],
    invalid: (b) => [
      ['clinic missing', { ...b, clinic: undefined }, 'clinic'],
      ['session id with a space', { ...b, sessionId: 'a b' }, 'sessionId'],
    ],
  },
};

describe.each(Object.entries(specs))('%s schema', (_name, spec) => {
  it.each(spec.valid.map((v, i) => [i, v] as const))('accepts valid example %i', (_i, v) => {
    const r = spec.schema.safeParse(v);
    expect(r.error?.issues).toBeUndefined();
  });
  it.each(spec.invalid(spec.valid[0]!))('rejects %s at its path', (_n, value, path) => {
    const r = spec.schema.safeParse(value);
    expect(r.success).toBe(false);
    expect(r.error?.issues[0]?.path.join('.')).toBe(path);
  });
});

describe('Id', () => {
  it.each(['a', 'P-001', 'clinic_7.north', 'x'.repeat(128)])('accepts %s', (s) => expect(Id.safeParse(s).success).toBe(true));
  it.each(['', '-a', '.hidden', 'a/b', 'a b', 'a*', 'x'.repeat(129), '..'])('rejects %j', (s) => expect(Id.safeParse(s).success).toBe(false));
});

describe('ModelId', () => {
  it.each(['pretrained', 'models/dev-clinic/dev-patient/v1', 'models/c=2f1/p_7/v12', `${'a'.repeat(128)}/b`, Array(8).fill('s').join('/')])('accepts %s', (s) =>
    expect(ModelId.safeParse(s).success).toBe(true),
  );
  it.each([
    '',
    '/models/a',
    'models/a/',
    'models//a',
    'models/../x',
    'models/./x',
    'a b/c',
    'a/*',
    'a\\b',
    Array(9).fill('s').join('/'),
    `${'a'.repeat(129)}/b`,
    Array(5).fill('x'.repeat(120)).join('/'),
  ])('rejects %j', (s) => expect(ModelId.safeParse(s).success).toBe(false));
});
