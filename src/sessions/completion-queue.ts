// Durable hand-off of a finished session's job: the recording to the artifact store, then
// `assessment.completed` to the job bus. The session manager publishes through this queue (it is its
// EventBus), so an `end` is only acknowledged once the pending job is fsynced on local disk; delivery
// is then tried at once and, if the store or the bus is unavailable (NATS down, JetStream BUS_FULL
// after a failover's retries, the bus outbox full), retried in the background with backoff until both
// take it, also after a process restart (the entries are reloaded from `dir`).
//
// Why not just the job bus's outbox: that covers the bus being unreachable, not a refused publish
// (BUS_FULL), nor the recording upload that has to succeed before the event may go out.
//
// Idempotent: the recording put is the same key and bytes; the event keeps its id (jobIdFor(session))
// so JetStream's Nats-Msg-Id dedup drops a replay inside its window and the retrain worker skips a job
// whose result record exists (skipIfDone on resultKey(id)) after it.
//
// Bound: `maxEntries` (default 10 000, ≈ 1 KiB each) and `maxBytes` (default 16 MiB). When full, the
// publish rejects with JOB_OUTBOX_FULL: the session's finalisation fails as before this queue existed
// (the device gets INTERNAL, the finalised recording stays on this node's disk, an error is logged).
// Not covered: a crash between the recording's finalisation and the queue's fsync (two fsyncs apart).
import { stat } from 'node:fs/promises';
import { Packr } from 'msgpackr';
import { JobError, JobErrorCode } from '../jobs/errors.js';
import { Outbox, type OutboxEntry } from '../jobs/outbox.js';
import type { Logger } from '../logger.js';
import { RecordingError, RecordingErrorCode } from '../recordings/errors.js';
import { ASSESSMENT_COMPLETED, type AssessmentCompleted } from './assessment-completed.js';
import type { EventBus } from './types.js';

export const DEFAULT_COMPLETION_MAX_ENTRIES = 10_000;
export const DEFAULT_COMPLETION_MAX_BYTES = 16 * 1024 * 1024;
export const DEFAULT_RETRY_MIN_MS = 1_000;
export const DEFAULT_RETRY_MAX_MS = 60_000;
const packr = new Packr({ useRecords: false });

export interface RecordingToPublish {
  readonly clinic: string;
  readonly sessionId: string;
  readonly path: string;
  readonly sha256: string;
}

export interface CompletionQueueOptions {
  /** Where pending jobs wait (one fsynced file each). */
  readonly dir: string;
  readonly bus: EventBus;
  /** Stores the finalised recording where every node finds it (src/recordings createRecordingPublisher). */
  readonly publishRecording?: (r: RecordingToPublish) => Promise<unknown>;
  readonly logger: Logger;
  readonly maxEntries?: number;
  readonly maxBytes?: number;
  /** Background retry delay: doubles from min to max, back to min after a delivery. Default 1 s → 60 s. */
  readonly retryMinMs?: number;
  readonly retryMaxMs?: number;
}

export interface CompletionQueue extends EventBus {
  /** Jobs accepted but not yet taken by the bus. */
  readonly pending: number;
  /** Resolves once nothing is pending; rejects with JOB_TIMEOUT after `timeoutMs`. */
  drained(timeoutMs: number): Promise<void>;
  /** Stops retrying (entries stay on disk for the next start) after the delivery under way. */
  close(): Promise<void>;
}

