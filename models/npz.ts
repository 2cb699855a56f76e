/**
 * NPY v1.0 and NPZ (a zip of .npy members) writer and reader, so stage-5 datasets open with `numpy.load`.
 * The zip structure (local headers, central directory, end record, CRC-32) is written here rather than
 * pulled from a zip library: it is ~100 lines and the format needs only "stored" and "deflated" members.
 * Zip64 is not supported, so one archive stays under 4 GiB — datasets are capped far below that.
 */
import { deflateRawSync, inflateRawSync } from 'node:zlib';

export type NpyDtype = '<f4' | '<f8' | '<i4' | '<u4' | '|u1';

/** One n-dimensional array, row-major (C order), little-endian. */
export interface NpyArray {
  readonly dtype: NpyDtype;
  readonly shape: readonly number[];
  readonly data: Float32Array | Float64Array | Int32Array | Uint32Array | Uint8Array;
}

export const NpzErrorCode = {
  BAD_MAGIC: 'NPZ_BAD_MAGIC',
  BAD_HEADER: 'NPZ_BAD_HEADER',
  UNSUPPORTED: 'NPZ_UNSUPPORTED',
  SHAPE_MISMATCH: 'NPZ_SHAPE_MISMATCH',
  TRUNCATED: 'NPZ_TRUNCATED',
  CRC_MISMATCH: 'NPZ_CRC_MISMATCH',
  TOO_LARGE: 'NPZ_TOO_LARGE',
  BAD_NAME: 'NPZ_BAD_NAME',
} as const;
export type NpzErrorCode = (typeof NpzErrorCode)[keyof typeof NpzErrorCode];

/** A .npy/.npz that cannot be written or read; `member` names the array when one is at fault. */
export class NpzError extends Error {
  override readonly name = 'NpzError';
  constructor(
    readonly code: NpzErrorCode,
    message: string,
    readonly member?: string,
    options?: { cause?: unknown },
  ) {
    super(member === undefined ? message : `${member}: ${message}`, options);
  }
}

const DTYPES: Record<NpyDtype, { bytes: number; make: (b: ArrayBuffer, n: number) => NpyArray['data'] }> = {
  '<f4': { bytes: 4, make: (b, n) => new Float32Array(b, 0, n) },
  '<f8': { bytes: 8, make: (b, n) => new Float64Array(b, 0, n) },
  '<i4': { bytes: 4, make: (b, n) => new Int32Array(b, 0, n) },
  '<u4': { bytes: 4, make: (b, n) => new Uint32Array(b, 0, n) },
  '|u1': { bytes: 1, make: (b, n) => new Uint8Array(b, 0, n) },
};
const CTOR: Record<NpyDtype, NpyArray['data']['constructor']> = {
  '<f4': Float32Array,
  '<f8': Float64Array,
  '<i4': Int32Array,
  '<u4': Uint32Array,
  '|u1': Uint8Array,
};
// Typed arrays use host byte order; every host Node runs on for us is little-endian, checked once.
const LITTLE_ENDIAN = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;
const MAGIC = Buffer.from([0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59]); // \x93NUMPY
const MAX_ZIP = 0xffff_fffe;

const count = (shape: readonly number[]): number => shape.reduce((a, b) => a * b, 1);

/** Serialises one array as NPY v1.0: magic, version, header length, padded dict header, raw data. */
export function encodeNpy(arr: NpyArray, member?: string): Buffer {
  if (!LITTLE_ENDIAN) throw new NpzError(NpzErrorCode.UNSUPPORTED, 'big-endian host', member);
  if (!(arr.data instanceof CTOR[arr.dtype])) {
    throw new NpzError(NpzErrorCode.SHAPE_MISMATCH, `data is not a ${CTOR[arr.dtype].name} for ${arr.dtype}`, member);
  }
  if (arr.shape.some((s) => !Number.isInteger(s) || s < 0) || count(arr.shape) !== arr.data.length) {
    throw new NpzError(NpzErrorCode.SHAPE_MISMATCH, `shape (${arr.shape.join(', ')}) does not hold ${arr.data.length} values`, member);
  }
  const shape = arr.shape.length === 1 ? `(${arr.shape[0]},)` : `(${arr.shape.join(', ')})`;
  const dict = `{'descr': '${arr.dtype}', 'fortran_order': False, 'shape': ${shape}, }`;
  // Total preamble (10 bytes + header) is a multiple of 64, header ends in '\n' (NEP 1 / numpy format.py).
  const headerLen = Math.ceil((10 + dict.length + 1) / 64) * 64 - 10;
  if (headerLen > 0xffff) throw new NpzError(NpzErrorCode.UNSUPPORTED, 'header longer than NPY v1.0 allows', member);
  const head = Buffer.alloc(10 + headerLen, 0x20);
  MAGIC.copy(head, 0);
  head[6] = 1;
  head[7] = 0;
  head.writeUInt16LE(headerLen, 8);
  head.write(dict, 10, 'latin1');
  head[10 + headerLen - 1] = 0x0a;
  const body = Buffer.from(arr.data.buffer, arr.data.byteOffset, arr.data.byteLength);
  return Buffer.concat([head, body]);
}

