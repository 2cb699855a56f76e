// The durable per-session log of raw messages. Appends are grouped into one write + one fdatasync
// (group commit), and each append's promise resolves only once ITS bytes are on stable storage
// (per the fsync policy): the server acks a frame to the iPad only after that.
import { createHash, type Hash } from 'node:crypto';
import { open, type FileHandle } from 'node:fs/promises';
import { dirname } from 'node:path';
import type { CommitScheduler } from './commit-scheduler.js';
import { StorageError, StorageErrorCode } from './errors.js';
import { HEADER_BYTES, MAX_RECORD_BYTES, encodeFrame, encodeHeader, encodeTrailer, packr } from './recording-format.js';
import { scanRecording } from './recording-reader.js';

/**
 * - `always`: one fdatasync per write batch (a batch is whatever queued while the previous sync ran).
 * - `batch`: group commit — appends arriving within `intervalMs` of the first one share one sync.
 * - `never`: write(2) only; survives a process crash, not a power loss. Tests/benchmarks.
 */
export type FsyncPolicy = { readonly mode: 'always' } | { readonly mode: 'batch'; readonly intervalMs: number } | { readonly mode: 'never' };

export const DEFAULT_MAX_PENDING_RECORDS = 4096;
export const DEFAULT_MAX_PENDING_BYTES = 32 * 1024 * 1024;

export interface RecordingLogOptions {
  readonly fsync: FsyncPolicy;
  /**
   * Appends not yet durable (queued + being written). When full, `append` rejects at once with
   * LOG_BACKPRESSURE and nothing is written: the caller sheds (drops the frame unacked, or closes the
   * session) instead of the server buffering without bound. Default 4096 (≈ 68 s of one 60 Hz session).
   */
  readonly maxPendingRecords?: number;
  /** Same, in bytes. Default 32 MiB. */
  readonly maxPendingBytes?: number;
  /**
   * `batch` mode: commit on this shared scheduler's ticks (one interval for every log of the process)
   * instead of a timer of this log's own. Its interval replaces `fsync.intervalMs`.
   */
  readonly scheduler?: CommitScheduler;
  /**
   * Called after each write batch is durable (fdatasync returned; for `never`, written) and before its
   * appends resolve, with the number of records durable now. Observability and tests: acks follow it.
   */
  readonly onDurable?: (e: { readonly path: string; readonly durableRecords: number }) => void;
}

export interface AppendResult {
  readonly seq: number;
  /** File offset just past this record. */
  readonly end: number;
}

export interface FinalizeResult {
  readonly records: number;
  /** Size of the finished file (body + trailer). */
  readonly bytes: number;
  /** SHA-256 (hex) of the whole finished file, as an artifact store would compute it. */
  readonly sha256: string;
}

export interface RecordingLogStats {
  readonly records: number;
  readonly durableRecords: number;
  readonly bytes: number;
  readonly pending: number;
  readonly writes: number;
  readonly syncs: number;
}

interface Pending {
  readonly frame: Buffer;
  readonly seq: number;
  readonly resolve: (r: AppendResult) => void;
  readonly reject: (e: unknown) => void;
}

type State = 'open' | 'closing' | 'closed' | 'failed';

export class RecordingLog {
  private queue: Pending[] = [];
  private inFlight = 0;
  private pendingBytes = 0;
  private flushing = false;
  private timer: NodeJS.Timeout | undefined;
  private state: State = 'open';
  private failure: unknown;
  private drainWaiters: Array<() => void> = [];
  private nextSeq: number;
  private durable: number;
  private position: number;
  private writes = 0;
  private syncs = 0;
  private readonly maxRecords: number;
  private readonly maxBytes: number;

  private constructor(
    readonly path: string,
    private readonly fh: FileHandle,
    private readonly hash: Hash,
    private readonly opts: RecordingLogOptions,
    records: number,
    position: number,
  ) {
    this.nextSeq = records;
    this.durable = records;
    this.position = position;
    this.maxRecords = opts.maxPendingRecords ?? DEFAULT_MAX_PENDING_RECORDS;
    this.maxBytes = opts.maxPendingBytes ?? DEFAULT_MAX_PENDING_BYTES;
    if (opts.fsync.mode === 'batch' && !(opts.fsync.intervalMs >= 0)) throw new RangeError('fsync.intervalMs must be >= 0');
  }

  /** Creates a new log (fails with LOG_EXISTS if the path exists); header and directory entry are synced. */
  static async create(path: string, opts: RecordingLogOptions): Promise<RecordingLog> {
    let fh: FileHandle;
    try {
      fh = await open(path, 'wx');
    } catch (cause) {
      const code = (cause as NodeJS.ErrnoException).code === 'EEXIST' ? StorageErrorCode.LOG_EXISTS : StorageErrorCode.LOG_IO;
      throw new StorageError(code, 'cannot create recording', { cause, path });
    }
    try {
      const header = encodeHeader();
      await fh.write(header, 0, header.length, 0);
      await fh.sync();
      await syncDir(dirname(path));
      return new RecordingLog(path, fh, createHash('sha256').update(header), opts, 0, HEADER_BYTES);
    } catch (cause) {
      await fh.close().catch(() => undefined);
      throw new StorageError(StorageErrorCode.LOG_IO, 'cannot initialise recording', { cause, path });
    }
  }

