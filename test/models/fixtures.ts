// Synthetic sequences with known exact answers for the dataset/evaluation tests.
import type { FeatureSequence } from '../../models/types.js';

/** Features [t, 2t + c] per frame t: every row reveals its own frame index. */
export function rampSequence(frames: number, c = 0, file = 'ramp'): FeatureSequence {
  const x = new Float32Array(frames * 2);
  for (let t = 0; t < frames; t++) {
    x[2 * t] = t;
    x[2 * t + 1] = 2 * t + c;
  }
  return {
    names: ['a', 'b'],
    x,
    t: Float64Array.from({ length: frames }, (_, i) => i / 60),
    poses: new Float32Array(frames * 60),
    source: { file, sha256: 'f'.repeat(64) },
  };
}
