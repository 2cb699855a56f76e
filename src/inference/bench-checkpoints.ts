/**
 * Checkpoints for the inference benchmark and its integration test: a base model (seeded init, the
 * default architecture) with the normalisation of real feature sequences, and patient checkpoints
 * with non-zero rank-4 adapters on that base. Untrained weights cost exactly what trained ones do, so
 * throughput and latency numbers hold for any model of this architecture. The base gets a probe decoder
 * (probe.npz) fitted on the sequences' latents, as `jepa-motion train` writes one, so the engine can
 * decode predicted poses at the cost it has with a trained model.
 */
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { activeBackend, selectBackend } from '../../models/backend.js';
import { initAdapter, type AdapterWeights } from '../../models/adapters.js';
import { loadCheckpoint, saveCheckpoint, type LoadedCheckpoint } from '../../models/checkpoint.js';
import { computeNormalization } from '../../models/dataset.js';
import { fitProbeForModel } from '../../models/evaluate.js';
import { evaluableWorldModel } from '../../models/evaluate-world-model.js';
import { probeToNpz } from '../../models/probe-decoder.js';
import { createRng, uniformArray } from '../../models/rng.js';
import type { FeatureSequence } from '../../models/types.js';
import { initWeights, resolveModelConfig, WorldModel } from '../../models/world-model.js';

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
  await writeFile(join(baseDir, 'probe.npz'), probeToNpz(await fitBenchProbe(base, seqs)));
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

/** The ridge probe of the base's target latents on the sequences (on the active tfjs backend, else cpu). */
async function fitBenchProbe(base: LoadedCheckpoint, seqs: readonly FeatureSequence[]) {
  let backend: string | null = null;
  try {
    backend = activeBackend();
  } catch {
    // no backend registered in this thread yet
  }
  backend ??= await selectBackend('cpu');
  if (base.kind !== 'base') throw new RangeError('a bench probe is fitted on a base checkpoint');
  const model = new WorldModel(base.modelConfig, base.weights);
  try {
    return fitProbeForModel(evaluableWorldModel(model, { backend }), seqs, base.normalization);
  } finally {
    model.dispose();
  }
}
