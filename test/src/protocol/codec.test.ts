import { Packr } from 'msgpackr';
import { describe, expect, it } from 'vitest';
import {
  ErrorCode,
  decodeClientMessage,
  decodeServerMessage,
  encodeClientMessage,
  encodeServerMessage,
  unwrap,
  ProtocolError,
  type IngestServerMessage,
  type LiveServerMessage,
} from '../../../src/protocol/index.js';
import { wellFormedFeedback } from '../../../src/protocol/codec.js';
import { Feedback, Frame } from '../../../src/protocol/ingest-messages.js';
import * as fx from './fixtures.js';

// A plain msgpack encoder, as another language's client would use (no records, no typed-array tricks).
const plain = new Packr({ useRecords: false, moreTypes: false });
const bytesOf = (f: Float32Array): Uint8Array => new Uint8Array(f.buffer.slice(f.byteOffset, f.byteOffset + f.byteLength));
const wireFrame = (over: Record<string, unknown> = {}): Uint8Array =>
  plain.pack({ type: 'frame', seq: 812, t: 13.5, anchor: bytesOf(fx.identityAnchor()), joints: bytesOf(fx.modelJoints()), ...over });

describe('codec round trip', () => {
  it('client messages round-trip, float arrays bit-exact including NaN payloads and -0', () => {
    const f = fx.frame();
    f.joints![0] = -0;
    new Uint32Array(f.joints!.buffer)[1] = 0x7fc01234; // NaN with a payload
    f.joints![2] = 3.4028234663852886e38;
    const r = decodeClientMessage(encodeClientMessage({ ...f, tracked: new Uint8Array(91).fill(1) }), 'ingest');
    expect(r.ok).toBe(true);
    const m = unwrap(r);
    if (m.type !== 'frame') throw new Error('expected a frame');
    expect(m.joints).toBeInstanceOf(Float32Array);
    expect(new Uint32Array(m.joints!.buffer)).toEqual(new Uint32Array(f.joints!.buffer));
    expect(Object.is(m.joints![0], -0)).toBe(true);
    expect(m.anchor).toEqual(f.anchor);
    expect(m.tracked).toEqual(new Uint8Array(91).fill(1));
  });

  it('decoded arrays are aligned copies, not views into the socket buffer', () => {
    const bytes = encodeClientMessage(fx.frame());
    // Shift by one byte so every bin sits at an odd offset in the source buffer.
    const shifted = new Uint8Array(bytes.length + 1);
    shifted.set(bytes, 1);
    const m = unwrap(decodeClientMessage(shifted.subarray(1), 'ingest'));
    if (m.type !== 'frame') throw new Error('expected a frame');
    expect(m.joints!.byteOffset).toBe(0);
    expect(m.joints!.buffer).not.toBe(shifted.buffer);
    shifted.fill(0);
    expect(m.joints).toEqual(fx.modelJoints());
  });

  it('accepts an ArrayBuffer (what uWebSockets.js hands over)', () => {
    const bytes = encodeClientMessage(fx.hello());
    const ab = bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength) as ArrayBuffer;
    expect(unwrap(decodeClientMessage(ab, 'ingest'))).toEqual(fx.hello());
  });

  it('a frame from a plain msgpack encoder decodes: the wire format is language-neutral', () => {
    const m = unwrap(decodeClientMessage(wireFrame(), 'ingest'));
    expect(m).toMatchObject({ type: 'frame', seq: 812, t: 13.5 });
  });

  it('encodes floats as bin (0xc4/0xc5), not arrays or msgpack extensions', () => {
    const bytes = encodeClientMessage(fx.frame());
    const raw = plain.unpack(bytes) as Record<string, unknown>;
    expect(raw['joints']).toBeInstanceOf(Uint8Array);
    expect((raw['joints'] as Uint8Array).byteLength).toBe(91 * 3 * 4);
    expect(new DataView((raw['anchor'] as Uint8Array).buffer, (raw['anchor'] as Uint8Array).byteOffset).getFloat32(12 * 4, true)).toBe(0.5);
  });

  const ingestServer: IngestServerMessage[] = [fx.ready(), fx.feedback(), fx.ack(), fx.ended(), fx.errorMessage()];
  const liveServer: LiveServerMessage[] = [fx.sessionStarted(), fx.update(), fx.snapshot(), fx.sessionEnded(), fx.errorMessage()];
  it.each(ingestServer.map((m) => [m.type, m] as const))('ingest server message %s round-trips', (_t, m) => {
    expect(unwrap(decodeServerMessage(encodeServerMessage(m), 'ingest'))).toEqual(m);
  });
  it.each(liveServer.map((m) => [m.type, m] as const))('live server message %s round-trips', (_t, m) => {
    expect(unwrap(decodeServerMessage(encodeServerMessage(m), 'live'))).toEqual(m);
  });

  it('absent optional fields are omitted on the wire, not sent as nil', () => {
    const raw = plain.unpack(encodeServerMessage({ ...fx.sessionEnded(), jobId: undefined } as never)) as object;
    expect(Object.keys(raw)).toEqual(['type', 'sessionId', 'frames']);
  });

  it('packs a message without copying its unchanged parts: bytes as a plain copy would give, undefined left out at any depth, input untouched', () => {
    const joints = Float32Array.from({ length: 60 }, (_, i) => i / 7);
    const pose = Float32Array.from({ length: 60 }, (_, i) => -i / 3);
    const metrics = { steps: 3, cadence_spm: 104.5 };
    const fb = {
      type: 'feedback',
      seq: 7,
      t: 1.5,
      phase: 'stance',
      contacts: { left: true, right: false },
      metrics,
      joints,
      uncertainty: null,
      surprise: 0.25,
      predictions: [
        { h: 10, uncertainty: undefined, pose },
        { h: 30, uncertainty: 0.5 },
      ],
      shed: undefined,
    };
    const bin = (a: Float32Array) => new Uint8Array(a.buffer.slice(a.byteOffset, a.byteOffset + a.byteLength));
    const expected = {
      type: 'feedback',
      seq: 7,
      t: 1.5,
      phase: 'stance',
      contacts: { left: true, right: false },
      metrics: { steps: 3, cadence_spm: 104.5 },
      joints: bin(joints),
      uncertainty: null,
      surprise: 0.25,
      predictions: [
        { h: 10, pose: bin(pose) },
        { h: 30, uncertainty: 0.5 },
      ],
    };
    const packer = new Packr({ useRecords: false, mapsAsObjects: true, moreTypes: false, bundleStrings: false, structuredClone: false });
    expect(new Uint8Array(encodeServerMessage(fb as never))).toEqual(new Uint8Array(packer.pack(expected)));
    expect(fb.metrics).toBe(metrics);
    expect(fb.joints).toBe(joints);
    expect(Object.keys(fb.predictions[0]!)).toEqual(['h', 'uncertainty', 'pose']);
  });

  it('subscribe parses to exactly one target', () => {
    expect(unwrap(decodeClientMessage(encodeClientMessage({ type: 'subscribe', sessionId: 's-1' }), 'live'))).toEqual({ type: 'subscribe', sessionId: 's-1' });
    expect(unwrap(decodeClientMessage(encodeClientMessage({ type: 'unsubscribe', clinic: 'c-1' }), 'live'))).toEqual({ type: 'unsubscribe', clinic: 'c-1' });
  });
});

