// Crash recovery for recording logs: find the ones a dead process left without a trailer, cut any
// torn tail at the last intact record, and finalise them so they can be uploaded and audited.
import { readdir } from 'node:fs/promises';
import { join } from 'node:path';
import type { Logger } from '../logger.js';
import { silentLogger } from '../logger.js';
import { StorageError, StorageErrorCode } from './errors.js';
import { RECORDING_EXT } from './recording-format.js';
import { RecordingLog, type FinalizeResult } from './recording-log.js';
import { hasTrailer, scanRecording, type ScanEnd } from './recording-reader.js';

export interface RepairResult {
  readonly before: ScanEnd;
  /** Bytes cut from the end (0 when the file already ended on a record boundary). */
  readonly truncatedBytes: number;
  readonly records: number;
}

/** Truncates a torn/corrupt tail at the last intact record. A finalised file is left untouched. */
export async function repairRecording(path: string): Promise<RepairResult> {
  const before = await scanRecording(path);
  if (before.status === 'complete') return { before, truncatedBytes: 0, records: before.records };
  const { log, truncatedBytes } = await RecordingLog.resume(path, { fsync: { mode: 'always' } });
  await log.close();
  return { before, truncatedBytes, records: before.records };
}

/** Recording files (by extension) in `dir` that lack a valid trailer, sorted by name. */
export async function findUnfinished(dir: string): Promise<string[]> {
  let names: string[];
  try {
    names = await readdir(dir);
  } catch (cause) {
    if ((cause as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw new StorageError(StorageErrorCode.LOG_IO, 'cannot list recordings', { cause, path: dir });
  }
  const out: string[] = [];
  for (const name of names.filter((n) => n.endsWith(RECORDING_EXT)).sort()) {
    const path = join(dir, name);
    if (!(await hasTrailer(path))) out.push(path);
  }
  return out;
}

export interface RecoveredRecording extends FinalizeResult {
  readonly path: string;
  readonly truncatedBytes: number;
}

/**
 * Repairs and finalises every unfinished recording in `dir`. A file that is not a recording log
 * (bad header) is reported and skipped, never modified.
 */
export async function recoverRecordings(
  dir: string,
  logger: Logger = silentLogger,
): Promise<{ recovered: RecoveredRecording[]; failed: Array<{ path: string; error: StorageError }> }> {
  const recovered: RecoveredRecording[] = [];
  const failed: Array<{ path: string; error: StorageError }> = [];
  for (const path of await findUnfinished(dir)) {
    try {
      const { log, truncatedBytes } = await RecordingLog.resume(path, { fsync: { mode: 'always' } });
      const fin = await log.finalize();
      recovered.push({ path, truncatedBytes, ...fin });
      logger.info('recording recovered', { path, records: fin.records, truncatedBytes });
    } catch (err) {
      const error = err instanceof StorageError ? err : new StorageError(StorageErrorCode.LOG_IO, 'recovery failed', { cause: err, path });
      failed.push({ path, error });
      logger.error('recording recovery failed', { path, error });
    }
  }
  return { recovered, failed };
}
