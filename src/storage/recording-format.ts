// On-disk layout of a recording log (version 1). Little-endian throughout.
//
//   header  : "JMRL" | u16 version | u16 reserved(0) | u32 crc32c(first 8 bytes)      = 12 bytes
//   record* : u32 len | u32 crc32c(len bytes ++ payload) | payload (one msgpack value)
//   trailer : u32 (48 | TRAILER_FLAG) | u32 crc | u64 records | u64 bodyBytes | sha256(body)
//
// The checksum covers the length word too, so a flipped length bit cannot walk the reader into
// the middle of another record and "validate" garbage. The trailer is fixed-size so that
// `findUnfinished` can test a file by reading its last 56 bytes instead of scanning it.
import { Packr } from 'msgpackr';
import { crc32c } from './crc32c.js';

export const MAGIC = Buffer.from('JMRL', 'latin1');
export const FORMAT_VERSION = 1;
export const HEADER_BYTES = 12;
export const FRAME_HEADER_BYTES = 8;
/** One record (one wire message) is far below this; anything larger is corruption or misuse. */
export const MAX_RECORD_BYTES = 16 * 1024 * 1024;
export const TRAILER_FLAG = 0x8000_0000;
export const TRAILER_PAYLOAD_BYTES = 48;
export const TRAILER_BYTES = FRAME_HEADER_BYTES + TRAILER_PAYLOAD_BYTES;
export const RECORDING_EXT = '.jmrl';

/**
 * useRecords:false keeps every record self-describing (no shared structure table to lose);
 * moreTypes:true round-trips typed arrays (without it msgpackr narrows a Float32Array to bytes).
 */
export const packr = new Packr({ useRecords: false, moreTypes: true });

export function encodeHeader(): Buffer {
  const b = Buffer.alloc(HEADER_BYTES);
  MAGIC.copy(b, 0);
  b.writeUInt16LE(FORMAT_VERSION, 4);
  b.writeUInt32LE(crc32c(b.subarray(0, 8)), 8);
  return b;
}

export function headerIsValid(b: Uint8Array): boolean {
  if (b.length < HEADER_BYTES) return false;
  const buf = Buffer.from(b.buffer, b.byteOffset, HEADER_BYTES);
  return buf.subarray(0, 4).equals(MAGIC) && buf.readUInt16LE(4) === FORMAT_VERSION && buf.readUInt32LE(8) === crc32c(buf.subarray(0, 8));
}

/** True when `b` (a prefix of at most HEADER_BYTES) could still become a valid header. */
export function headerPrefixPlausible(b: Uint8Array): boolean {
  const full = encodeHeader();
  for (let i = 0; i < b.length && i < 6; i++) if (b[i] !== full[i]) return false;
  return true;
}

function frameChecksum(lenWord: Buffer, payload: Uint8Array): number {
  return crc32c(payload, crc32c(lenWord));
}

export function encodeFrame(payload: Uint8Array): Buffer {
  const out = Buffer.allocUnsafe(FRAME_HEADER_BYTES + payload.length);
  out.writeUInt32LE(payload.length, 0);
  out.writeUInt32LE(frameChecksum(out.subarray(0, 4), payload), 4);
  out.set(payload, FRAME_HEADER_BYTES);
  return out;
}

export interface Trailer {
  readonly records: number;
  /** Bytes of header + records, i.e. the offset where the trailer starts. */
  readonly bodyBytes: number;
  /** SHA-256 (hex) of those body bytes. */
  readonly bodySha256: string;
}

export function encodeTrailer(t: Trailer): Buffer {
  const payload = Buffer.alloc(TRAILER_PAYLOAD_BYTES);
  payload.writeBigUInt64LE(BigInt(t.records), 0);
  payload.writeBigUInt64LE(BigInt(t.bodyBytes), 8);
  Buffer.from(t.bodySha256, 'hex').copy(payload, 16);
  const out = Buffer.alloc(TRAILER_BYTES);
  out.writeUInt32LE((TRAILER_PAYLOAD_BYTES | TRAILER_FLAG) >>> 0, 0);
  out.writeUInt32LE(frameChecksum(out.subarray(0, 4), payload), 4);
  payload.copy(out, FRAME_HEADER_BYTES);
  return out;
}

/** Parses a complete trailer frame, or undefined when `b` is not one (wrong flag/size/checksum). */
export function decodeTrailer(b: Buffer): Trailer | undefined {
  if (b.length !== TRAILER_BYTES) return undefined;
  if (b.readUInt32LE(0) !== (TRAILER_PAYLOAD_BYTES | TRAILER_FLAG) >>> 0) return undefined;
  const payload = b.subarray(FRAME_HEADER_BYTES);
  if (b.readUInt32LE(4) !== frameChecksum(b.subarray(0, 4), payload)) return undefined;
  return {
    records: Number(payload.readBigUInt64LE(0)),
    bodyBytes: Number(payload.readBigUInt64LE(8)),
    bodySha256: payload.subarray(16, 48).toString('hex'),
  };
}

/** Validates one frame header + payload; returns undefined when the checksum does not match. */
export function checkFrame(lenWord: Buffer, storedCrc: number, payload: Uint8Array): boolean {
  return frameChecksum(lenWord, payload) === storedCrc;
}
