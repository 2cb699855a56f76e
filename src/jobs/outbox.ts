// Events that could not reach JetStream wait here, one fsynced file per event, and are flushed in
// order. One file per event keeps removal trivial (unlink after the JetStream ack) and makes a torn
// write impossible to confuse with a good one (temp file + fsync + rename).
import { mkdir, open, readFile, readdir, rename, unlink } from 'node:fs/promises';
import { join } from 'node:path';
import { Packr } from 'msgpackr';
import type { Logger } from '../logger.js';
import { silentLogger } from '../logger.js';
import { crc32c } from '../storage/crc32c.js';
import { syncDir } from '../storage/recording-log.js';
import { JobError, JobErrorCode } from './errors.js';

export const DEFAULT_OUTBOX_MAX_EVENTS = 10_000;
export const DEFAULT_OUTBOX_MAX_BYTES = 64 * 1024 * 1024;
const EXT = '.evt';
const packr = new Packr({ useRecords: false });

export interface OutboxEntry {
  /** Position in the outbox; flush order. */
  readonly seq: number;
  readonly subject: string;
  /** Idempotency key, sent as Nats-Msg-Id so a replay after an ambiguous failure is deduplicated. */
  readonly id: string;
  readonly payload: Uint8Array;
  /** Epoch ms when the event was accepted locally. */
  readonly queuedAt: number;
}

export interface OutboxOptions {
  /** Events held; beyond it `append` rejects with OUTBOX_FULL. Default 10 000. */
  readonly maxEvents?: number;
  /** Payload bytes held; beyond it `append` rejects with OUTBOX_FULL. Default 64 MiB. */
  readonly maxBytes?: number;
  readonly logger?: Logger;
  readonly now?: () => number;
}

export class Outbox {
  private readonly entries: OutboxEntry[] = [];
  private bytes = 0;
  private nextSeq = 0;
  private readonly maxEvents: number;
  private readonly maxBytes: number;
  private readonly now: () => number;

  private constructor(
    readonly dir: string,
    opts: OutboxOptions,
  ) {
    this.maxEvents = opts.maxEvents ?? DEFAULT_OUTBOX_MAX_EVENTS;
    this.maxBytes = opts.maxBytes ?? DEFAULT_OUTBOX_MAX_BYTES;
    this.now = opts.now ?? Date.now;
  }

  /** Opens (creating if needed) and loads what a previous process left, oldest first. */
  static async open(dir: string, opts: OutboxOptions = {}): Promise<Outbox> {
    const logger = opts.logger ?? silentLogger;
    const box = new Outbox(dir, opts);
    try {
      await mkdir(dir, { recursive: true });
      const names = (await readdir(dir)).sort();
      for (const name of names) {
        const path = join(dir, name);
        if (name.endsWith('.tmp')) {
          // Never renamed: its append never resolved, so nobody was told it was accepted.
          await unlink(path);
          continue;
        }
        if (!name.endsWith(EXT)) continue;
        const entry = decodeEntry(await readFile(path));
        if (!entry) {
          logger.error('outbox: unreadable event file moved aside', { path });
          await rename(path, `${path}.corrupt`);
          continue;
        }
        box.entries.push(entry);
        box.bytes += entry.payload.length;
        box.nextSeq = Math.max(box.nextSeq, entry.seq + 1);
      }
    } catch (cause) {
      throw new JobError(JobErrorCode.OUTBOX_IO, `cannot open outbox at ${dir}`, { cause });
    }
    return box;
  }

  get size(): number {
    return this.entries.length;
  }

  get byteSize(): number {
    return this.bytes;
  }

  /** The oldest event, or undefined when empty. */
  peek(): OutboxEntry | undefined {
    return this.entries[0];
  }

  /** Every waiting event, oldest first (a copy: removing while iterating is safe). */
  list(): readonly OutboxEntry[] {
    return [...this.entries];
  }

  has(id: string): boolean {
    return this.entries.some((e) => e.id === id);
  }

  /** Durably stores an event (file + directory fsynced) before resolving. */
  async append(e: { subject: string; id: string; payload: Uint8Array }): Promise<OutboxEntry> {
    if (this.entries.length >= this.maxEvents || this.bytes + e.payload.length > this.maxBytes) {
      throw new JobError(JobErrorCode.OUTBOX_FULL, `outbox full (${this.entries.length} events, ${this.bytes} bytes); NATS has been unreachable too long`);
    }
    const entry: OutboxEntry = { seq: this.nextSeq++, subject: e.subject, id: e.id, payload: e.payload, queuedAt: this.now() };
    // Reserve before the await so concurrent appends cannot overshoot the bound.
    this.entries.push(entry);
    this.bytes += entry.payload.length;
    const path = join(this.dir, fileName(entry.seq));
    try {
      const fh = await open(`${path}.tmp`, 'w');
      try {
        await fh.writeFile(encodeEntry(entry));
        await fh.sync();
      } finally {
        await fh.close();
      }
      await rename(`${path}.tmp`, path);
      await syncDir(this.dir);
      return entry;
    } catch (cause) {
      this.drop(entry.seq);
      await unlink(`${path}.tmp`).catch(() => undefined);
      throw new JobError(JobErrorCode.OUTBOX_IO, 'cannot write outbox event', { cause });
    }
  }

  /** Forgets an event after JetStream acknowledged it. No fsync: a resurrected file is replayed
   *  and dropped by JetStream's Nats-Msg-Id dedup / the worker's idempotency check. */
  async remove(seq: number): Promise<void> {
    this.drop(seq);
    await unlink(join(this.dir, fileName(seq))).catch((cause: unknown) => {
      if ((cause as NodeJS.ErrnoException).code !== 'ENOENT') throw new JobError(JobErrorCode.OUTBOX_IO, 'cannot remove outbox event', { cause });
    });
  }

  private drop(seq: number): void {
    const i = this.entries.findIndex((x) => x.seq === seq);
    if (i < 0) return;
    this.bytes -= (this.entries[i] as OutboxEntry).payload.length;
    this.entries.splice(i, 1);
  }
}

const fileName = (seq: number): string => `${String(seq).padStart(16, '0')}${EXT}`;

function encodeEntry(e: OutboxEntry): Buffer {
  const body = packr.pack({ seq: e.seq, subject: e.subject, id: e.id, payload: e.payload, queuedAt: e.queuedAt });
  const out = Buffer.allocUnsafe(4 + body.length);
  out.writeUInt32LE(crc32c(body), 0);
  body.copy(out, 4);
  return out;
}

function decodeEntry(b: Buffer): OutboxEntry | undefined {
  if (b.length < 4 || b.readUInt32LE(0) !== crc32c(b.subarray(4))) return undefined;
  try {
    const v = packr.unpack(b.subarray(4)) as Partial<OutboxEntry>;
    if (
      typeof v.seq !== 'number' ||
      typeof v.subject !== 'string' ||
      typeof v.id !== 'string' ||
      !(v.payload instanceof Uint8Array) ||
      typeof v.queuedAt !== 'number'
    )
      return undefined;
    return { seq: v.seq, subject: v.subject, id: v.id, payload: new Uint8Array(v.payload), queuedAt: v.queuedAt };
  } catch {
    return undefined;
  }
}