/** Parses an NPY v1.0/v2.0 buffer (C order, one of the supported dtypes). Copies the data (aligned). */
export function decodeNpy(buf: Uint8Array, member?: string): NpyArray {
  const b = Buffer.from(buf.buffer, buf.byteOffset, buf.byteLength);
  if (b.length < 10 || !b.subarray(0, 6).equals(MAGIC)) throw new NpzError(NpzErrorCode.BAD_MAGIC, 'not an NPY array', member);
  const major = b[6]!;
  if (major !== 1 && major !== 2) throw new NpzError(NpzErrorCode.UNSUPPORTED, `NPY version ${major}`, member);
  const lenBytes = major === 1 ? 2 : 4;
  const headerLen = major === 1 ? b.readUInt16LE(8) : b.length >= 12 ? b.readUInt32LE(8) : -1;
  const start = 8 + lenBytes;
  if (headerLen < 0 || start + headerLen > b.length) throw new NpzError(NpzErrorCode.TRUNCATED, 'header runs past the end', member);
  const header = b.toString('latin1', start, start + headerLen);
  const descr = /'descr':\s*'([^']+)'/.exec(header)?.[1];
  const fortran = /'fortran_order':\s*(True|False)/.exec(header)?.[1];
  const shapeText = /'shape':\s*\(([^)]*)\)/.exec(header)?.[1];
  if (descr === undefined || fortran === undefined || shapeText === undefined) {
    throw new NpzError(NpzErrorCode.BAD_HEADER, `unreadable header ${JSON.stringify(header.trim())}`, member);
  }
  if (!(descr in DTYPES)) throw new NpzError(NpzErrorCode.UNSUPPORTED, `dtype ${descr}`, member);
  if (fortran === 'True') throw new NpzError(NpzErrorCode.UNSUPPORTED, 'Fortran-ordered array', member);
  const shape = shapeText
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s !== '')
    .map(Number);
  if (shape.some((s) => !Number.isInteger(s) || s < 0)) throw new NpzError(NpzErrorCode.BAD_HEADER, `shape (${shapeText})`, member);
  const dtype = descr as NpyDtype;
  const n = count(shape);
  const bytes = n * DTYPES[dtype].bytes;
  const dataStart = start + headerLen;
  if (dataStart + bytes > b.length) {
    throw new NpzError(NpzErrorCode.TRUNCATED, `needs ${bytes} data bytes, has ${b.length - dataStart}`, member);
  }
  const copy = new ArrayBuffer(bytes);
  new Uint8Array(copy).set(b.subarray(dataStart, dataStart + bytes));
  return { dtype, shape, data: DTYPES[dtype].make(copy, n) };
}

const CRC_TABLE = (() => {
  const t = new Uint32Array(256);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    t[n] = c >>> 0;
  }
  return t;
})();

/** CRC-32 (ISO-HDLC, the zip/PNG polynomial 0xEDB88320). */
export function crc32(data: Uint8Array): number {
  let c = 0xffffffff;
  for (let i = 0; i < data.length; i++) c = CRC_TABLE[(c ^ data[i]!) & 0xff]! ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
}

