// The one reader of session recordings (.jmrl: record 0 = session record, then every wire message as
// the server received it). It replays the session through exactly the stages the live session ran
// (sessions/live-pipeline liveStages: wire frame → ARKit adapter → align → … → metrics), feeding
// `env` plane updates and frames in file order, so alignment sees each plane update at the same frame
// as it did live. Everything that turns a recording into frames — the pipeline CLI, `train`/`eval`,
// every job — goes through here; before, three readers aligned the same session three ways.
//
// Memory: records are streamed (never all raw frames in memory); what is kept is the caller's choice
// (onState). The scan runs to the end of the file, past `end`, so a torn or corrupt file is rejected,
// not half-used.
import { pipe, Subject, tap } from 'rxjs';
import { adapt } from '../../streams/adapt.js';
import type { FeatureOptions } from '../../streams/features.js';
import type { MetricsFrame } from '../../streams/metrics.js';
import type { Assessment, PlaneAnchor, PoseFrame } from '../../streams/types.js';
import { decodeClientMessage, type Hello } from '../protocol/index.js';
import { liveStages } from '../sessions/live-pipeline.js';
import { SESSION_RECORD_TYPE, SUSPENDED_RECORD_TYPE, type SessionRecord } from '../sessions/recording-store.js';
import type { FrameMsg } from '../sessions/types.js';
import { StorageError, StorageErrorCode } from '../storage/errors.js';
import { fileSha256 } from '../storage/file-hash.js';
import { RecordingReader } from '../storage/recording-reader.js';
import { RecordingError, RecordingErrorCode } from './errors.js';

/** ~4 ms of pipeline work between event-loop turns (jobs replay inside serving processes too). */
const YIELD_EVERY_RECORDS = 64;

export interface ReplayOptions {
  /** Every pipeline frame, in order. */
  readonly onState: (frame: MetricsFrame) => void;
  /** Every adapted pose (stage 0), before alignment. */
  readonly onPose?: (pose: PoseFrame) => void;
  /** SHA-256 the session published for this file; other bytes are RECORDING_MISMATCH. */
  readonly expectedSha256?: string;
  /** Accept a log without a trailer (a session not finalised yet). Jobs never do; the pipeline CLI may. */
  readonly allowUnfinished?: boolean;
  readonly features?: FeatureOptions;
  /** Analyse as this assessment instead of the hello's (a user's explicit choice in the CLI). */
  readonly assessment?: Assessment;
}

export interface ReplayResult {
  /** The first hello (a resume hello continues the same session). */
  readonly hello: Hello;
  /** Record 0, when the file has one (server-written recordings do). */
  readonly session?: SessionRecord;
  /** Decoded `frame` messages in the file. */
  readonly wireFrames: number;
  /** Frames the adapter dropped (bad arrays, time not increasing: e.g. resent frames after a resume). */
  readonly droppedFrames: number;
  /** Records that were not usable wire messages (counted, skipped). */
  readonly rejectedRecords: number;
  readonly envUpdates: number;
  /** The planes of the last `env` message: what the session ended with (for reports only). */
  readonly lastPlanes: readonly PlaneAnchor[];
  /** SHA-256 of the whole file. */
  readonly sha256: string;
}

