// The codec's msgpack writer for what the server sends every frame (feedback, ack, live updates) and
// for every other message of the protocol: the bytes msgpackr writes with the codec's options for the
// message after `toWire` (codec.ts), written without the intermediate copy `toWire` makes (Float32Array
// → bin view, objects without their undefined keys) and with each map key's UTF-8 encoded once.
// test/src/protocol/fast-pack.test.ts checks byte identity with msgpackr on every message shape the
// protocol has and on the edge cases of each msgpack type; a value it does not know (a Map, a class
// instance, a BigInt) makes it return null, and the codec falls back to msgpackr.
const hostIsLittleEndian = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;
/** Encoded map keys; the protocol's keys are a few dozen, so the bound is never reached by them. */
const MAX_CACHED_KEYS = 4096;
/** Longest string msgpackr encodes by hand (above it uses Buffer's UTF-8 encoder: lone surrogates differ). */
const HAND_ENCODED_MAX = 0x40;

class Unsupported extends Error {}
const utf8 = new TextEncoder();

export class FastPacker {
  private buf = new Uint8Array(4096);
  private view = new DataView(this.buf.buffer);
  private pos = 0;
  private readonly keys = new Map<string, Uint8Array>();

  /** The message's msgpack bytes (a fresh array), or null when it holds a value this writer does not know. */
  pack(message: unknown): Uint8Array | null {
    if (!hostIsLittleEndian) return null;
    this.pos = 0;
    try {
      this.value(message);
    } catch (e) {
      if (e instanceof Unsupported) return null;
      throw e;
    }
    return this.buf.slice(0, this.pos);
  }

  private room(n: number): void {
    if (this.pos + n <= this.buf.length) return;
    let size = this.buf.length * 2;
    while (size < this.pos + n) size *= 2;
    const next = new Uint8Array(size);
    next.set(this.buf.subarray(0, this.pos));
    this.buf = next;
    this.view = new DataView(next.buffer);
  }

  private value(v: unknown): void {
    switch (typeof v) {
      case 'number':
        return this.number(v);
      case 'string':
        return this.string(v);
      case 'boolean':
        this.room(1);
        this.buf[this.pos++] = v ? 0xc3 : 0xc2;
        return;
      case 'object':
        if (v === null) {
          this.room(1);
          this.buf[this.pos++] = 0xc0;
          return;
        }
        if (v instanceof Float32Array || v instanceof Uint8Array) return this.bin(v);
        if (Array.isArray(v)) return this.array(v);
        if (Object.getPrototypeOf(v) === Object.prototype) return this.map(v as Record<string, unknown>);
        throw new Unsupported();
      default:
        // undefined (msgpackr writes an undefined array element as an extension, fixext 0), bigint,
        // symbol, function: left to msgpackr.
        throw new Unsupported();
    }
  }

  private number(v: number): void {
    this.room(9);
    const b = this.buf;
    if (v >>> 0 === v) {
      if (v < 0x80) b[this.pos++] = v;
      else this.sized(v, 0xcc, 0xcd, 0xce);
    } else if (v >> 0 === v) {
      if (v >= -0x20) b[this.pos++] = 0x100 + v;
      else if (v >= -0x80) {
        b[this.pos++] = 0xd0;
        b[this.pos++] = v + 0x100;
      } else if (v >= -0x8000) {
        b[this.pos++] = 0xd1;
        this.view.setInt16(this.pos, v);
        this.pos += 2;
      } else {
        b[this.pos++] = 0xd2;
        this.view.setInt32(this.pos, v);
        this.pos += 4;
      }
    } else {
      b[this.pos++] = 0xcb;
      this.view.setFloat64(this.pos, v);
      this.pos += 8;
    }
  }