  /**
   * Reopens an unfinished log for appending (session resume, crash recovery): truncates a torn or
   * corrupt tail at the last intact record first. Refuses a finalised log (LOG_FINALIZED).
   */
  static async resume(path: string, opts: RecordingLogOptions): Promise<{ log: RecordingLog; truncatedBytes: number }> {
    const scan = await scanRecording(path);
    if (scan.status === 'complete') throw new StorageError(StorageErrorCode.LOG_FINALIZED, 'recording is already finalised', { path });
    const fh = await open(path, 'r+').catch((cause: unknown) => {
      throw new StorageError(StorageErrorCode.LOG_IO, 'cannot open recording', { cause, path });
    });
    try {
      const hash = createHash('sha256');
      let position = scan.validEnd;
      if (position < HEADER_BYTES) {
        // Torn inside the header: nothing was ever acknowledged, start the file over.
        const header = encodeHeader();
        await fh.truncate(0);
        await fh.write(header, 0, header.length, 0);
        hash.update(header);
        position = HEADER_BYTES;
      } else {
        await fh.truncate(scan.validEnd);
        // Re-hash the kept prefix; the scan's digest is final and cannot be continued.
        await hashRange(fh, scan.validEnd, hash);
      }
      await fh.sync();
      return { log: new RecordingLog(path, fh, hash, opts, scan.records, position), truncatedBytes: scan.fileSize - scan.validEnd };
    } catch (cause) {
      await fh.close().catch(() => undefined);
      throw new StorageError(StorageErrorCode.LOG_IO, 'cannot repair recording', { cause, path });
    }
  }

  get stats(): RecordingLogStats {
    return {
      records: this.nextSeq,
      durableRecords: this.durable,
      bytes: this.position,
      pending: this.queue.length + this.inFlight,
      writes: this.writes,
      syncs: this.syncs,
    };
  }

  /** Appends one value (encoded as msgpack). Resolves once durable per the fsync policy. */
  append(value: unknown): Promise<AppendResult> {
    let payload: Uint8Array;
    try {
      payload = packr.pack(value);
    } catch (cause) {
      return Promise.reject(new StorageError(StorageErrorCode.LOG_ENCODE, 'value cannot be encoded as msgpack', { cause, path: this.path }));
    }
    return this.enqueue(payload);
  }

  /**
   * Appends bytes that are already one msgpack value (e.g. the wire message as received), without
   * re-encoding. They are checked to decode, so a reader never meets an undecodable record.
   */
  appendEncoded(bytes: Uint8Array): Promise<AppendResult> {
    try {
      packr.unpack(bytes);
    } catch (cause) {
      return Promise.reject(new StorageError(StorageErrorCode.LOG_ENCODE, 'bytes are not one msgpack value', { cause, path: this.path }));
    }
    return this.enqueue(bytes);
  }

  /**
   * Appends bytes the caller has itself just decoded as one msgpack value (the wire message as received,
   * which the protocol codec parsed on receipt), as they are and without a second decode: that decode
   * was 17 µs of the server's per-frame CPU. Bytes of unknown provenance go through appendEncoded.
   */
  appendDecoded(bytes: Uint8Array): Promise<AppendResult> {
    return this.enqueue(bytes);
  }

  /** Writes the trailer after every queued append is durable, syncs and closes. */
  async finalize(): Promise<FinalizeResult> {
    if (this.state !== 'open') throw this.closedError();
    this.state = 'closing';
    await this.drain();
    if (this.failure !== undefined) throw this.ioError('cannot finalise after a failed write', this.failure);
    try {
      const bodySha256 = this.hash.copy().digest('hex');
      const trailer = encodeTrailer({ records: this.nextSeq, bodyBytes: this.position, bodySha256 });
      await this.writeAll(trailer);
      this.hash.update(trailer);
      this.position += trailer.length;
      await this.fh.sync();
      this.syncs += 1;
      return { records: this.nextSeq, bytes: this.position, sha256: this.hash.digest('hex') };
    } catch (cause) {
      throw this.ioError('cannot write trailer', cause);
    } finally {
      this.state = 'closed';
      await this.fh.close().catch(() => undefined);
    }
  }

  /** Flushes queued appends and closes WITHOUT a trailer: the log stays resumable. */
  async close(): Promise<void> {
    if (this.state === 'closed') return;
    if (this.state === 'open') this.state = 'closing';
    await this.drain();
    this.state = 'closed';
    await this.fh.close().catch(() => undefined);
  }

