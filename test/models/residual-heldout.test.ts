// The residual predictor against the identity baseline on a HELD-OUT subject (DESIGN.md "World model":
// the model must beat ẑ = target(x_t) at every evaluated horizon). Trained on two other subjects' real
// walking (Camargo overground, Shida PD gait), evaluated with the evaluation module on Fukuchi treadmill
// walking. The pre-residual model (plain MLP, log1p horizon input, online encoder) is trained alike as
// the "before" reference.
import { beforeAll, describe, expect, it } from 'vitest';
import { selectBackend } from '../../models/backend.js';
import { loadFeatureSequence } from '../../models/feature-sequences.js';
import { publicRecordings } from '../../models/bench/recordings.js';
import { computeNormalization, createTransitionSampler } from '../../models/dataset.js';
import { evaluateWorldModel, fitProbeForModel, type EvaluationReport } from '../../models/evaluate.js';
import { evaluableWorldModel } from '../../models/evaluate-world-model.js';
import { trainWorldModel, type TrainArgs } from '../../models/train.js';
import type { FeatureSequence, Normalization } from '../../models/types.js';
import type { WorldModelArgs } from '../../models/world-model.js';
import { hasMotionData } from '../helpers/motion-data.js';

let backend = '';
beforeAll(async () => {
  backend = await selectBackend('wasm');
});

async function trainAndEvaluate(
  train: FeatureSequence[],
  heldOut: FeatureSequence[],
  norm: Normalization,
  model: Omit<WorldModelArgs, 'featureDim'>,
  args: TrainArgs,
): Promise<EvaluationReport> {
  const sampler = createTransitionSampler(train, norm, { seed: 1 });
  const r = await trainWorldModel({ sampler, model }, { epochs: 20, seed: 1, ...args });
  try {
    const m = evaluableWorldModel(r.model, { backend });
    return evaluateWorldModel(m, heldOut, norm, fitProbeForModel(m, train, norm));
  } finally {
    r.model.dispose();
  }
}

describe.skipIf(!hasMotionData)('residual world model on a held-out subject', () => {
  it('beats the identity baseline at Δh = 1, 5, 10, 30 where the plain predictor lost badly at short horizons', async () => {
    const specs = publicRecordings().filter((s) => s.assessment === 'gait');
    const pick = (subject: string) => specs.filter((s) => s.subject === subject);
    const train = await Promise.all([...pick('camargo-01'), ...pick('shida-SUB05')].map((s) => loadFeatureSequence(s)));
    const heldOut = await Promise.all(pick('fukuchi-WBDS19').map((s) => loadFeatureSequence(s)));
    expect(train).toHaveLength(2);
    expect(heldOut).toHaveLength(1);
    const norm = computeNormalization(train);

    const after = await trainAndEvaluate(train, heldOut, norm, {}, {});
    const before = await trainAndEvaluate(
      train,
      heldOut,
      norm,
      { residual: false, horizonScaling: { kind: 'log1p', maxHorizon: 240 } },
      { inferenceEncoder: 'online' },
    );
    for (const h of ['1', '5', '10', '30']) {
      const a = after.horizons[h];
      expect(a?.normalized_mse).toBeLessThan(a?.identity_normalized_mse ?? 0);
    }
    // With the residual's first defaults (online base, Δh up to the sequence length) Δh = 1 was won by a
    // hair (0.0568 vs 0.0570) and Δh ≥ 5 by 1.5–7 %; the current defaults (residualBase 'target', Δh ≤ 30)
    // are measured leave-subject-out in models/bench/build-pretrained.ts / lso-quick.ts.
    expect(after.horizons['30']?.normalized_mse).toBeLessThan((after.horizons['30']?.identity_normalized_mse ?? 0) * 0.98);
    // Short horizons were the failure: the plain MLP was many times worse than copying the latent.
    const b1 = before.horizons['1'];
    expect(b1?.normalized_mse).toBeGreaterThan(5 * (b1?.identity_normalized_mse ?? Infinity));
    expect(after.horizons['1']?.normalized_mse).toBeLessThan((b1?.normalized_mse ?? 0) / 10);
    // Not bought by collapsing the latent space.
    expect(after.collapse.effective_rank).toBeGreaterThan(4);
    expect(after.collapse.min_dim_std).toBeGreaterThan(1e-3);
  }, 60_000);
});
