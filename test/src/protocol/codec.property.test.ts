// Whatever arrives on the socket, the decoder answers with a result, never an exception.
import fc from 'fast-check';
import { Packr } from 'msgpackr';
import { describe, expect, it } from 'vitest';
import { ERROR_CODES, decodeClientMessage, decodeServerMessage, encodeClientMessage, encodeServerMessage, type Frame } from '../../../src/protocol/index.js';
import * as fx from './fixtures.js';

const plain = new Packr({ useRecords: false, moreTypes: false });
const RUNS = { numRuns: 400, seed: 20261124 };

function decodesSafely(bytes: Uint8Array): void {
  for (const channel of ['ingest', 'live'] as const) {
    const a = decodeClientMessage(bytes, channel);
    const b = decodeServerMessage(bytes, channel);
    for (const r of [a, b]) {
      if (!r.ok) {
        expect(ERROR_CODES).toContain(r.error.code);
        expect(typeof r.error.message).toBe('string');
        expect(r.error.message.length).toBeLessThanOrEqual(1024);
      }
    }
  }
}

const validMessages = [fx.hello(), fx.env(), fx.frame(), fx.end()].map((m) => plain.unpack(encodeClientMessage(m)) as Record<string, unknown>);
const anyValue = fc.oneof(
  fc.constant(undefined),
  fc.constant(null),
  fc.boolean(),
  fc.double(),
  fc.integer(),
  fc.bigInt({ min: -(2n ** 63n), max: 2n ** 64n - 1n }),
  fc.string(),
  fc.uint8Array({ maxLength: 64 }),
  fc.array(fc.integer(), { maxLength: 4 }),
  fc.dictionary(fc.string(), fc.integer()),
);

describe('decoder never throws', () => {
  it('random bytes', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 256 }), (bytes) => decodesSafely(bytes)),
      RUNS,
    );
  });

  it('random msgpack values', () => {
    fc.assert(
      fc.property(fc.anything({ withBigInt: true, withTypedArray: true, withNullPrototype: true }), (v) => {
        let bytes: Uint8Array;
        try {
          bytes = plain.pack(v);
        } catch {
          return; // not encodable by msgpackr: not something a client can send
        }
        decodesSafely(bytes);
      }),
      RUNS,
    );
  });

  it('valid messages with a field replaced, removed or added', () => {
    fc.assert(
      fc.property(fc.constantFrom(...validMessages), fc.string(), anyValue, fc.boolean(), (msg, key, value, useExisting) => {
        const keys = Object.keys(msg);
        const field = useExisting ? keys[Math.abs(key.length) % keys.length]! : key;
        decodesSafely(plain.pack({ ...msg, [field]: value }));
      }),
      RUNS,
    );
  });

  it('valid frames with truncated or extended bins', () => {
    const base = validMessages[2]!;
    fc.assert(
      fc.property(fc.constantFrom('anchor', 'joints', 'tracked'), fc.integer({ min: 0, max: 2000 }), (field, len) => {
        const r = decodeClientMessage(plain.pack({ ...base, [field]: new Uint8Array(len) }), 'ingest');
        const expectedLen = field === 'anchor' ? 64 : field === 'joints' ? 1092 : 91;
        expect(r.ok).toBe(len === expectedLen);
        if (!r.ok) expect(r.error.code).toBe('JOINT_COUNT');
      }),
      RUNS,
    );
  });

  it('encoded frames truncated anywhere or with a flipped byte', () => {
    const bytes = encodeClientMessage(fx.frame());
    fc.assert(
      fc.property(fc.nat({ max: bytes.length - 1 }), fc.integer({ min: 1, max: 255 }), fc.boolean(), (i, x, truncate) => {
        const mutated = truncate ? bytes.slice(0, i) : bytes.slice();
        if (!truncate) mutated[i]! ^= x;
        decodesSafely(mutated);
      }),
      RUNS,
    );
  });
});

describe('round trip property', () => {
  it('any finite-length frame content survives encode → decode bit-exactly', () => {
    const floats = (n: number) => fc.uint32Array({ minLength: n, maxLength: n }).map((u) => new Float32Array(u.buffer));
    fc.assert(
      fc.property(fc.nat(), fc.double({ min: 0, max: 1e6, noNaN: true }), floats(16), floats(273), (seq, t, anchor, joints) => {
        const f: Frame = { type: 'frame', seq, t, anchor, joints };
        const r = decodeClientMessage(encodeClientMessage(f), 'ingest');
        if (!r.ok || r.message.type !== 'frame') throw new Error(JSON.stringify(r));
        expect(new Uint32Array(r.message.joints!.buffer)).toEqual(new Uint32Array(joints.buffer));
        expect(new Uint32Array(r.message.anchor.buffer)).toEqual(new Uint32Array(anchor.buffer));
        expect([r.message.seq, r.message.t]).toEqual([seq, t]);
      }),
      { numRuns: 200, seed: 7 },
    );
  });

  // Scalars keep their value exactly; only the sign of zero is lost (msgpack encodes -0 as integer 0).
  it('feedback metrics survive exactly (up to the sign of zero)', () => {
    fc.assert(
      fc.property(
        fc.dictionary(fc.stringMatching(/^[A-Za-z][A-Za-z0-9_]{0,20}$/), fc.double({ noNaN: true, noDefaultInfinity: true }), { maxKeys: 10 }),
        (metrics) => {
          const m = { ...fx.feedback(), metrics };
          const r = decodeServerMessage(encodeServerMessage(m), 'ingest');
          const zeroSigned = Object.fromEntries(Object.entries(metrics).map(([k, v]) => [k, v === 0 ? 0 : v]));
          expect(r).toEqual({ ok: true, message: { ...m, metrics: zeroSigned } });
        },
      ),
      { numRuns: 200, seed: 11 },
    );
  });
});
