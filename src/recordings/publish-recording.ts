// Publishing a finalised session recording to the artifact store (NATS object store in distributed
// mode, <data>/artifacts on disk embedded) under keys.ts recordingKey(clinic, session), then its
// listing entry (finished-index.ts: how any node lists the clinic's finished sessions). The session
// manager awaits this before it publishes `assessment.completed`, so any worker on any node finds the
// recording of every job it takes.
//
// Retries: a NATS cluster fails over in seconds (a server dies, the client reconnects to another), so
// a failed put is retried with doubling delays (default 6 attempts over ~15 s) before the session's
// finalisation fails with RECORDING_PUBLISH_FAILED. A put is idempotent (same key, same bytes).
import { createReadStream } from 'node:fs';
import type { ArtifactStore } from '../storage/artifact-store.js';
import { recordingKey } from '../storage/keys.js';
import { RecordingError, RecordingErrorCode } from './errors.js';
import { finishedEntryOf, writeFinishedEntry } from './finished-index.js';

export const DEFAULT_PUBLISH_ATTEMPTS = 6;
export const DEFAULT_PUBLISH_FIRST_DELAY_MS = 500;

export interface PublishRecordingInput {
  readonly clinic: string;
  readonly sessionId: string;
  /** The finalised local file. */
  readonly path: string;
  /** SHA-256 of the finalised file (what `assessment.completed` carries). */
  readonly sha256: string;
}

export interface RecordingPublisher {
  /** Resolves with the key once the whole recording is stored; rejects with a RecordingError. */
  publish(r: PublishRecordingInput): Promise<{ readonly key: string; readonly size: number }>;
}

export interface RecordingPublisherOptions {
  readonly attempts?: number;
  readonly firstDelayMs?: number;
  /** Injected for tests; default setTimeout. */
  readonly sleep?: (ms: number) => Promise<void>;
  readonly onRetry?: (attempt: number, cause: unknown) => void;
}

export function createRecordingPublisher(artifacts: ArtifactStore, o: RecordingPublisherOptions = {}): RecordingPublisher {
  const attempts = o.attempts ?? DEFAULT_PUBLISH_ATTEMPTS;
  const firstDelayMs = o.firstDelayMs ?? DEFAULT_PUBLISH_FIRST_DELAY_MS;
  const sleep = o.sleep ?? ((ms: number) => new Promise<void>((r) => setTimeout(r, ms)));
  if (!(Number.isInteger(attempts) && attempts >= 1)) throw new RangeError(`attempts must be an integer ≥ 1, got ${attempts}`);
  /** Retries a store write (the same policy for the recording and its listing entry). */
  const retrying = async <T>(what: string, sessionId: string, write: () => Promise<T>): Promise<T> => {
    let last: unknown;
    for (let attempt = 1; attempt <= attempts; attempt++) {
      try {
        return await write();
      } catch (cause) {
        if (cause instanceof RecordingError) throw cause;
        last = cause;
        if (attempt < attempts) {
          o.onRetry?.(attempt, cause);
          await sleep(firstDelayMs * 2 ** (attempt - 1));
        }
      }
    }
    throw new RecordingError(
      RecordingErrorCode.PUBLISH_FAILED,
      `recording of session ${sessionId}: ${what} not stored after ${attempts} attempts: ${last instanceof Error ? last.message : String(last)}`,
      { cause: last },
    );
  };
  return {
    async publish(r) {
      const key = recordingKey(r.clinic, r.sessionId);
      const put = await retrying(key, r.sessionId, async () => {
        // Embedded (disk store): a link to the recording, not a second copy of it.
        const p = artifacts.putFile ? await artifacts.putFile(key, r.path) : await artifacts.put(key, createReadStream(r.path) as AsyncIterable<Uint8Array>);
        if (p.sha256 !== r.sha256) {
          // Not retried: the file on disk is not the one that was finalised.
          throw new RecordingError(RecordingErrorCode.MISMATCH, `${r.path}: stored ${p.sha256}, finalised as ${r.sha256}`);
        }
        return p;
      });
      // Its listing entry, after it (an entry never names a recording that is not stored). A file
      // without a session record (not written by a server) is stored but has nothing to be listed by.
      const entry = await finishedEntryOf(r.path, r.sha256).catch((cause: unknown) => {
        throw new RecordingError(RecordingErrorCode.IO, `${r.path}: cannot read its session record: ${String(cause)}`, { cause });
      });
      if (entry) await retrying('its listing entry', r.sessionId, () => writeFinishedEntry(artifacts, entry));
      return { key, size: put.size };
    },
  };
}