  private string(s: string): void {
    if (s.length < HAND_ENCODED_MAX) {
      this.room(2 + s.length * 3);
      const start = this.pos;
      // Header sized for the worst case, moved down once the length is known (as msgpackr does).
      const header = s.length < 0x20 ? 1 : 2;
      let p = start + header;
      const b = this.buf;
      for (let i = 0; i < s.length; i++) {
        let c = s.charCodeAt(i);
        if (c < 0x80) b[p++] = c;
        else if (c < 0x800) {
          b[p++] = (c >> 6) | 0xc0;
          b[p++] = (c & 0x3f) | 0x80;
        } else if ((c & 0xfc00) === 0xd800 && (s.charCodeAt(i + 1) & 0xfc00) === 0xdc00) {
          c = 0x10000 + ((c & 0x03ff) << 10) + (s.charCodeAt(i + 1) & 0x03ff);
          i++;
          b[p++] = (c >> 18) | 0xf0;
          b[p++] = ((c >> 12) & 0x3f) | 0x80;
          b[p++] = ((c >> 6) & 0x3f) | 0x80;
          b[p++] = (c & 0x3f) | 0x80;
        } else {
          b[p++] = (c >> 12) | 0xe0;
          b[p++] = ((c >> 6) & 0x3f) | 0x80;
          b[p++] = (c & 0x3f) | 0x80;
        }
      }
      const length = p - start - header;
      if (length < 0x20) {
        if (header !== 1) b.copyWithin(start + 1, start + header, p);
        b[start] = 0xa0 | length;
        this.pos = start + 1 + length;
      } else {
        if (header !== 2) b.copyWithin(start + 2, start + header, p);
        b[start] = 0xd9;
        b[start + 1] = length;
        this.pos = start + 2 + length;
      }
      return;
    }
    const bytes = utf8.encode(s);
    this.room(5 + bytes.length);
    if (bytes.length < 0x20) this.buf[this.pos++] = 0xa0 | bytes.length;
    else this.sized(bytes.length, 0xd9, 0xda, 0xdb);
    this.buf.set(bytes, this.pos);
    this.pos += bytes.length;
  }

  /** `n` after its 8-, 16- or 32-bit type byte (uint, str and bin headers); the caller made room for 5 bytes. */
  private sized(n: number, c8: number, c16: number, c32: number): void {
    const b = this.buf;
    if (n < 0x100) {
      b[this.pos++] = c8;
      b[this.pos++] = n;
    } else if (n < 0x10000) {
      b[this.pos++] = c16;
      b[this.pos++] = n >> 8;
      b[this.pos++] = n & 0xff;
    } else {
      b[this.pos++] = c32;
      this.view.setUint32(this.pos, n);
      this.pos += 4;
    }
  }

  private key(k: string): void {
    const bytes = this.keys.get(k);
    if (bytes === undefined) {
      const start = this.pos;
      this.string(k);
      if (this.keys.size < MAX_CACHED_KEYS) this.keys.set(k, this.buf.slice(start, this.pos));
      return;
    }
    this.room(bytes.length);
    this.buf.set(bytes, this.pos);
    this.pos += bytes.length;
  }

  private bin(v: Float32Array | Uint8Array): void {
    const n = v.byteLength;
    this.room(5 + n);
    this.sized(n, 0xc4, 0xc5, 0xc6);
    this.buf.set(new Uint8Array(v.buffer, v.byteOffset, n), this.pos);
    this.pos += n;
  }

  private array(a: readonly unknown[]): void {
    const n = a.length;
    this.room(5);
    const b = this.buf;
    if (n < 0x10) b[this.pos++] = 0x90 | n;
    else if (n < 0x10000) {
      b[this.pos++] = 0xdc;
      b[this.pos++] = n >> 8;
      b[this.pos++] = n & 0xff;
    } else {
      b[this.pos++] = 0xdd;
      this.view.setUint32(this.pos, n);
      this.pos += 4;
    }
    for (let i = 0; i < n; i++) this.value(a[i]);
  }

  /** msgpackr (without variableMapSize) always writes a map16 header and fills in the size afterwards. */
  private map(o: Record<string, unknown>): void {
    this.room(3);
    const at = this.pos;
    this.buf[at] = 0xde;
    this.pos += 3;
    let size = 0;
    for (const k in o) {
      if (!Object.hasOwn(o, k)) continue;
      const v = o[k];
      if (v === undefined) continue; // absent optionals are omitted (toWire)
      this.key(k);
      this.value(v);
      size++;
    }
    if (size > 0xffff) throw new Unsupported();
    this.buf[at + 1] = size >> 8;
    this.buf[at + 2] = size & 0xff;
  }
}