/** Builds an .npz: each entry becomes `<name>.npy`; `compress` deflates members (np.savez_compressed). */
export function encodeNpz(arrays: Readonly<Record<string, NpyArray>>, opts: { compress?: boolean } = {}): Buffer {
  const parts: Buffer[] = [];
  const central: Buffer[] = [];
  let offset = 0;
  // Fixed DOS time (1980-01-01 00:00) keeps the archive a pure function of its arrays (audit hashes).
  const dosTime = 0;
  const dosDate = (0 << 9) | (1 << 5) | 1;
  for (const [key, arr] of Object.entries(arrays)) {
    if (!/^[A-Za-z0-9_.-]+$/.test(key)) throw new NpzError(NpzErrorCode.BAD_NAME, 'array names are [A-Za-z0-9_.-]+', key);
    const name = Buffer.from(`${key}.npy`, 'utf8');
    const raw = encodeNpy(arr, key);
    const method = opts.compress === true ? 8 : 0;
    const data = method === 8 ? deflateRawSync(raw) : raw;
    const crc = crc32(raw);
    if (offset + 30 + name.length + data.length > MAX_ZIP || raw.length > MAX_ZIP) {
      throw new NpzError(NpzErrorCode.TOO_LARGE, 'archive would pass 4 GiB (zip64 not supported)', key);
    }
    const local = Buffer.alloc(30);
    local.writeUInt32LE(0x04034b50, 0);
    local.writeUInt16LE(20, 4); // version needed: 2.0 (deflate)
    local.writeUInt16LE(0, 6); // flags
    local.writeUInt16LE(method, 8);
    local.writeUInt16LE(dosTime, 10);
    local.writeUInt16LE(dosDate, 12);
    local.writeUInt32LE(crc, 14);
    local.writeUInt32LE(data.length, 18);
    local.writeUInt32LE(raw.length, 22);
    local.writeUInt16LE(name.length, 26);
    local.writeUInt16LE(0, 28);
    const cd = Buffer.alloc(46);
    cd.writeUInt32LE(0x02014b50, 0);
    cd.writeUInt16LE(20, 4); // made by: MS-DOS, spec 2.0
    cd.writeUInt16LE(20, 6);
    cd.writeUInt16LE(0, 8);
    cd.writeUInt16LE(method, 10);
    cd.writeUInt16LE(dosTime, 12);
    cd.writeUInt16LE(dosDate, 14);
    cd.writeUInt32LE(crc, 16);
    cd.writeUInt32LE(data.length, 20);
    cd.writeUInt32LE(raw.length, 24);
    cd.writeUInt16LE(name.length, 28);
    cd.writeUInt32LE(offset, 42); // (extra, comment, disk, attributes stay 0)
    parts.push(local, name, data);
    central.push(cd, name);
    offset += local.length + name.length + data.length;
  }
  const cdBuf = Buffer.concat(central);
  if (offset + cdBuf.length + 22 > MAX_ZIP) throw new NpzError(NpzErrorCode.TOO_LARGE, 'archive would pass 4 GiB');
  const end = Buffer.alloc(22);
  end.writeUInt32LE(0x06054b50, 0);
  const n = Object.keys(arrays).length;
  end.writeUInt16LE(n, 8);
  end.writeUInt16LE(n, 10);
  end.writeUInt32LE(cdBuf.length, 12);
  end.writeUInt32LE(offset, 16);
  return Buffer.concat([...parts, cdBuf, end]);
}

/** Reads an .npz (stored or deflated members), checking every member's CRC-32. Keys lose `.npy`. */
export function decodeNpz(buf: Uint8Array): Record<string, NpyArray> {
  const out: Record<string, NpyArray> = {};
  for (const [name, raw] of zipMembers(buf)) out[name.replace(/\.npy$/, '')] = decodeNpy(raw, name);
  return out;
}

const ZIP64_FULL = 0xffffffff;

/**
 * The bytes of every member of a zip archive (an .npz), by stored name, each checked against its size and
 * CRC-32. numpy writes its members with `force_zip64`: their local headers say 0xFFFFFFFF and the real
 * sizes are in the central directory's ZIP64 extra field, read here. A ZIP64 end record (more than
 * 65,535 members or 4 GiB) is not.
 */
