// Session recordings on local disk through src/storage's recording log: one `<sessionId>.jmrl` per
// session. Record 0 is a `session` record (who/what, which the wire hello does not carry: the clinic
// comes from the token), then every wire message exactly as received (hello, env, frames, end).
// A graceful shutdown does not finalise a session still inside its resume window: it appends a
// `suspended` record (with the deadline) and closes the log without its trailer. On start, unfinished
// recordings are sorted out: one ending in a `suspended` record whose deadline is still ahead is
// reopened for appending (the session is resumable on this server), every other one (a crash, or a
// suspension that outlived its window) is repaired, finalised and reported so the server can publish
// `assessment.completed` for it.
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import type { Logger } from '../logger.js';
import { CommitScheduler } from '../storage/commit-scheduler.js';
import { RecordingLog, type FsyncPolicy } from '../storage/recording-log.js';
import { RecordingReader } from '../storage/recording-reader.js';
import { findUnfinished } from '../storage/recording-recovery.js';
import { RECORDING_EXT } from '../storage/recording-format.js';
import type { PlaneAnchor } from '../../streams/types.js';
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

/** Appended by a graceful shutdown to a session it leaves resumable (never by a crash, by definition). */
export const SUSPENDED_RECORD_TYPE = 'suspended';

export interface SuspendedRecord {
  readonly type: typeof SUSPENDED_RECORD_TYPE;
  /** When the server suspended the session (epoch ms). */
  readonly at: number;
  /** The session's resume deadline (epoch ms): a restart before it reopens the session, after it finalises it. */
  readonly resumableUntil: number;
}

export interface RecoveredSession {
  readonly meta: SessionRecord;
  readonly path: string;
  readonly sha256: string;
  readonly records: number;
  readonly frames: number;
  /** `recovered` after a crash; `resume_expired` for a suspended session whose window passed while the server was down. */
  readonly reason: 'recovered' | 'resume_expired';
}

/** A suspended session still inside its resume window, its recording reopened for appending. */
export interface ResumableSession {
  readonly meta: SessionRecord;
  readonly sink: RecordingSink;
  /** Frame records in the recording. */
  readonly frames: number;
  /** seq and t of the last recorded frame (−1 when none). */
  readonly lastSeq: number;
  readonly lastT: number;
  /** The plane anchors of the last recorded `env`. */
  readonly planes: readonly PlaneAnchor[];
  readonly resumableUntil: number;
}

/** What recovery needs to know about one unfinished recording (one pass over its records). */
interface Inspection {
  meta: SessionRecord | undefined;
  frames: number;
  lastSeq: number;
  lastT: number;
  planes: readonly PlaneAnchor[];
  suspended: SuspendedRecord | undefined;
}

