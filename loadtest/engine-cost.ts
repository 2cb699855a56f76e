// Engine cost per batch size on this thread (the in-process path the adaptive dispatch uses), to pick
// the inline threshold (inlineMaxRows): node --import tsx loadtest/engine-cost.ts [checkpoint-set-dir]
// (a set written by loadtest/servers/checkpoints.ts; profile-server.ts leaves one in /tmp/jepa-prof-ck).
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { readCheckpointSet } from './servers/checkpoints.js';
import { createEngine } from '../src/inference/tfjs-engine.js';

const set = await readCheckpointSet(process.argv[2] ?? join(tmpdir(), 'jepa-prof-ck'));
const e = await createEngine({ backend: 'wasm', options: { checkpointDir: set.baseDir, horizons: [1, 5, 10, 30], passes: 10 } });
for (const n of [1, 2, 4, 8, 12, 16, 32, 64, 128]) {
  const x = new Float32Array(n * e.featureDim).map((_, i) => Math.sin(i));
  const patients = Array.from({ length: n }, () => null);
  for (let i = 0; i < 20; i++) await e.run({ n, x, patients });
  const reps = 200;
  const t0 = performance.now();
  for (let i = 0; i < reps; i++) await e.run({ n, x, patients });
  const ms = (performance.now() - t0) / reps;
  process.stdout.write(`n=${n} ${ms.toFixed(3)} ms/batch ${(ms / n).toFixed(3)} ms/row\n`);
}
