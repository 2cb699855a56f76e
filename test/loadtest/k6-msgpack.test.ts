// The k6 script's vendored msgpack codec must speak exactly what src/protocol speaks.
import { describe, expect, it } from 'vitest';
import { decodeClientMessage, encodeServerMessage, type Feedback, type Frame } from '../../src/protocol/index.js';
import { frameTemplate, FRAME_BYTES } from '../../loadtest/k6/make-frames.js';
import { hasMotionData, motion } from '../helpers/motion-data.js';

interface TinyMsgpack {
  encode(v: unknown): Uint8Array;
  decode(b: Uint8Array | ArrayBuffer): unknown;
}
const load = async (): Promise<TinyMsgpack> => {
  const path = '../../loadtest/k6/msgpack.js';
  return (await import(path)) as TinyMsgpack;
};

describe('k6 msgpack codec', () => {
  it('encodes hello/frame/end that the server decoder accepts, bit-exact floats', async () => {
    const { encode } = await load();
    const hello = decodeClientMessage(
      encode({ type: 'hello', protocol: 1, patientId: 'p1', assessment: 'gait', fps: 60, skeleton: 'arkit91', device: { model: 'k6', os: 'k6 — ünïcode ✓' } }),
      'ingest',
    );
    expect(hello.ok && hello.message.type === 'hello' && hello.message.device.os).toBe('k6 — ünïcode ✓');
    const joints = new Float32Array(273).map((_, i) => Math.sin(i) * 1.5);
    const anchor = new Float32Array([1, 0, 0, 0, 0, 1, 0, 0, 0, 0, 1, 0, 0.5, 0.9, -2, 1]);
    const r = decodeClientMessage(
      encode({ type: 'frame', seq: 70000, t: 100.0166666, anchor: new Uint8Array(anchor.buffer), joints: new Uint8Array(joints.buffer) }),
      'ingest',
    );
    expect(r.ok).toBe(true);
    const f = (r.ok ? r.message : undefined) as Frame;
    expect(f.seq).toBe(70000);
    expect(f.t).toBe(100.0166666);
    expect([...(f.joints ?? [])]).toEqual([...joints]);
    expect(decodeClientMessage(encode({ type: 'end' }), 'ingest').ok).toBe(true);
  });

  it('decodes what the server encodes (feedback with nulls, nested maps, bins, negatives)', async () => {
    const { decode } = await load();
    const fb: Feedback = {
      type: 'feedback',
      seq: 123456,
      t: 101.5,
      phase: 'stance',
      contacts: { left: true, right: false },
      metrics: { cadence_spm: 112.5, steps: 300, offset: -3 },
      uncertainty: 0.0123,
      surprise: null,
      predictions: [{ h: 1, pose: new Float32Array(60).fill(-0.25) }],
    };
    const m = decode(encodeServerMessage(fb)) as Record<string, unknown>;
    expect(m).toMatchObject({
      type: 'feedback',
      seq: 123456,
      t: 101.5,
      phase: 'stance',
      contacts: { left: true, right: false },
      metrics: { cadence_spm: 112.5, steps: 300, offset: -3 },
      uncertainty: 0.0123,
      surprise: null,
    });
    const pose = (m.predictions as { h: number; pose: Uint8Array }[])[0];
    expect(pose?.h).toBe(1);
    expect([...new Float32Array(pose?.pose.slice().buffer ?? new ArrayBuffer(0))]).toEqual(new Array(60).fill(-0.25));
  });

  it.skipIf(!hasMotionData)('frame template: header, per-frame layout, decodable as frames', async () => {
    const bytes = await frameTemplate(motion('opensim-gait', 'subject01_walk1.trc'));
    const dv = new DataView(bytes.buffer);
    const n = dv.getUint32(0, true);
    expect(n).toBe(151);
    expect(dv.getFloat32(4, true)).toBe(60);
    expect(bytes.byteLength).toBe(8 + n * FRAME_BYTES);
    expect(dv.getFloat64(8 + 10 * FRAME_BYTES, true)).toBeCloseTo(10 / 60, 6);
    const { encode } = await load();
    const o = 8 + 10 * FRAME_BYTES;
    const r = decodeClientMessage(
      encode({ type: 'frame', seq: 10, t: 1, anchor: bytes.slice(o + 8, o + 72), joints: bytes.slice(o + 72, o + 1164) }),
      'ingest',
    );
    expect(r.ok).toBe(true);
  });
});
