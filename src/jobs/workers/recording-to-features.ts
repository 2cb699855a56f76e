// A session recording (.jmrl: record 0 = session record, then every wire message as received) →
// the FeatureSequence the model trains on, through exactly the live chain: decode (src/protocol) →
// adapt (ARKit → canonical) → sessionPipeline with the hello's assessment and the `env` planes as they
// arrived. Frames and env updates are replayed in file order into Subjects, so alignment sees each
// plane update at the same frame as the live session did, and raw frames are never all in memory.
//
// Sibling of models/feature-sequences.ts (which starts from a mocap file's Recording with static
// planes); the collection of x/t/poses is the same, see /work/notes/retrain-needs.md for the shared
// helper we asked for.
import { Subject } from 'rxjs';
import { adapt, type ArkitFrame } from '../../../streams/adapt.js';
import { featureNames, type FeatureOptions } from '../../../streams/features.js';
import type { MetricsFrame } from '../../../streams/metrics.js';
import { sessionPipeline } from '../../../streams/session-pipeline.js';
import type { PlaneAnchor } from '../../../streams/types.js';
import type { FeatureSequence } from '../../../models/types.js';
import { decodeClientMessage, type Hello } from '../../protocol/index.js';
import { StorageError, StorageErrorCode } from '../../storage/errors.js';
import { fileSha256 } from '../../storage/file-hash.js';
import { RecordingReader } from '../../storage/recording-reader.js';
import { toArkitFrame } from '../../sessions/live-pipeline.js';
import { RetrainError, RetrainErrorCode } from './retrain-errors.js';

/** 10 minutes at 60 Hz: frames beyond this are not used (bounds memory at ~T·(F+60)·4 B ≈ 53 MB). */
export const DEFAULT_MAX_FRAMES = 36_000;
const POSE_DIM = 60;
/** ~4 ms of pipeline work between event-loop turns. */
const YIELD_EVERY_RECORDS = 64;

export interface RecordingToFeaturesOptions {
  /** SHA-256 of the whole file as published with the job; a different file is RECORDING_MISMATCH. */
  readonly expectedSha256?: string;
  readonly features?: FeatureOptions;
  /** Use at most the first this many pipeline frames. Default DEFAULT_MAX_FRAMES. */
  readonly maxFrames?: number;
  /** Subject id written into the sequence's source (the patient). */
  readonly subject?: string;
}

export interface RecordingFeatures {
  readonly sequence: FeatureSequence;
  readonly hello: Hello;
  /** Decoded `frame` messages in the file. */
  readonly wireFrames: number;
  /** Frames the adapter dropped (bad arrays, time not increasing: e.g. resent frames after a resume). */
  readonly droppedFrames: number;
  /** Records that were not usable wire messages (counted, skipped). */
  readonly rejectedRecords: number;
  /** Pipeline frames beyond `maxFrames`, not used. */
  readonly truncatedFrames: number;
  readonly sha256: string;
}

/** Growing T×d float rows without keeping one array per frame around. */
class Rows {
  private buf: Float32Array;
  length = 0;
  constructor(private readonly d: number) {
    this.buf = new Float32Array(d * 1024);
  }
  push(row: Float32Array): void {
    if ((this.length + 1) * this.d > this.buf.length) {
      const next = new Float32Array(this.buf.length * 2);
      next.set(this.buf);
      this.buf = next;
    }
    this.buf.set(row.subarray(0, this.d), this.length * this.d);
    this.length += 1;
  }
  take(): Float32Array {
    return this.buf.slice(0, this.length * this.d);
  }
}

/**
 * Reads a finalised recording and returns its features. Every failure is a RetrainError:
 * RECORDING_NOT_FOUND / _UNREADABLE / _DAMAGED / _MISMATCH (permanent), IO (retried).
 */
