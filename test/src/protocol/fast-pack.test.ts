// The codec's own msgpack writer must write exactly what msgpackr writes (after toWire) for every
// message of the protocol and every edge of each msgpack type, and hand back to msgpackr what it does not know.
import { Packr } from 'msgpackr';
import { describe, expect, it } from 'vitest';
import { encodeServerMessage, encodeWithMsgpackr } from '../../../src/protocol/codec.js';
import { FastPacker } from '../../../src/protocol/fast-pack.js';
import * as fx from './fixtures.js';

const packer = new FastPacker();
const same = (m: object) => {
  const fast = packer.pack(m);
  expect(fast).not.toBeNull();
  expect(Buffer.from(fast!).toString('hex')).toBe(Buffer.from(encodeWithMsgpackr(m)).toString('hex'));
};

describe('FastPacker', () => {
  const messages: Record<string, object> = {
    frame: fx.frame(),
    frameTransforms: { ...fx.frame(), joints: undefined, jointTransforms: fx.jointTransforms(), tracked: new Uint8Array(91).fill(1) },
    hello: fx.hello(),
    env: fx.env(),
    end: fx.end(),
    ready: fx.ready(),
    feedback: fx.feedback(),
    ack: fx.ack(),
    ended: fx.ended(),
    error: fx.errorMessage(),
    update: fx.update(),
    snapshot: fx.snapshot(),
    sessionStarted: fx.sessionStarted(),
    sessionEnded: fx.sessionEnded(),
  };
  it.each(Object.entries(messages))('writes msgpackr’s bytes for %s', (_name, m) => same(m));

  it('writes msgpackr’s bytes at every integer, float, string, bin, array and map width', () => {
    const ints = [
      0,
      1,
      31,
      32,
      127,
      128,
      255,
      256,
      65535,
      65536,
      2 ** 32 - 1,
      2 ** 32,
      2 ** 53 - 1,
      -1,
      -32,
      -33,
      -128,
      -129,
      -32768,
      -32769,
      -(2 ** 31),
      -(2 ** 31) - 1,
    ];
    const floats = [0.5, -0.5, 1e-300, 1e300, NaN, Infinity, -Infinity, -0, Math.PI];
    const strings = ['', 'a', 'x'.repeat(31), 'x'.repeat(32), 'x'.repeat(63), 'x'.repeat(64), 'x'.repeat(255), 'x'.repeat(256), 'x'.repeat(70_000)];
    const unicode = ['é', '€', '😀', 'κνήμη', 'a\ud800b', 'é'.repeat(20), '😀'.repeat(20), 'é'.repeat(200)];
    const bins = [0, 1, 255, 256, 65535, 65536].map((n) => new Uint8Array(n).map((_, i) => i & 0xff));
    const arrays = [0, 15, 16, 65535, 65536].map((n) => Array.from({ length: n }, (_, i) => i % 3));
    const maps = [0, 15, 16, 300].map((n) => Object.fromEntries(Array.from({ length: n }, (_, i) => [`k${i}`, i])));
    same({ ints, floats, strings, unicode, bins, arrays, maps });
    same({ f32: new Float32Array([1.5, NaN, -0, 3e38]), sub: new Float32Array(8).subarray(2, 5), nested: [[{ a: null, b: true, c: false }]] });
    same({ nil: [null], skip: undefined, keep: 1 });
  });

  it('returns null for values msgpackr writes as extensions (the codec then uses msgpackr)', () => {
    for (const v of [
      { hole: [undefined] },
      { m: new Map([[1, 2]]) },
      { d: new Date(0) },
      { b: 1n },
      { c: new (class A {})() },
      { n: Object.create(null) as object },
    ]) {
      expect(packer.pack(v)).toBeNull();
    }
    // The codec still encodes such a message, through msgpackr.
    const withMap = { ...fx.ack(), extra: new Map([[1, 2]]) };
    expect(new Packr({ useRecords: false, mapsAsObjects: true }).unpack(encodeServerMessage(withMap as never))).toMatchObject({ type: 'ack', seq: 800 });
  });

  it('hands back a fresh array each time (a later message does not overwrite an earlier one)', () => {
    const a = packer.pack(fx.feedback())!;
    const copy = a.slice();
    packer.pack({ ...fx.feedback(), seq: 999, metrics: { x: 1, y: 2 } });
    expect(a).toEqual(copy);
  });
});