export interface DiskRecordingStoreOptions {
  readonly dir: string;
  readonly fsync: FsyncPolicy;
  /** Per-session bound on appends not yet durable (the log rejects beyond it). */
  readonly maxPendingRecords?: number;
  /**
   * Stores a finalised recording where every node finds it (src/recordings createRecordingPublisher):
   * awaited by `finalize` and `recover`, so `assessment.completed` is only published for a recording
   * any worker can read.
   */
  readonly publish?: (r: { readonly clinic: string; readonly sessionId: string; readonly path: string; readonly sha256: string }) => Promise<unknown>;
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
    const log = await RecordingLog.create(path, this.logOptions());
    await log.append({ type: SESSION_RECORD_TYPE, ...meta });
    return sink(log, path, (sha256) => this.publish(String(meta.clinic), sessionId, path, sha256));
  }

  /**
   * Sorts out the recordings a previous run left unfinished (at `nowMs`): suspended sessions still
   * inside their resume window come back reopened; every other one is repaired (torn tail cut),
   * finalised and returned for publishing.
   */
  async recover(nowMs: number): Promise<{ recovered: RecoveredSession[]; resumable: ResumableSession[]; failed: string[] }> {
    const recovered: RecoveredSession[] = [];
    const resumable: ResumableSession[] = [];
    const failed: string[] = [];
    for (const path of await findUnfinished(this.opts.dir)) {
      try {
        const found = await inspect(path);
        const { meta, suspended } = found;
        if (meta && suspended && suspended.resumableUntil > nowMs) {
          const { log, truncatedBytes } = await RecordingLog.resume(path, this.logOptions());
          resumable.push({
            ...found,
            meta,
            sink: sink(log, path, (sha256) => this.publish(meta.clinic, meta.sessionId, path, sha256)),
            resumableUntil: suspended.resumableUntil,
          });
          this.logger.info('suspended session reopened for resume', {
            path,
            sessionId: meta.sessionId,
            resumableUntil: suspended.resumableUntil,
            truncatedBytes,
          });
          continue;
        }
        const { log, truncatedBytes } = await RecordingLog.resume(path, { fsync: { mode: 'always' } });
        const fin = await log.finalize();
        this.logger.info('recording recovered', { path, records: fin.records, truncatedBytes });
        if (!meta) {
          this.logger.warn('recovered recording has no session record; not published', { path });
          failed.push(path);
          continue;
        }
        try {
          await this.publish(meta.clinic, meta.sessionId, path, fin.sha256);
        } catch (cause) {
          this.logger.error('recovered recording could not be published; no job for it', { path, cause: String(cause) });
          failed.push(path);
          continue;
        }
        recovered.push({ meta, path, sha256: fin.sha256, records: fin.records, frames: found.frames, reason: suspended ? 'resume_expired' : 'recovered' });
      } catch (cause) {
        this.logger.error('recording recovery failed', { path, cause: String(cause) });
        failed.push(path);
      }
    }
    return { recovered, resumable, failed };
  }

  /** Stores a finalised recording where every node finds it (see `DiskRecordingStoreOptions.publish`). */
  private async publish(clinic: string, sessionId: string, path: string, sha256: string): Promise<void> {
    await this.opts.publish?.({ clinic, sessionId, path, sha256 });
  }

  private logOptions() {
    return {
      fsync: this.opts.fsync,
      ...(this.opts.maxPendingRecords ? { maxPendingRecords: this.opts.maxPendingRecords } : {}),
      ...(this.scheduler ? { scheduler: this.scheduler } : {}),
      ...(this.opts.onDurable ? { onDurable: this.opts.onDurable } : {}),
    };
  }
}

function sink(log: RecordingLog, path: string, publish: (sha256: string) => Promise<void>): RecordingSink {
  return {
    location: path,
    // The sink's contract: a wire message as received, already decoded by the codec (types.ts).
    append: (record) => log.appendDecoded(record).then(() => undefined),
    finalize: async () => {
      const r = await log.finalize();
      // Before `finalize` resolves, so `assessment.completed` only names a recording any worker can read.
      await publish(r.sha256);
      return { records: r.records, sha256: r.sha256, location: path };
    },
    suspend: async (marker) => {
      await log.append(marker);
      await log.close();
    },
  };
}

/** One pass over the intact records of an unfinished recording (a torn tail ends the pass). */
async function inspect(path: string): Promise<Inspection> {
  const out: Inspection = { meta: undefined, frames: 0, lastSeq: -1, lastT: -1, planes: [], suspended: undefined };
  for await (const entry of new RecordingReader(path).records()) {
    const v = entry.value as { type?: unknown; seq?: unknown; t?: unknown; planes?: unknown } | null;
    // Only a `suspended` record that is the LAST one counts: anything after it means the session went on.
    out.suspended = v?.type === SUSPENDED_RECORD_TYPE ? (v as unknown as SuspendedRecord) : undefined;
    if (entry.seq === 0 && v?.type === SESSION_RECORD_TYPE) out.meta = v as unknown as SessionRecord;
    else if (v?.type === 'frame' && typeof v.seq === 'number' && typeof v.t === 'number') {
      out.frames += 1;
      out.lastSeq = v.seq;
      out.lastT = v.t;
    } else if (v?.type === 'env' && Array.isArray(v.planes)) out.planes = v.planes as PlaneAnchor[];
  }
  return out;
}
