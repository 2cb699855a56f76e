// Recordings → the world model's inputs, for `train` and `eval` (this CLI module is the composition
// root, so it may join src/ and models/): a server session (`.jmrl`) through src/recordings'
// sessionFeatures — the same call the retrain job makes, so `train x.jmrl` and the job learn from the
// same rows — and a motion-capture file through stage 0 and models/feature-sequences.
import { basename, extname } from 'node:path';
import { featureSequenceFromRecording } from '../../models/feature-sequences.js';
import type { FeatureSequence } from '../../models/types.js';
import { readRecording } from '../../streams/adapters/read-recording.js';
import { AdapterError } from '../../streams/errors.js';
import type { Assessment } from '../../streams/types.js';
import { ADAPTER_CODE, assessmentFor, SESSION_RECORDING_EXT } from '../pipeline/session-recording.js';
import { RecordingError } from '../recordings/errors.js';
import { sessionFeatures } from '../recordings/session-features.js';

export async function loadSequences(files: readonly string[], assessment?: Assessment): Promise<FeatureSequence[]> {
  const out: FeatureSequence[] = [];
  for (const path of files) out.push(await loadSequence(path, assessment));
  return out;
}

async function loadSequence(path: string, assessment?: Assessment): Promise<FeatureSequence> {
  if (path.endsWith(SESSION_RECORDING_EXT)) {
    try {
      // Same defaults as the retrain job (including its DEFAULT_MAX_FRAMES cap), so both learn the same rows.
      const r = await sessionFeatures(path, assessment ? { assessment } : {});
      return r.sequence;
    } catch (cause) {
      // The CLI reports input problems as AdapterErrors (exit code and message naming the file).
      if (cause instanceof RecordingError) throw new AdapterError(ADAPTER_CODE[cause.code], basename(path), cause.message, { cause });
      throw cause;
    }
  }
  const recording = await readRecording(path);
  const subject = recording.meta.subject ?? basename(path, extname(path));
  return featureSequenceFromRecording(recording, { path, assessment: assessmentFor(recording, assessment), subject });
}

/** A one-line progress bar on a terminal (stderr), nothing otherwise. */
export function progressBar(isTty: boolean, write: (s: string) => void, total: number): { update(done: number, label: string): void; end(): void } {
  const width = 30;
  return {
    update(done, label) {
      if (!isTty) return;
      const filled = Math.round((done / total) * width);
      write(`\r[${'#'.repeat(filled)}${' '.repeat(width - filled)}] ${done}/${total} ${label}`);
    },
    end() {
      if (isTty) write('\n');
    },
  };
}