describe('codec errors', () => {
  const err = (bytes: Uint8Array, channel: 'ingest' | 'live' = 'ingest', maxBytes?: number) => {
    const r = decodeClientMessage(bytes, channel, maxBytes === undefined ? {} : { maxBytes });
    if (r.ok) throw new Error('expected a rejection');
    return r.error;
  };

  it('NOT_MSGPACK for garbage, truncation, empty input and trailing bytes', () => {
    expect(err(new TextEncoder().encode('{"type":"hello"}')).code).toBe(ErrorCode.NOT_MSGPACK);
    const whole = encodeClientMessage(fx.frame());
    expect(err(whole.subarray(0, whole.length - 3)).code).toBe(ErrorCode.NOT_MSGPACK);
    expect(err(new Uint8Array(0)).code).toBe(ErrorCode.NOT_MSGPACK);
    expect(err(new Uint8Array([...encodeClientMessage(fx.end()), 0xc0])).code).toBe(ErrorCode.NOT_MSGPACK);
  });

  it('MESSAGE_TOO_LARGE before decoding', () => {
    expect(err(encodeClientMessage(fx.frame()), 'ingest', 100)).toEqual({ code: ErrorCode.MESSAGE_TOO_LARGE, message: expect.stringContaining('limit 100') });
  });

  it('INVALID_MESSAGE for a non-map, UNKNOWN_TYPE for a missing or foreign type', () => {
    expect(err(plain.pack([1, 2])).code).toBe(ErrorCode.INVALID_MESSAGE);
    expect(err(plain.pack({ seq: 1 })).code).toBe(ErrorCode.UNKNOWN_TYPE);
    const foreign = err(encodeClientMessage({ type: 'subscribe', clinic: 'c-1' }), 'ingest');
    expect(foreign.code).toBe(ErrorCode.UNKNOWN_TYPE);
    expect(foreign.message).toContain('expected hello, env, frame, end');
    expect(err(plain.pack({ type: 'constructor' })).code).toBe(ErrorCode.UNKNOWN_TYPE);
    expect(err(plain.pack({ type: '__proto__' })).code).toBe(ErrorCode.UNKNOWN_TYPE);
    expect(err(plain.pack({ type: 'frame' }), 'live').code).toBe(ErrorCode.UNKNOWN_TYPE);
  });

  it('JOINT_COUNT for a bin of the wrong length, with the seq of the frame', () => {
    const e = err(wireFrame({ joints: new Uint8Array(90 * 12) }));
    expect(e).toEqual({ code: ErrorCode.JOINT_COUNT, message: 'frame.joints: joints must be 273 float32 (1092 bytes), got 1080 bytes', seq: 812 });
    expect(err(wireFrame({ anchor: new Uint8Array(60) })).code).toBe(ErrorCode.JOINT_COUNT);
    expect(err(wireFrame({ tracked: new Uint8Array(90) })).code).toBe(ErrorCode.JOINT_COUNT);
  });

  it('NON_FINITE for a NaN or infinite scalar', () => {
    expect(err(wireFrame({ t: NaN }))).toMatchObject({ code: ErrorCode.NON_FINITE, message: expect.stringContaining('frame.t') });
    expect(err(wireFrame({ t: Infinity })).code).toBe(ErrorCode.NON_FINITE);
  });

  it('UNSUPPORTED_PROTOCOL for hello.protocol 2, INVALID_MESSAGE when it is missing', () => {
    expect(err(encodeClientMessage({ ...fx.hello(), protocol: 2 } as never)).code).toBe(ErrorCode.UNSUPPORTED_PROTOCOL);
    const { protocol: _p, ...noProtocol } = fx.hello();
    expect(err(encodeClientMessage(noProtocol as never)).code).toBe(ErrorCode.INVALID_MESSAGE);
  });

  it('INVALID_MESSAGE names the field path', () => {
    const e = err(encodeClientMessage({ ...fx.hello(), device: { model: 'iPad', os: 7 } } as never));
    expect(e.code).toBe(ErrorCode.INVALID_MESSAGE);
    expect(e.message).toMatch(/^hello\.device\.os: /);
    expect(err(plain.pack({ type: 'frame', seq: -1, t: 1, anchor: new Uint8Array(64), joints: new Uint8Array(1092) })).message).toMatch(/^frame\.seq: /);
    expect(err(wireFrame({ joints: [1, 2, 3] })).message).toMatch(/^frame\.joints: expected binary/);
  });

  it('unknown fields are ignored (forward compatible)', () => {
    expect(unwrap(decodeClientMessage(plain.pack({ ...fx.end(), futureField: 1 }), 'ingest'))).toEqual({ type: 'end' });
  });

  it('unwrap throws a ProtocolError with the code and seq', () => {
    const r = decodeClientMessage(wireFrame({ joints: new Uint8Array(4) }), 'ingest');
    expect(() => unwrap(r)).toThrow(ProtocolError);
    try {
      unwrap(r);
    } catch (e) {
      expect(e).toMatchObject({ name: 'ProtocolError', code: ErrorCode.JOINT_COUNT, seq: 812 });
      expect((e as ProtocolError).toMessage()).toMatchObject({ type: 'error', code: 'JOINT_COUNT', seq: 812 });
    }
  });
});

