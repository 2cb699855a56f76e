// The retrain gate on a session shorter than its longest horizon needs: it judges the configured
// horizons the held-out tail supports, says which it did not judge, and still keeps out a worse model.
// Real models: the shipped base, and the OpenSim walk (151 frames) with a 40-frame held-out tail.
import { beforeAll, describe, expect, it } from 'vitest';
import { selectBackend } from '../../../../models/backend.js';
import { loadCheckpoint, type LoadedCheckpoint } from '../../../../models/checkpoint.js';
import { loadFeatureSequence } from '../../../../models/feature-sequences.js';
import type { FeatureSequence } from '../../../../models/types.js';
import { WorldModel, type WorldModelWeights } from '../../../../models/world-model.js';
import { SHIPPED_MODEL_DIR } from '../../../../src/config.js';
import { gatePatientModel, MIN_GATE_TRANSITIONS } from '../../../../src/jobs/workers/retrain-evaluation.js';
import { splitTail } from '../../../../src/jobs/workers/retrain-worker.js';
import { hasMotionData, motion } from '../../../helpers/motion-data.js';

const HORIZONS = [1, 5, 10, 30];

describe.runIf(hasMotionData)('retrain gate on a short held-out tail', () => {
  let base: LoadedCheckpoint & { kind: 'base' };
  let train: FeatureSequence;
  let heldOut: FeatureSequence;
  beforeAll(async () => {
    await selectBackend('wasm');
    base = (await loadCheckpoint(SHIPPED_MODEL_DIR)) as LoadedCheckpoint & { kind: 'base' };
    const seq = await loadFeatureSequence({ path: motion('opensim-gait', 'subject01_walk1.trc'), assessment: 'gait', subject: 's01' });
    ({ train, heldOut } = splitTail(seq, 0.01, 40));
  });

  const gate = async (weights: WorldModelWeights, tail = heldOut, horizons = HORIZONS) => {
    const b = new WorldModel(base.modelConfig, base.weights);
    const p = new WorldModel(base.modelConfig, weights);
    try {
      return await gatePatientModel(b, p, [train], tail, base.normalization, { backend: 'wasm', horizons, passes: 2 });
    } finally {
      b.dispose();
      p.dispose();
    }
  };

  it('judges Δh 1/5/10, names Δh 30 as not judged, and accepts a model as good as the base', async () => {
    expect(heldOut.t.length).toBe(40);
    const d = await gate(base.weights);
    expect(d.horizons).toEqual([1, 5, 10]);
    expect(d.notJudged).toEqual([{ horizon: 30, transitions: 10 }]);
    expect(Object.keys(d.patient).sort()).toEqual(['1', '10', '5']);
    expect(d.reason).toContain(`not judged (held-out tail of 40 frames): Δh 30 (10 transitions, needs ${MIN_GATE_TRANSITIONS})`);
    expect(d.accepted).toBe(true);
  }, 60_000);

  it('keeps out a model worse than the base on the horizons it judges', async () => {
    const d = await gate(perturbed(base.weights));
    expect(d.horizons).toEqual([1, 5, 10]);
    expect(d.accepted).toBe(false);
    expect(d.reason).toMatch(/^worse than the base at Δh 1: /);
    expect(d.reason).toContain('not judged');
  }, 60_000);

  it('rejects when the tail is too short for any configured horizon', async () => {
    const d = await gate(
      base.weights,
      { ...heldOut, t: heldOut.t.slice(0, 24), x: heldOut.x.slice(0, 24 * heldOut.names.length), poses: heldOut.poses.slice(0, 24 * 60) },
      [5, 10],
    );
    expect(d.accepted).toBe(false);
    expect(d.horizons).toEqual([]);
    expect(d.reason).toBe(
      `no configured horizon can be judged; not judged (held-out tail of 24 frames): Δh 5 (19 transitions, needs 20), Δh 10 (14 transitions, needs 20)`,
    );
  });
});

/** The base with its predictor's output layer scrambled (deterministic): a clearly worse model. */
function perturbed(w: WorldModelWeights): WorldModelWeights {
  let s = 7;
  const noise = (): number => ((s = (s * 1103515245 + 12345) % 2 ** 31) / 2 ** 31 - 0.5) * 0.5;
  const fc2 = w.predictor.fc2;
  return { ...w, predictor: { ...w.predictor, fc2: { ...fc2, w: fc2.w.map((v) => v + noise()), b: fc2.b.map((v) => v + noise()) } } };
}