export function zipMembers(buf: Uint8Array): Map<string, Uint8Array> {
  const b = Buffer.from(buf.buffer, buf.byteOffset, buf.byteLength);
  // The end record is the last 22 bytes plus an optional comment of up to 64 KiB.
  let eocd = -1;
  for (let i = b.length - 22; i >= Math.max(0, b.length - 22 - 0xffff); i--) {
    if (b.readUInt32LE(i) === 0x06054b50) {
      eocd = i;
      break;
    }
  }
  // A zip (local header first) without its end record was cut short; anything else is not a zip.
  const zipStart = b.length >= 4 && b.readUInt32LE(0) === 0x04034b50;
  if (eocd < 0) throw new NpzError(b.length < 22 || zipStart ? NpzErrorCode.TRUNCATED : NpzErrorCode.BAD_MAGIC, 'no zip end-of-central-directory record');
  const entries = b.readUInt16LE(eocd + 10);
  const cdSize = b.readUInt32LE(eocd + 12);
  const cdOffset = b.readUInt32LE(eocd + 16);
  if (entries === 0xffff || cdOffset === ZIP64_FULL) throw new NpzError(NpzErrorCode.UNSUPPORTED, 'ZIP64 archive directory (over 65,535 members or 4 GiB)');
  if (cdOffset + cdSize > eocd) throw new NpzError(NpzErrorCode.TRUNCATED, 'central directory runs past its end record');
  const out = new Map<string, Uint8Array>();
  let p = cdOffset;
  for (let e = 0; e < entries; e++) {
    if (p + 46 > eocd || b.readUInt32LE(p) !== 0x02014b50) throw new NpzError(NpzErrorCode.BAD_HEADER, `central directory entry ${e} is damaged`);
    const flags = b.readUInt16LE(p + 8);
    const method = b.readUInt16LE(p + 10);
    const crc = b.readUInt32LE(p + 16);
    let csize = b.readUInt32LE(p + 20);
    let usize = b.readUInt32LE(p + 24);
    const nameLen = b.readUInt16LE(p + 28);
    const extraLen = b.readUInt16LE(p + 30);
    const commentLen = b.readUInt16LE(p + 32);
    let local = b.readUInt32LE(p + 42);
    const name = b.toString('utf8', p + 46, p + 46 + nameLen);
    // ZIP64 extra field (id 1): the 64-bit values, in this order, of whichever of the three read 0xFFFFFFFF.
    for (let x = p + 46 + nameLen; x + 4 <= p + 46 + nameLen + extraLen;) {
      const id = b.readUInt16LE(x);
      const len = b.readUInt16LE(x + 2);
      if (id === 1) {
        let q = x + 4;
        const next = (): number => {
          const v = Number(b.readBigUInt64LE(q));
          q += 8;
          return v;
        };
        if (usize === ZIP64_FULL) usize = next();
        if (csize === ZIP64_FULL) csize = next();
        if (local === ZIP64_FULL) local = next();
      }
      x += 4 + len;
    }
    p += 46 + nameLen + extraLen + commentLen;
    if (flags & 1) throw new NpzError(NpzErrorCode.UNSUPPORTED, 'member is encrypted', name);
    if (local + 30 > b.length || b.readUInt32LE(local) !== 0x04034b50) throw new NpzError(NpzErrorCode.BAD_HEADER, 'local header missing', name);
    const dataStart = local + 30 + b.readUInt16LE(local + 26) + b.readUInt16LE(local + 28);
    if (dataStart + csize > b.length) throw new NpzError(NpzErrorCode.TRUNCATED, `member needs ${csize} bytes`, name);
    const stored = b.subarray(dataStart, dataStart + csize);
    let raw: Buffer;
    if (method === 0) raw = stored;
    else if (method === 8) {
      try {
        // The declared size bounds the output: a damaged or hostile stream cannot inflate past it.
        raw = inflateRawSync(stored, { maxOutputLength: Math.max(1, usize) });
      } catch (cause) {
        throw new NpzError(NpzErrorCode.TRUNCATED, 'deflate stream is damaged', name, { cause });
      }
    } else throw new NpzError(NpzErrorCode.UNSUPPORTED, `zip compression method ${method}`, name);
    if (raw.length !== usize) throw new NpzError(NpzErrorCode.TRUNCATED, `expected ${usize} bytes, got ${raw.length}`, name);
    if (crc32(raw) !== crc) throw new NpzError(NpzErrorCode.CRC_MISMATCH, 'CRC-32 does not match the central directory', name);
    out.set(name, raw);
  }
  return out;
}
