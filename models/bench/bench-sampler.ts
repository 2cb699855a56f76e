/**
 * Evidence for the sampler defaults (models/dataset.ts): samples per frame × horizon law, trained on the
 * first 70 % of the patient recording and evaluated on the last 30 %, training time beside quality.
 * Run: npx tsx models/bench/bench-sampler.ts [--repeats N] [--json]
 */
import { selectBackend } from '../backend.js';
import { computeNormalization, createTransitionSampler, type HorizonLaw } from '../dataset.js';
import { evaluateWorldModel, fitProbeForModel } from '../evaluate.js';
import { evaluableWorldModel } from '../evaluate-world-model.js';
import { median } from '../stats.js';
import { trainWorldModel } from '../train.js';
import { argValue, table } from './bench-util.js';
import { loadFeatureSequence, sliceSequence } from '../feature-sequences.js';
import { PATIENT_SPEC } from './recordings.js';

const argv = process.argv.slice(2);
const repeats = Number(argValue(argv, 'repeats') ?? 2);
const backend = await selectBackend('wasm');
const seq = await loadFeatureSequence(PATIENT_SPEC);
const cut = Math.floor(seq.t.length * 0.7);
const train = [sliceSequence(seq, 0, cut)];
const test = [sliceSequence(seq, cut, seq.t.length)];
const norm = computeNormalization(train);
const H = ['1', '5', '10', '30'];
const rows: { law: HorizonLaw; samplesPerFrame: number; seconds: number; normalized_mse: Record<string, number>; pose_mm: Record<string, number> }[] = [];
for (const law of ['log-uniform', 'uniform'] as const) {
  for (const spf of law === 'uniform' ? [1] : [1, 2, 4]) {
    const secs: number[] = [];
    const nm: Record<string, number[]> = {};
    const mm: Record<string, number[]> = {};
    for (let r = 0; r < repeats; r++) {
      const res = await trainWorldModel({ sampler: createTransitionSampler(train, norm, { seed: r, samplesPerFrame: spf, horizonLaw: law }) }, { seed: r });
      secs.push(res.seconds);
      const m = evaluableWorldModel(res.model, { backend });
      const rep = evaluateWorldModel(m, test, norm, fitProbeForModel(m, train, norm));
      for (const h of H) {
        (nm[h] ??= []).push(rep.horizons[h]!.normalized_mse);
        (mm[h] ??= []).push(rep.horizons[h]!.pose_mm);
      }
      res.model.dispose();
    }
    rows.push({
      law,
      samplesPerFrame: spf,
      seconds: median(secs),
      normalized_mse: Object.fromEntries(H.map((h) => [h, median(nm[h]!)])),
      pose_mm: Object.fromEntries(H.map((h) => [h, median(mm[h]!)])),
    });
  }
}
if (argv.includes('--json')) console.log(JSON.stringify({ backend, train_frames: cut, test_frames: seq.t.length - cut, repeats, rows }, null, 2));
else {
  console.log(`backend ${backend}; ${PATIENT_SPEC.path}: train ${cut} frames, held-out ${seq.t.length - cut}; medians of ${repeats} seeds`);
  console.log(
    table(
      ['law', 'samples/frame', 'train s', ...H.map((h) => `nMSE@${h}`), ...H.map((h) => `mm@${h}`)],
      rows.map((r) => [r.law, r.samplesPerFrame, r.seconds, ...H.map((h) => r.normalized_mse[h]!), ...H.map((h) => r.pose_mm[h]!)]),
    ),
  );
}
