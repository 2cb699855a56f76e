// Reading a recording log: a streaming scan that yields every intact record and stops at the first
// one that is not (torn tail, bad checksum, impossible length), reporting where and why.
import { createHash, type Hash } from 'node:crypto';
import { open, type FileHandle } from 'node:fs/promises';
import { StorageError, StorageErrorCode } from './errors.js';
import {
  FRAME_HEADER_BYTES,
  HEADER_BYTES,
  MAX_RECORD_BYTES,
  TRAILER_BYTES,
  TRAILER_FLAG,
  checkFrame,
  decodeTrailer,
  headerIsValid,
  headerPrefixPlausible,
  packr,
  type Trailer,
} from './recording-format.js';

export interface RecordingEntry {
  /** 0-based index of the record in the file. */
  readonly seq: number;
  /** Byte offset of the record's frame header. */
  readonly offset: number;
  /** The decoded msgpack value. */
  readonly value: unknown;
  /** The raw msgpack bytes (e.g. to forward a stored wire message unchanged). */
  readonly payload: Uint8Array;
}

/**
 * - `complete`: ends with a valid trailer that matches the records.
 * - `unfinished`: ends cleanly on a record boundary, no trailer (writer still running or crashed
 *   between appends).
 * - `torn`: the last record is cut short (crash mid-write); everything before it is good.
 * - `corrupt`: a record fails its checksum / length / decode check, or bytes follow the trailer.
 */
export type ScanStatus = 'complete' | 'unfinished' | 'torn' | 'corrupt';
export type ScanReason = 'truncated' | 'checksum' | 'length' | 'decode' | 'trailer-mismatch' | 'trailing-bytes';

export interface ScanEnd {
  readonly status: ScanStatus;
  /** Intact records before `validEnd`. */
  readonly records: number;
  /** Offset just past the last intact record (where `repair` truncates). */
  readonly validEnd: number;
  readonly fileSize: number;
  /** Offset of the first bad record, for `torn`/`corrupt`. */
  readonly badOffset?: number;
  readonly reason?: ScanReason;
  readonly trailer?: Trailer;
  /** SHA-256 (hex) of bytes [0, validEnd). */
  readonly validSha256: string;
}

const CHUNK = 1 << 20;

/** Buffered forward reads over a file handle; `need(n)` returns fewer than n bytes only at EOF. */
class Cursor {
  private buf = Buffer.alloc(0);
  private bufStart = 0;
  constructor(
    private readonly fh: FileHandle,
    readonly size: number,
  ) {}

  async need(pos: number, n: number): Promise<Buffer> {
    const have = this.bufStart + this.buf.length - pos;
    if (pos < this.bufStart || have < n) {
      const len = Math.min(Math.max(n, CHUNK), this.size - pos);
      const next = Buffer.allocUnsafe(Math.max(len, 0));
      let got = 0;
      while (got < len) {
        const { bytesRead } = await this.fh.read(next, got, len - got, pos + got);
        if (bytesRead === 0) break;
        got += bytesRead;
      }
      this.buf = next.subarray(0, got);
      this.bufStart = pos;
    }
    const start = pos - this.bufStart;
    return this.buf.subarray(start, Math.min(start + n, this.buf.length));
  }
}

/**
 * A one-shot reader: iterate `records()`, then read `end`. Throws StorageError(LOG_BAD_HEADER)
 * when the file is not a recording log at all (we never "repair" someone else's file).
 */
export class RecordingReader {
  private endState: ScanEnd | undefined;
  constructor(
    readonly path: string,
    private readonly opts: { readonly decode?: boolean } = {},
  ) {}

  /** How the scan ended; undefined until `records()` has been fully iterated. */
  get end(): ScanEnd | undefined {
    return this.endState;
  }