/** Replays a recording file; every failure is a RecordingError. */
export async function replaySession(path: string, opts: ReplayOptions): Promise<ReplayResult> {
  const sha256 = await fileSha256(path).catch((cause: unknown) => {
    throw ioError(path, cause);
  });
  if (opts.expectedSha256 !== undefined && sha256 !== opts.expectedSha256) {
    throw new RecordingError(RecordingErrorCode.MISMATCH, `${path}: SHA-256 ${sha256} differs from the published ${opts.expectedSha256}`);
  }
  let hello: Hello | undefined;
  let session: SessionRecord | undefined;
  let frames$: Subject<FrameMsg> | undefined;
  const env$ = new Subject<readonly PlaneAnchor[]>();
  let pipelineError: unknown;
  let wireFrames = 0;
  let droppedFrames = 0;
  let rejectedRecords = 0;
  let envUpdates = 0;
  let lastPlanes: readonly PlaneAnchor[] = [];
  const adaptStage = () => {
    const a = adapt({ onInvalid: () => (droppedFrames += 1) });
    return opts.onPose ? pipe(a, tap(opts.onPose)) : a;
  };

  const reader = new RecordingReader(path);
  try {
    let ended = false;
    for await (const entry of reader.records()) {
      if (ended || pipelineError !== undefined) continue;
      // The reader resolves buffered records as microtasks: without this a long recording would hold
      // the event loop (live sessions, in embedded mode) for its whole pipeline run.
      if (entry.seq % YIELD_EVERY_RECORDS === 0) await new Promise<void>((r) => setImmediate(r));
      const serverRecord = (entry.value as { type?: unknown } | null)?.type;
      if (entry.seq === 0 && serverRecord === SESSION_RECORD_TYPE) {
        session = entry.value as SessionRecord;
        continue;
      }
      // The mark a graceful shutdown leaves on a session that stayed resumable: the server's, not the wire's.
      if (serverRecord === SUSPENDED_RECORD_TYPE) continue;
      const decoded = decodeClientMessage(entry.payload, 'ingest');
      if (!decoded.ok) {
        rejectedRecords += 1;
        continue;
      }
      const m = decoded.message;
      if (m.type === 'hello') {
        if (hello) continue;
        hello = m;
        frames$ = new Subject<FrameMsg>();
        frames$
          .pipe(
            liveStages(adaptStage, {
              assessment: opts.assessment ?? m.assessment,
              fps: m.fps,
              env: env$,
              ...(opts.features ? { features: opts.features } : {}),
            }),
          )
          .subscribe({ next: opts.onState, error: (e: unknown) => (pipelineError = e) });
      } else if (m.type === 'env') {
        envUpdates += 1;
        lastPlanes = m.planes as readonly PlaneAnchor[];
        env$.next(lastPlanes);
      } else if (m.type === 'frame') {
        wireFrames += 1;
        if (!frames$) rejectedRecords += 1;
        else frames$.next(m);
      } else {
        ended = true;
      }
    }
  } catch (cause) {
    if (cause instanceof StorageError && cause.code === StorageErrorCode.LOG_BAD_HEADER) {
      throw new RecordingError(RecordingErrorCode.UNREADABLE, `${path} is not a recording log`, { cause });
    }
    throw ioError(path, cause);
  } finally {
    frames$?.complete();
    env$.complete();
  }
  const end = reader.end;
  const acceptable = end?.status === 'complete' || (opts.allowUnfinished === true && end?.status === 'unfinished');
  if (!end || !acceptable) {
    throw new RecordingError(
      RecordingErrorCode.DAMAGED,
      `${path}: recording is ${end?.status ?? 'unreadable'}${end?.reason ? ` (${end.reason})` : ''} at byte ${end?.badOffset ?? end?.validEnd ?? 0} after ${end?.records ?? 0} intact records`,
    );
  }
  if (pipelineError !== undefined) {
    throw new RecordingError(
      RecordingErrorCode.UNREADABLE,
      `${path}: the session pipeline rejected the recording: ${(pipelineError as Error).message ?? String(pipelineError)}`,
      { cause: pipelineError },
    );
  }
  if (!hello) throw new RecordingError(RecordingErrorCode.UNREADABLE, `${path}: no hello message, so no assessment to run the pipeline with`);
  return { hello, ...(session ? { session } : {}), wireFrames, droppedFrames, rejectedRecords, envUpdates, lastPlanes, sha256 };
}

function ioError(path: string, cause: unknown): RecordingError {
  const errno = (cause as NodeJS.ErrnoException | undefined)?.code ?? (cause as { cause?: NodeJS.ErrnoException } | undefined)?.cause?.code;
  if (errno === 'ENOENT') return new RecordingError(RecordingErrorCode.NOT_FOUND, `${path} does not exist`, { cause });
  if (errno === 'EISDIR') return new RecordingError(RecordingErrorCode.UNREADABLE, `${path} is a directory`, { cause });
  return new RecordingError(RecordingErrorCode.IO, `${path}: cannot read the recording`, { cause });
}
