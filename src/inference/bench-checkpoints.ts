/**
 * Checkpoints for the inference benchmark and its integration test: a base model (seeded init, the
 * default architecture) with the normalisation of real feature sequences, and patient checkpoints
 * with non-zero rank-4 adapters on that base. Untrained weights cost exactly what trained ones do, so
 * throughput and latency numbers hold for any model of this architecture.
 */
import { join } from 'node:path';
import { initAdapter, type AdapterWeights } from '../../models/adapters.js';
import { loadCheckpoint, saveCheckpoint, type LoadedCheckpoint } from '../../models/checkpoint.js';
import { computeNormalization } from '../../models/dataset.js';
import { createRng, uniformArray } from '../../models/rng.js';
import type { FeatureSequence } from '../../models/types.js';
import { initWeights, resolveModelConfig } from '../../models/world-model.js';

export interface BenchCheckpoints {
  readonly base: LoadedCheckpoint;
  /** patientId → patient checkpoint directory. */
  readonly patients: ReadonlyMap<string, string>;
  /** patientId → its adapter (to compute expected outputs). */
  readonly adapters: ReadonlyMap<string, AdapterWeights>;
}

export async function buildBenchCheckpoints(dir: string, seqs: readonly FeatureSequence[], patientIds: readonly string[], seed = 1): Promise<BenchCheckpoints> {
  const first = seqs[0];
  if (!first) throw new RangeError('buildBenchCheckpoints needs at least one feature sequence');
  const config = resolveModelConfig({ featureDim: first.names.length });
  const common = {
    featureNames: first.names,
    normalization: computeNormalization(seqs),
    modelConfig: config,
    trainingConfig: { note: 'seeded initialisation, untrained (inference benchmark)', seed },
    lossCurve: [],
    backend: 'none',
    provenance: { inputs: seqs.map((s) => ({ file: s.source.file, sha256: s.source.sha256 })) },
  };
  const baseDir = join(dir, 'base');
  await saveCheckpoint(baseDir, { ...common, kind: 'base', weights: initWeights(config, seed) });
  const base = await loadCheckpoint(baseDir);
  const patients = new Map<string, string>();
  const adapters = new Map<string, AdapterWeights>();
  const rng = createRng(seed + 1);
  for (const [i, id] of patientIds.entries()) {
    const init = initAdapter(config, {}, seed + 2 + i);
    // A fresh adapter has B = 0 (it reproduces the base); give it a visible, patient-specific update.
    const layers = Object.fromEntries(
      Object.entries(init.layers).map(([name, l]) => [name, { ...l, b: uniformArray(rng, l.b.length, -0.5, 0.5) }]),
    ) as AdapterWeights['layers'];
    const adapter: AdapterWeights = { ...init, layers };
    const pdir = join(dir, `patient-${i}`);
    await saveCheckpoint(pdir, { ...common, kind: 'patient', base: { weightsSha256: base.weightsSha256, ref: baseDir }, adapter });
    patients.set(id, pdir);
    adapters.set(id, adapter);
  }
  return { base, patients, adapters };
}
