// A tiny MessagePack codec for the k6 script (k6 cannot import npm packages). Covers what protocol v1
// uses: maps with string keys, strings, integers, float64, booleans, nil, arrays and bin (Uint8Array).
// Tested against src/protocol's msgpackr codec in test/loadtest/k6-msgpack.test.ts.

const utf8 = (s) => {
  const out = [];
  for (let i = 0; i < s.length; i++) {
    let c = s.charCodeAt(i);
    if (c >= 0xd800 && c <= 0xdbff && i + 1 < s.length) c = 0x10000 + ((c - 0xd800) << 10) + (s.charCodeAt(++i) - 0xdc00);
    if (c < 0x80) out.push(c);
    else if (c < 0x800) out.push(0xc0 | (c >> 6), 0x80 | (c & 63));
    else if (c < 0x10000) out.push(0xe0 | (c >> 12), 0x80 | ((c >> 6) & 63), 0x80 | (c & 63));
    else out.push(0xf0 | (c >> 18), 0x80 | ((c >> 12) & 63), 0x80 | ((c >> 6) & 63), 0x80 | (c & 63));
  }
  return out;
};

function write(v, out) {
  if (v === null || v === undefined) return out.push(0xc0);
  if (v === true) return out.push(0xc3);
  if (v === false) return out.push(0xc2);
  if (typeof v === 'number') {
    if (Number.isInteger(v) && v >= 0 && v < 2 ** 32) {
      if (v < 128) return out.push(v);
      if (v < 256) return out.push(0xcc, v);
      if (v < 65536) return out.push(0xcd, v >> 8, v & 255);
      return out.push(0xce, (v >>> 24) & 255, (v >>> 16) & 255, (v >>> 8) & 255, v & 255);
    }
    const b = new Uint8Array(8);
    new DataView(b.buffer).setFloat64(0, v);
    out.push(0xcb);
    for (const x of b) out.push(x);
    return;
  }
  if (typeof v === 'string') {
    const bytes = utf8(v);
    const n = bytes.length;
    if (n < 32) out.push(0xa0 | n);
    else if (n < 256) out.push(0xd9, n);
    else out.push(0xda, n >> 8, n & 255);
    for (const x of bytes) out.push(x);
    return;
  }
  if (v instanceof Uint8Array) {
    const n = v.length;
    if (n < 256) out.push(0xc4, n);
    else if (n < 65536) out.push(0xc5, n >> 8, n & 255);
    else out.push(0xc6, (n >>> 24) & 255, (n >>> 16) & 255, (n >>> 8) & 255, n & 255);
    for (const x of v) out.push(x);
    return;
  }
  if (Array.isArray(v)) {
    if (v.length < 16) out.push(0x90 | v.length);
    else out.push(0xdc, v.length >> 8, v.length & 255);
    for (const x of v) write(x, out);
    return;
  }
  const keys = Object.keys(v).filter((k) => v[k] !== undefined);
  if (keys.length < 16) out.push(0x80 | keys.length);
  else out.push(0xde, keys.length >> 8, keys.length & 255);
  for (const k of keys) {
    write(k, out);
    write(v[k], out);
  }
}

/** Encodes a protocol message (plain object) to msgpack bytes. */
export function encode(value) {
  const out = [];
  write(value, out);
  return new Uint8Array(out);
}

/** Decodes one msgpack value from bytes (Uint8Array or ArrayBuffer). Throws on unsupported types. */
export function decode(input) {
  const b = input instanceof Uint8Array ? input : new Uint8Array(input);
  const dv = new DataView(b.buffer, b.byteOffset, b.byteLength);
  let p = 0;
  const str = (n) => {
    let s = '';
    const end = p + n;
    while (p < end) {
      const c = b[p++];
      if (c < 0x80) s += String.fromCharCode(c);
      else if (c < 0xe0) s += String.fromCharCode(((c & 31) << 6) | (b[p++] & 63));
      else if (c < 0xf0) s += String.fromCharCode(((c & 15) << 12) | ((b[p++] & 63) << 6) | (b[p++] & 63));
      else {
        const cp = ((c & 7) << 18) | ((b[p++] & 63) << 12) | ((b[p++] & 63) << 6) | (b[p++] & 63);
        s += String.fromCodePoint(cp);
      }
    }
    return s;
  };
  const map = (n) => {
    const o = {};
    for (let i = 0; i < n; i++) {
      const k = read();
      o[k] = read();
    }
    return o;
  };
  const arr = (n) => Array.from({ length: n }, () => read());
  const bin = (n) => {
    // A copy (not a view: Node's Buffer#slice shares memory), so callers may take `.buffer`.
    const v = new Uint8Array(b.subarray(p, p + n));
    p += n;
    return v;
  };
  function read() {
    const t = b[p++];
    if (t < 0x80) return t;
    if (t >= 0xe0) return t - 256;
    if ((t & 0xf0) === 0x80) return map(t & 15);
    if ((t & 0xf0) === 0x90) return arr(t & 15);
    if ((t & 0xe0) === 0xa0) return str(t & 31);
    const u8 = () => b[p++];
    const u16 = () => ((p += 2), dv.getUint16(p - 2));
    const u32 = () => ((p += 4), dv.getUint32(p - 4));
    switch (t) {
      case 0xc0:
        return null;
      case 0xc2:
        return false;
      case 0xc3:
        return true;
      case 0xc4:
        return bin(u8());
      case 0xc5:
        return bin(u16());
      case 0xc6:
        return bin(u32());
      case 0xca:
        return ((p += 4), dv.getFloat32(p - 4));
      case 0xcb:
        return ((p += 8), dv.getFloat64(p - 8));
      case 0xcc:
        return u8();
      case 0xcd:
        return u16();
      case 0xce:
        return u32();
      case 0xcf:
        return ((p += 8), Number(dv.getBigUint64(p - 8)));
      case 0xd0:
        return ((p += 1), dv.getInt8(p - 1));
      case 0xd1:
        return ((p += 2), dv.getInt16(p - 2));
      case 0xd2:
        return ((p += 4), dv.getInt32(p - 4));
      case 0xd3:
        return ((p += 8), Number(dv.getBigInt64(p - 8)));
      case 0xd9:
        return str(u8());
      case 0xda:
        return str(u16());
      case 0xdb:
        return str(u32());
      case 0xdc:
        return arr(u16());
      case 0xdd:
        return arr(u32());
      case 0xde:
        return map(u16());
      case 0xdf:
        return map(u32());
      default:
        throw new Error(`msgpack type 0x${t.toString(16)} not supported`);
    }
  }
  return read();
}