describe('frame decoding without the schema (the per-frame fast path)', () => {
  const tf = bytesOf(fx.jointTransforms());
  const tracked = new Uint8Array(91).fill(1);
  const variants: Record<string, Record<string, unknown>> = {
    joints: {},
    'jointTransforms instead': { joints: undefined, jointTransforms: tf },
    'tracked flags': { tracked },
    'seq 0, t 0': { seq: 0, t: 0 },
    'seq -0': { seq: -0 },
    'unknown extra key (stripped by the schema)': { note: 'x' },
    'seq negative': { seq: -1 },
    'seq fractional': { seq: 1.5 },
    'seq beyond safe integers': { seq: 2 ** 53 },
    't negative': { t: -1 },
    't NaN': { t: NaN },
    't infinite': { t: Infinity },
    't string': { t: '1' },
    'anchor short': { anchor: new Uint8Array(60) },
    'anchor as array': { anchor: Array.from(fx.identityAnchor()) },
    'joints short': { joints: new Uint8Array(91 * 12 - 4) },
    'joints and jointTransforms': { jointTransforms: tf },
    neither: { joints: undefined },
    'tracked with a 2': { tracked: new Uint8Array(91).fill(2, 5, 6) },
    'tracked short': { tracked: new Uint8Array(90) },
  };
  it.each(Object.entries(variants))('%s: the same result as the Frame schema', (_name, over) => {
    const bytes = wireFrame(Object.fromEntries(Object.entries(over).filter(([, v]) => v !== undefined)));
    const raw = plain.unpack(bytes) as Record<string, unknown>;
    for (const [k, v] of Object.entries(over)) if (v === undefined) delete raw[k];
    const reference = Frame.safeParse(raw);
    const r = decodeClientMessage(plain.pack(raw), 'ingest');
    expect(r.ok).toBe(reference.success);
    if (r.ok && reference.success) {
      expect(r.message).toEqual(reference.data);
      expect(Object.keys(r.message).sort()).toEqual(Object.keys(reference.data).sort());
    }
  });
});