export async function openCompletionQueue(o: CompletionQueueOptions): Promise<CompletionQueue> {
  const box = await Outbox.open(o.dir, {
    maxEvents: o.maxEntries ?? DEFAULT_COMPLETION_MAX_ENTRIES,
    maxBytes: o.maxBytes ?? DEFAULT_COMPLETION_MAX_BYTES,
    logger: o.logger,
  });
  const minMs = o.retryMinMs ?? DEFAULT_RETRY_MIN_MS;
  const maxMs = o.retryMaxMs ?? DEFAULT_RETRY_MAX_MS;
  const { logger } = o;
  /** Entries a delivery is working on: never two deliveries of one entry at once. */
  const busy = new Set<number>();
  const inflight = new Set<Promise<unknown>>();
  const drainWaiters = new Set<() => void>();
  let delay = minMs;
  let timer: NodeJS.Timeout | undefined;
  let closed = false;

  const track = <T>(p: Promise<T>): Promise<T> => {
    inflight.add(p);
    void p.finally(() => inflight.delete(p)).catch(() => undefined);
    return p;
  };

  /** Resolves once the bus took the entry; a permanent failure drops the entry and rejects. */
  const deliver = async (e: OutboxEntry): Promise<void> => {
    busy.add(e.seq);
    try {
      const event: unknown = packr.unpack(e.payload);
      if (e.subject === ASSESSMENT_COMPLETED && o.publishRecording) {
        const ev = event as AssessmentCompleted;
        const r = { clinic: ev.clinic, sessionId: ev.sessionId, path: ev.recording.path, sha256: ev.recording.sha256 };
        // A recording that is gone from this disk can never be published; retrying would only block the bound.
        await stat(r.path).catch((cause: unknown) => {
          if ((cause as NodeJS.ErrnoException).code === 'ENOENT')
            throw new RecordingError(RecordingErrorCode.NOT_FOUND, `recording ${r.path} of session ${r.sessionId} is gone`, { cause });
          throw cause;
        });
        await o.publishRecording(r);
      }
      await o.bus.publish(e.subject, event, { id: e.id });
      await box.remove(e.seq);
      delay = minMs;
    } catch (error) {
      if (permanent(error)) {
        logger.error('pending job dropped: it can never be delivered', { id: e.id, subject: e.subject, error });
        await box.remove(e.seq);
      }
      throw error;
    } finally {
      busy.delete(e.seq);
      if (box.size === 0) for (const f of drainWaiters) f();
    }
  };

  const schedule = (): void => {
    if (closed || timer !== undefined || box.size === 0) return;
    timer = setTimeout(() => {
      timer = undefined;
      void track(retryAll());
    }, delay);
    delay = Math.min(delay * 2, maxMs);
  };

  // Oldest first; stops at the first failure (the store or bus is down for all of them alike).
  const retryAll = async (): Promise<void> => {
    for (const e of box.list()) {
      if (closed) return;
      if (busy.has(e.seq)) continue;
      try {
        await deliver(e);
        logger.info('pending job delivered', { id: e.id, subject: e.subject, waitedMs: Date.now() - e.queuedAt });
      } catch (error) {
        if (permanent(error)) continue;
        logger.warn('pending job not delivered yet; will retry', { id: e.id, pending: box.size, retryInMs: delay, error });
        break;
      }
    }
    schedule();
  };

  if (box.size > 0) {
    logger.info('pending jobs from a previous run', { pending: box.size });
    void track(retryAll());
  }

  return {
    get pending() {
      return box.size;
    },

    async publish(subject, event, { id }) {
      if (closed) throw new JobError(JobErrorCode.CLOSED, 'completion queue is closed');
      // The same job already waiting (a second finalisation of one session): one entry is enough.
      if (box.has(id)) return { status: 'queued' };
      const entry = await box.append({ subject, id, payload: packr.pack(event) });
      // First attempt now (the device's `ended` waits for it, as before); a failure leaves it queued.
      try {
        await track(deliver(entry));
        return { status: 'sent' };
      } catch (error) {
        if (permanent(error)) throw error;
        logger.warn('job queued on disk: delivery failed, retrying in the background', { id, subject, pending: box.size, error });
        schedule();
        return { status: 'queued' };
      }
    },

    drained(timeoutMs) {
      if (box.size === 0) return Promise.resolve();
      return new Promise<void>((resolve, reject) => {
        const done = (): void => {
          clearTimeout(t);
          drainWaiters.delete(done);
          resolve();
        };
        const t = setTimeout(() => {
          drainWaiters.delete(done);
          reject(new JobError(JobErrorCode.TIMEOUT, `${box.size} pending jobs not delivered within ${timeoutMs} ms`));
        }, timeoutMs);
        drainWaiters.add(done);
      });
    },

    async close() {
      closed = true;
      if (timer !== undefined) clearTimeout(timer);
      timer = undefined;
      await Promise.allSettled([...inflight]);
    },
  };
}

/** Failures no retry can fix: the recording is gone or not the finalised one, or the event is refused as malformed. */
function permanent(error: unknown): boolean {
  if (error instanceof RecordingError) return error.code === RecordingErrorCode.NOT_FOUND || error.code === RecordingErrorCode.MISMATCH;
  if (error instanceof JobError) return error.code === JobErrorCode.BAD_EVENT || error.code === JobErrorCode.BAD_REQUEST || error.code === JobErrorCode.ENCODE;
  return false;
}
