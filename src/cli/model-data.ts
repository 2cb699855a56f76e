// Recordings → the world model's inputs, for `train` and `eval`: stage 0 then the live session
// pipeline, so a model sees offline exactly the features it will see live.
import { basename, extname } from 'node:path';
import { featureSequenceFromRecording } from '../../models/feature-sequences.js';
import type { FeatureSequence } from '../../models/types.js';
import type { Assessment } from '../../streams/types.js';
import { assessmentFor } from '../pipeline/run-pipeline.js';
import { readAnyRecording } from '../pipeline/session-recording.js';

export async function loadSequences(files: readonly string[], assessment?: Assessment): Promise<FeatureSequence[]> {
  const out: FeatureSequence[] = [];
  for (const path of files) {
    const recording = await readAnyRecording(path);
    const subject = recording.meta.subject ?? basename(path, extname(path));
    out.push(await featureSequenceFromRecording(recording, { path, assessment: assessmentFor(recording, assessment), subject }));
  }
  return out;
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