  private enqueue(payload: Uint8Array): Promise<AppendResult> {
    if (this.state !== 'open') return Promise.reject(this.closedError());
    if (payload.length > MAX_RECORD_BYTES) {
      return Promise.reject(
        new StorageError(StorageErrorCode.LOG_RECORD_TOO_LARGE, `record of ${payload.length} bytes exceeds ${MAX_RECORD_BYTES}`, { path: this.path }),
      );
    }
    const pendingCount = this.queue.length + this.inFlight;
    if (pendingCount >= this.maxRecords || this.pendingBytes + payload.length > this.maxBytes) {
      return Promise.reject(
        new StorageError(StorageErrorCode.LOG_BACKPRESSURE, `append queue full (${pendingCount} records, ${this.pendingBytes} bytes pending)`, {
          path: this.path,
        }),
      );
    }
    const frame = encodeFrame(payload);
    const seq = this.nextSeq++;
    this.pendingBytes += frame.length;
    return new Promise<AppendResult>((resolve, reject) => {
      this.queue.push({ frame, seq, resolve, reject });
      this.schedule();
    });
  }

  /** Runs a group commit now (the shared scheduler's tick). */
  commit(): Promise<void> {
    return this.flush();
  }

  private schedule(): void {
    if (this.flushing || this.timer !== undefined || this.queue.length === 0) return;
    const { fsync, scheduler } = this.opts;
    if (fsync.mode === 'batch' && scheduler && this.state === 'open') {
      scheduler.add(this);
    } else if (fsync.mode === 'batch' && fsync.intervalMs > 0 && this.state === 'open') {
      this.timer = setTimeout(() => {
        this.timer = undefined;
        void this.flush();
      }, fsync.intervalMs);
    } else {
      queueMicrotask(() => void this.flush());
    }
  }

  private async flush(): Promise<void> {
    if (this.flushing || this.queue.length === 0) return;
    this.flushing = true;
    const batch = this.queue;
    this.queue = [];
    this.inFlight = batch.length;
    const bytes = batch.length === 1 ? (batch[0] as Pending).frame : Buffer.concat(batch.map((p) => p.frame));
    try {
      if (this.failure !== undefined) throw this.failure;
      await this.writeAll(bytes);
      this.writes += 1;
      this.hash.update(bytes);
      if (this.opts.fsync.mode !== 'never') {
        await this.fh.datasync();
        this.syncs += 1;
      }
      let end = this.position;
      this.position += bytes.length;
      this.durable += batch.length;
      try {
        this.opts.onDurable?.({ path: this.path, durableRecords: this.durable });
      } catch {
        // An observer's failure is not the recording's: the records are durable.
      }
      for (const p of batch) p.resolve({ seq: p.seq, end: (end += p.frame.length) });
    } catch (cause) {
      // After a failed write or fsync the kernel may have dropped dirty pages: nothing after this
      // point can be trusted, so the log fails for good (the caller closes the session).
      this.failure ??= cause;
      this.state = this.state === 'closed' ? 'closed' : 'failed';
      const err = this.ioError('write or fsync failed', this.failure);
      for (const p of batch) p.reject(err);
      for (const p of this.queue.splice(0)) p.reject(err);
    } finally {
      this.pendingBytes -= bytes.length;
      this.inFlight = 0;
      this.flushing = false;
    }
    if (this.queue.length > 0) this.schedule();
    else for (const w of this.drainWaiters.splice(0)) w();
  }

  private drain(): Promise<void> {
    this.opts.scheduler?.remove(this);
    if (this.timer !== undefined) {
      clearTimeout(this.timer);
      this.timer = undefined;
    }
    if (!this.flushing && this.queue.length === 0) return Promise.resolve();
    const p = new Promise<void>((resolve) => this.drainWaiters.push(resolve));
    if (!this.flushing) void this.flush();
    return p;
  }

  private async writeAll(bytes: Buffer): Promise<void> {
    let off = 0;
    while (off < bytes.length) {
      const { bytesWritten } = await this.fh.write(bytes, off, bytes.length - off, this.position + off);
      off += bytesWritten;
    }
  }

  private closedError(): StorageError {
    if (this.state === 'failed') return this.ioError('log failed earlier', this.failure);
    return new StorageError(StorageErrorCode.LOG_CLOSED, `recording log is ${this.state}`, { path: this.path });
  }

  private ioError(message: string, cause: unknown): StorageError {
    return new StorageError(StorageErrorCode.LOG_IO, message, { cause, path: this.path });
  }
}

async function hashRange(fh: FileHandle, end: number, hash: Hash): Promise<void> {
  const buf = Buffer.allocUnsafe(1 << 20);
  for (let pos = 0; pos < end;) {
    const { bytesRead } = await fh.read(buf, 0, Math.min(buf.length, end - pos), pos);
    if (bytesRead === 0) throw new Error(`unexpected EOF at ${pos}`);
    hash.update(buf.subarray(0, bytesRead));
    pos += bytesRead;
  }
}

/** Makes a new directory entry durable (a synced file whose name is lost is still lost). */
export async function syncDir(dir: string): Promise<void> {
  const d = await open(dir, 'r');
  try {
    await d.sync();
  } finally {
    await d.close();
  }
}
