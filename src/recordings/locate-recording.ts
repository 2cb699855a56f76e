// Finding the recording of a session from any node: the artifact store first (where the recording is
// published before its `assessment.completed`, so a worker that never saw the recording node's disk
// finds it), else the path in the event (events from before publishing existed, or a store that was
// wiped). A store copy is written to a temporary file in `tmpDir`, removed by `release()`.
import { randomUUID } from 'node:crypto';
import { mkdir, rm, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { ArtifactStore } from '../storage/artifact-store.js';
import { keySegment, recordingKey } from '../storage/keys.js';
import { RecordingError, RecordingErrorCode } from './errors.js';

export interface RecordingRef {
  readonly clinic: string;
  readonly sessionId: string;
  /** The path on the recording node (as published in `assessment.completed`). */
  readonly path: string;
}

export interface LocatedRecording {
  /** A local file to replay. */
  readonly path: string;
  readonly source: 'artifact-store' | 'local';
  readonly key: string;
  /** Removes the temporary copy (a no-op for a local file). */
  release(): Promise<void>;
}

export async function locateRecording(artifacts: ArtifactStore, ref: RecordingRef, tmpDir: string): Promise<LocatedRecording> {
  const key = recordingKey(ref.clinic, ref.sessionId);
  const io = (what: string, cause: unknown) => new RecordingError(RecordingErrorCode.IO, `${what} ${key}: ${String(cause)}`, { cause });
  const stored = await artifacts.has(key).catch((cause: unknown) => {
    throw io('cannot check the artifact store for', cause);
  });
  if (stored) {
    const bytes = await artifacts.get(key).catch((cause: unknown) => {
      throw io('cannot read', cause);
    });
    await mkdir(tmpDir, { recursive: true });
    const path = join(tmpDir, `${keySegment(ref.sessionId)}.${randomUUID()}.jmrl`);
    await writeFile(path, bytes).catch(async (cause: unknown) => {
      await rm(path, { force: true });
      throw io(`cannot write ${path} from`, cause);
    });
    return { path, source: 'artifact-store', key, release: () => rm(path, { force: true }) };
  }
  const local = await stat(ref.path).then(
    (s) => s.isFile(),
    () => false,
  );
  if (!local) throw new RecordingError(RecordingErrorCode.NOT_FOUND, `the artifact store has no ${key} and ${ref.path} does not exist on this node`);
  return { path: ref.path, source: 'local', key, release: async () => undefined };
}
