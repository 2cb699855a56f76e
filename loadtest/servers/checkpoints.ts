// Model checkpoints both benchmarked servers load: a base model and one adapter per simulated patient
// (src/inference/bench-checkpoints: seeded, untrained — they cost exactly what trained ones do), with
// the normalisation of the real walk's features. Written once per bench run, read by both servers.
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { buildBenchCheckpoints } from '../../src/inference/bench-checkpoints.js';
import { loadFeatureSequence } from '../../models/feature-sequences.js';

export interface CheckpointSet {
  readonly baseDir: string;
  /** patientId → checkpoint dir */
  readonly patients: Readonly<Record<string, string>>;
}

export async function writeCheckpointSet(dir: string, recording: string, patientIds: readonly string[]): Promise<CheckpointSet> {
  const seq = await loadFeatureSequence({ path: recording, assessment: 'gait', subject: 'bench' });
  const ck = await buildBenchCheckpoints(dir, [seq], patientIds);
  const set: CheckpointSet = { baseDir: ck.base.dir, patients: Object.fromEntries(ck.patients) };
  await writeFile(join(dir, 'set.json'), JSON.stringify(set));
  return set;
}

export async function readCheckpointSet(dir: string): Promise<CheckpointSet> {
  return JSON.parse(await readFile(join(dir, 'set.json'), 'utf8')) as CheckpointSet;
}
