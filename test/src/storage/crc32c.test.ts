import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { crc32c } from '../../../src/storage/crc32c.js';

// Bit-at-a-time reference, independent of the table code under test.
function reference(bytes: Uint8Array): number {
  let c = 0xffffffff;
  for (const b of bytes) {
    c ^= b;
    for (let k = 0; k < 8; k++) c = c & 1 ? (c >>> 1) ^ 0x82f63b78 : c >>> 1;
  }
  return ~c >>> 0;
}

describe('crc32c', () => {
  it('matches the published check values', () => {
    expect(crc32c(new TextEncoder().encode('123456789'))).toBe(0xe3069283);
    expect(crc32c(new Uint8Array(0))).toBe(0);
    expect(crc32c(new Uint8Array(32))).toBe(0x8a9136aa); // RFC 3720 B.4: 32 bytes of zeros
    expect(crc32c(new Uint8Array(32).fill(0xff))).toBe(0x62a8ab43);
  });

  it('agrees with the bitwise reference and composes over pieces', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 300 }), fc.nat(300), (bytes, cut) => {
        const k = Math.min(cut, bytes.length);
        expect(crc32c(bytes)).toBe(reference(bytes));
        expect(crc32c(bytes.subarray(k), crc32c(bytes.subarray(0, k)))).toBe(crc32c(bytes));
      }),
    );
  });
});
