// Session recordings on local disk through src/storage's recording log: one `<sessionId>.jmrl` per
// session. Record 0 is a `session` record (who/what, which the wire hello does not carry: the clinic
// comes from the token), then every wire message exactly as received (hello, env, frames, end).
// On start, unfinished recordings (a crash) are repaired, finalised and reported so the server can
// publish `assessment.completed` for them.
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import type { Logger } from '../logger.js';
import { CommitScheduler } from '../storage/commit-scheduler.js';
import { RecordingLog, type FsyncPolicy } from '../storage/recording-log.js';
import { RecordingReader } from '../storage/recording-reader.js';
import { recoverRecordings } from '../storage/recording-recovery.js';
import { RECORDING_EXT } from '../storage/recording-format.js';
import type { RecordingSink, RecordingStore } from './types.js';

export const SESSION_RECORD_TYPE = 'session';

export interface SessionRecord {
  readonly type: typeof SESSION_RECORD_TYPE;
  readonly sessionId: string;
  readonly clinic: string;
  readonly patientId: string;
  readonly assessment: string;
  readonly fps: number;
  readonly startedAt: number;
  readonly model: { readonly id: string; readonly kind: string; readonly version: string };
}

export interface RecoveredSession {
  readonly meta: SessionRecord;
  readonly path: string;
  readonly sha256: string;
  readonly records: number;
  readonly frames: number;
}

export interface DiskRecordingStoreOptions {
  readonly dir: string;
  readonly fsync: FsyncPolicy;
  /** Per-session bound on appends not yet durable (the log rejects beyond it). */
  readonly maxPendingRecords?: number;
  /** After each group commit of a recording, before its appends resolve (and so before the acks). */
  readonly onDurable?: (e: { readonly path: string; readonly durableRecords: number }) => void;
}

export class DiskRecordingStore implements RecordingStore {
  /** FSYNC=batch: one group commit for all sessions' recordings per interval (storage/commit-scheduler). */
  readonly scheduler: CommitScheduler | undefined;

  constructor(
    private readonly opts: DiskRecordingStoreOptions,
    private readonly logger: Logger,
  ) {
    this.scheduler = opts.fsync.mode === 'batch' && opts.fsync.intervalMs > 0 ? new CommitScheduler(opts.fsync.intervalMs) : undefined;
  }

  pathFor(sessionId: string): string {
    return join(this.opts.dir, `${sessionId}${RECORDING_EXT}`);
  }

  async open(sessionId: string, meta: Readonly<Record<string, unknown>>): Promise<RecordingSink> {
    await mkdir(this.opts.dir, { recursive: true });
    const path = this.pathFor(sessionId);
    const log = await RecordingLog.create(path, {
      fsync: this.opts.fsync,
      ...(this.opts.maxPendingRecords ? { maxPendingRecords: this.opts.maxPendingRecords } : {}),
      ...(this.scheduler ? { scheduler: this.scheduler } : {}),
      ...(this.opts.onDurable ? { onDurable: this.opts.onDurable } : {}),
    });
    await log.append({ type: SESSION_RECORD_TYPE, ...meta });
    return {
      location: path,
      // The sink's contract: a wire message as received, already decoded by the codec (types.ts).
      append: (record) => log.appendDecoded(record).then(() => undefined),
      finalize: async () => {
        const r = await log.finalize();
        return { records: r.records, sha256: r.sha256, location: path };
      },
    };
  }

  /** Repairs and finalises unfinished recordings; returns what is needed to publish their completion. */
  async recover(): Promise<{ recovered: RecoveredSession[]; failed: string[] }> {
    const { recovered, failed } = await recoverRecordings(this.opts.dir, this.logger);
    const out: RecoveredSession[] = [];
    const bad = failed.map((f) => f.path);
    for (const r of recovered) {
      let meta: SessionRecord | undefined;
      let frames = 0;
      const reader = new RecordingReader(r.path);
      for await (const entry of reader.records()) {
        const v = entry.value as { type?: unknown } | null;
        if (entry.seq === 0 && v?.type === SESSION_RECORD_TYPE) meta = v as SessionRecord;
        else if (v?.type === 'frame') frames += 1;
      }
      if (!meta) {
        this.logger.warn('recovered recording has no session record; not published', { path: r.path });
        bad.push(r.path);
        continue;
      }
      out.push({ meta, path: r.path, sha256: r.sha256, records: r.records, frames });
    }
    return { recovered: out, failed: bad };
  }
}