export async function recordingToFeatures(path: string, opts: RecordingToFeaturesOptions = {}): Promise<RecordingFeatures> {
  const maxFrames = opts.maxFrames ?? DEFAULT_MAX_FRAMES;
  const sha256 = await fileSha256(path).catch((cause: unknown) => {
    throw ioError(path, cause);
  });
  if (opts.expectedSha256 !== undefined && sha256 !== opts.expectedSha256) {
    throw new RetrainError(RetrainErrorCode.RECORDING_MISMATCH, `${path}: SHA-256 ${sha256} differs from the published ${opts.expectedSha256}`);
  }
  const names = featureNames(opts.features);
  const f = names.length;
  const x = new Rows(f);
  const poses = new Rows(POSE_DIM);
  const t: number[] = [];
  let hello: Hello | undefined;
  let frames$: Subject<ArkitFrame> | undefined;
  const env$ = new Subject<readonly PlaneAnchor[]>();
  let pipelineError: unknown;
  let wireFrames = 0;
  let droppedFrames = 0;
  let rejectedRecords = 0;
  let truncatedFrames = 0;

  const collect = (fr: MetricsFrame): void => {
    if (t.length >= maxFrames) {
      truncatedFrames += 1;
      return;
    }
    x.push(fr.features);
    poses.push(fr.joints);
    t.push(fr.t);
  };

  const reader = new RecordingReader(path);
  try {
    // The whole file is scanned (past `end`) so the trailer check runs: a torn or corrupt file is
    // rejected, not half-used.
    let ended = false;
    for await (const entry of reader.records()) {
      if (ended || pipelineError !== undefined) continue;
      // The reader resolves buffered records as microtasks: without this a long recording would hold
      // the event loop (live sessions, in embedded mode) for its whole pipeline run.
      if (entry.seq % YIELD_EVERY_RECORDS === 0) await new Promise<void>((r) => setImmediate(r));
      const serverRecord = (entry.value as { type?: unknown } | null)?.type;
      // The server's own records: the session record, and the mark of a shutdown that left the session resumable.
      if ((entry.seq === 0 && serverRecord === 'session') || serverRecord === 'suspended') continue;
      const decoded = decodeClientMessage(entry.payload, 'ingest');
      if (!decoded.ok) {
        rejectedRecords += 1;
        continue;
      }
      const m = decoded.message;
      if (m.type === 'hello') {
        // A resume hello continues the same session: the first hello defines it.
        if (hello) continue;
        hello = m;
        frames$ = new Subject<ArkitFrame>();
        frames$
          .pipe(
            adapt({ onInvalid: () => (droppedFrames += 1) }),
            sessionPipeline({ assessment: m.assessment, fps: m.fps, env: env$, ...(opts.features ? { features: opts.features } : {}) }),
          )
          .subscribe({ next: collect, error: (e: unknown) => (pipelineError = e) });
      } else if (m.type === 'env') {
        env$.next(m.planes);
      } else if (m.type === 'frame') {
        wireFrames += 1;
        if (!frames$) {
          rejectedRecords += 1;
          continue;
        }
        frames$.next(toArkitFrame(m));
      } else {
        ended = true;
      }
    }
  } catch (cause) {
    if (cause instanceof StorageError && cause.code === StorageErrorCode.LOG_BAD_HEADER) {
      throw new RetrainError(RetrainErrorCode.RECORDING_UNREADABLE, `${path} is not a recording log`, { cause });
    }
    throw ioError(path, cause);
  } finally {
    frames$?.complete();
    env$.complete();
  }
  const end = reader.end;
  // The server publishes only finalised recordings: anything but `complete` (no trailer, torn tail,
  // bad checksum) was cut or damaged after the fact.
  if (!end || end.status !== 'complete') {
    throw new RetrainError(
      RetrainErrorCode.RECORDING_DAMAGED,
      `${path}: recording is ${end?.status ?? 'unreadable'}${end?.reason ? ` (${end.reason})` : ''} at byte ${end?.badOffset ?? end?.validEnd ?? 0} after ${end?.records ?? 0} intact records`,
    );
  }
  if (pipelineError !== undefined) {
    throw new RetrainError(
      RetrainErrorCode.RECORDING_UNREADABLE,
      `${path}: the session pipeline rejected the recording: ${(pipelineError as Error).message ?? String(pipelineError)}`,
      { cause: pipelineError },
    );
  }
  if (!hello) throw new RetrainError(RetrainErrorCode.RECORDING_UNREADABLE, `${path}: no hello message, so no assessment to run the pipeline with`);
  const sequence: FeatureSequence = {
    names,
    x: x.take(),
    t: Float64Array.from(t, (v) => v - (t[0] ?? 0)),
    poses: poses.take(),
    source: { file: path, sha256, ...(opts.subject !== undefined ? { subject: opts.subject } : {}) },
  };
  return { sequence, hello, wireFrames, droppedFrames, rejectedRecords, truncatedFrames, sha256 };
}

function ioError(path: string, cause: unknown): RetrainError {
  const errno = (cause as NodeJS.ErrnoException | undefined)?.code ?? (cause as { cause?: NodeJS.ErrnoException } | undefined)?.cause?.code;
  if (errno === 'ENOENT') return new RetrainError(RetrainErrorCode.RECORDING_NOT_FOUND, `${path} does not exist`, { cause });
  if (errno === 'EISDIR') return new RetrainError(RetrainErrorCode.RECORDING_UNREADABLE, `${path} is a directory`, { cause });
  return new RetrainError(RetrainErrorCode.IO, `${path}: cannot read the recording`, { cause });
}