describe("feedback decoding without the schema (the SDK's per-frame fast path)", () => {
  const pose = bytesOf(Float32Array.from({ length: 60 }, (_, i) => (i === 7 ? NaN : i / 10)));
  const metrics = Object.fromEntries(Array.from({ length: 40 }, (_, i) => [`metric_${i}`, i * 1.5]));
  const base: Record<string, unknown> = {
    type: 'feedback',
    seq: 812,
    t: 13.5,
    phase: 'stance',
    contacts: { left: true, right: false },
    metrics,
    joints: pose,
    uncertainty: 0.1,
    surprise: 0.2,
    predictions: [1, 5, 10, 30].map((h) => ({ h, uncertainty: 0.1, pose })),
  };
  const many = (n: number) => Object.fromEntries(Array.from({ length: n }, (_, i) => [`m${i}`, i]));
  const variants: Record<string, Record<string, unknown>> = {
    'as the server sends it': {},
    'shed, no predictions, no joints': { shed: true, predictions: [], joints: undefined, uncertainty: null, surprise: null },
    'predictions without pose or uncertainty': { predictions: [{ h: 1 }, { h: 600, uncertainty: 0 }] },
    'no metrics': { metrics: {} },
    'a metric named constructor': { metrics: { constructor: 1 } },
    'exactly 64 metrics': { metrics: many(64) },
    'seq 0, t negative (device clock)': { seq: 0, t: -2.5 },
    'unknown extra key (stripped by the schema)': { note: 'x' },
    'extra key in contacts': { contacts: { left: true, right: false, both: false } },
    'extra key in a prediction': { predictions: [{ h: 1, z: 1 }] },
    'seq negative': { seq: -1 },
    'seq fractional': { seq: 1.5 },
    't NaN': { t: NaN },
    't infinite': { t: Infinity },
    'phase empty': { phase: '' },
    'phase of 65 characters': { phase: 'p'.repeat(65) },
    'phase a number': { phase: 3 },
    'contacts.left not a boolean': { contacts: { left: 1, right: false } },
    'contacts missing': { contacts: undefined },
    'metric name starting with a digit': { metrics: { '1abc': 1 } },
    'metric name with a dash': { metrics: { 'a-b': 1 } },
    'metric name of 65 characters': { metrics: { ['a'.repeat(65)]: 1 } },
    'metric NaN': { metrics: { a: NaN } },
    'metric a string': { metrics: { a: '1' } },
    '65 metrics': { metrics: many(65) },
    'metrics an array': { metrics: [1, 2] },
    'joints short': { joints: new Uint8Array(236) },
    'joints as an array': { joints: Array.from({ length: 60 }, () => 0) },
    'uncertainty negative': { uncertainty: -0.1 },
    'uncertainty missing': { uncertainty: undefined },
    'surprise a string': { surprise: '0.2' },
    '17 predictions': { predictions: Array.from({ length: 17 }, (_, i) => ({ h: i + 1 })) },
    'predictions not an array': { predictions: { h: 1 } },
    'horizon 0': { predictions: [{ h: 0 }] },
    'horizon 601': { predictions: [{ h: 601 }] },
    'horizon fractional': { predictions: [{ h: 1.5 }] },
    'prediction uncertainty negative': { predictions: [{ h: 1, uncertainty: -1 }] },
    'prediction pose short': { predictions: [{ h: 1, pose: new Uint8Array(8) }] },
    'shed a string': { shed: 'yes' },
  };
  it.each(Object.entries(variants))('%s: the same result as the Feedback schema', (_name, over) => {
    const raw: Record<string, unknown> = { ...base, ...over };
    for (const [k, v] of Object.entries(over)) if (v === undefined) delete raw[k];
    const reference = Feedback.safeParse(plain.unpack(plain.pack(raw)));
    const r = decodeServerMessage(plain.pack(raw), 'ingest');
    expect(r.ok).toBe(reference.success);
    if (r.ok && reference.success) {
      expect(r.message).toEqual(reference.data);
      expect(Object.keys(r.message).sort()).toEqual(Object.keys(reference.data).sort());
      const m = r.message as Feedback;
      m.predictions.forEach((p, i) => expect(Object.keys(p).sort(), `prediction ${i}`).toEqual(Object.keys(reference.data.predictions[i]!).sort()));
      if (m.joints) expect(m.joints).toBeInstanceOf(Float32Array);
    }
    if (!r.ok && !reference.success) expect(r.error.code).toBeDefined();
    // The fast path itself: it answers every message the schema passes unchanged, and none it refuses.
    const fast = wellFormedFeedback(plain.unpack(plain.pack(raw)) as Record<string, unknown>);
    if (!reference.success || /extra key/.test(_name)) expect(fast).toBeUndefined();
    else expect(fast).toEqual(reference.data);
  });
});