  async *records(): AsyncGenerator<RecordingEntry, ScanEnd> {
    const fh = await openForRead(this.path);
    try {
      const size = (await fh.stat()).size;
      const cur = new Cursor(fh, size);
      const hash = createHash('sha256');
      const head = await cur.need(0, HEADER_BYTES);
      if (head.length < HEADER_BYTES) {
        if (!headerPrefixPlausible(head)) throw badHeader(this.path);
        return this.finish({ status: 'torn', records: 0, validEnd: 0, fileSize: size, badOffset: 0, reason: 'truncated' }, hash);
      }
      if (!headerIsValid(head)) throw badHeader(this.path);
      hash.update(head);
      let pos = HEADER_BYTES;
      let seq = 0;
      const stop = (status: ScanStatus, reason: ScanReason): ScanEnd =>
        this.finish({ status, records: seq, validEnd: pos, fileSize: size, badOffset: pos, reason }, hash);
      while (pos < size) {
        const fh8 = await cur.need(pos, FRAME_HEADER_BYTES);
        if (fh8.length < FRAME_HEADER_BYTES) return stop('torn', 'truncated');
        const word = fh8.readUInt32LE(0);
        if ((word & TRAILER_FLAG) !== 0) {
          const tb = await cur.need(pos, TRAILER_BYTES);
          if (tb.length < TRAILER_BYTES) return stop('torn', 'truncated');
          const trailer = decodeTrailer(Buffer.from(tb));
          if (!trailer) return stop('corrupt', 'checksum');
          if (trailer.records !== seq || trailer.bodyBytes !== pos) return stop('corrupt', 'trailer-mismatch');
          const validSha256 = hash.copy().digest('hex');
          if (validSha256 !== trailer.bodySha256) return stop('corrupt', 'trailer-mismatch');
          if (pos + TRAILER_BYTES !== size) return stop('corrupt', 'trailing-bytes');
          return this.finish({ status: 'complete', records: seq, validEnd: pos, fileSize: size, trailer }, hash);
        }
        if (word > MAX_RECORD_BYTES) return stop('corrupt', 'length');
        if (pos + FRAME_HEADER_BYTES + word > size) return stop('torn', 'truncated');
        const frame = await cur.need(pos, FRAME_HEADER_BYTES + word);
        const payload = frame.subarray(FRAME_HEADER_BYTES);
        if (!checkFrame(frame.subarray(0, 4), frame.readUInt32LE(4), payload)) return stop('corrupt', 'checksum');
        let value: unknown;
        if (this.opts.decode !== false) {
          try {
            value = packr.unpack(payload);
          } catch {
            return stop('corrupt', 'decode');
          }
        }
        // The cursor reuses its buffer; hand out a copy the caller may keep.
        const entry: RecordingEntry = { seq, offset: pos, value, payload: Uint8Array.prototype.slice.call(payload) };
        hash.update(frame);
        pos += frame.length;
        seq += 1;
        yield entry;
      }
      return this.finish({ status: 'unfinished', records: seq, validEnd: pos, fileSize: size }, hash);
    } finally {
      await fh.close();
    }
  }

  private finish(e: Omit<ScanEnd, 'validSha256'>, hash: Hash): ScanEnd {
    this.endState = { ...e, validSha256: hash.digest('hex') };
    return this.endState;
  }
}

/** Reads every intact record; resolves with them and how the scan ended. */
export async function readRecording(path: string): Promise<{ entries: RecordingEntry[]; end: ScanEnd }> {
  const reader = new RecordingReader(path);
  const entries: RecordingEntry[] = [];
  for await (const e of reader.records()) entries.push(e);
  return { entries, end: reader.end as ScanEnd };
}

/** Scans without decoding (framing + checksums only): for repair and recovery. */
export async function scanRecording(path: string): Promise<ScanEnd> {
  const reader = new RecordingReader(path, { decode: false });
  for await (const _ of reader.records()) {
    // draining: only the end state matters
  }
  return reader.end as ScanEnd;
}

/** Fast check: does the file end with a valid trailer? (Reads only the last 56 bytes.) */
export async function hasTrailer(path: string): Promise<boolean> {
  const fh = await openForRead(path);
  try {
    const size = (await fh.stat()).size;
    if (size < HEADER_BYTES + TRAILER_BYTES) return false;
    const b = Buffer.alloc(TRAILER_BYTES);
    await fh.read(b, 0, TRAILER_BYTES, size - TRAILER_BYTES);
    const t = decodeTrailer(b);
    return t !== undefined && t.bodyBytes === size - TRAILER_BYTES;
  } finally {
    await fh.close();
  }
}

async function openForRead(path: string): Promise<FileHandle> {
  try {
    return await open(path, 'r');
  } catch (cause) {
    throw new StorageError(StorageErrorCode.LOG_IO, 'cannot open recording', { cause, path });
  }
}

function badHeader(path: string): StorageError {
  return new StorageError(StorageErrorCode.LOG_BAD_HEADER, 'not a recording log (bad magic, version or header checksum)', { path });
}
