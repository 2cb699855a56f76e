// Arithmetic of one MC-dropout call (mcCore, no adapter), for FLOP/s figures: 2 × the multiply-adds of
// its matMuls, following the sharing mcCore does — encoder layer 1 once per frame, encoder layer 2 for
// P masked + 1 clean copy, predictor layer 1's latent part once per (frame, pass) and its horizon part
// once per horizon for the whole batch (split by linearity), predictor layer 2 per (frame, horizon, pass).
// Counting predictor layer 1 per horizon (as if [z; s] were stacked for every horizon) overstates a
// frame by ≈ 1.48× at the default sizes (1.54 vs 1.04 MFLOP).
import type { WorldModelConfig } from './world-model.js';

export function mcGemmFlops(config: Pick<WorldModelConfig, 'featureDim' | 'hiddenDim' | 'latentDim'>, rows: number, passes: number, horizons: number): number {
  const { featureDim: F, hiddenDim: Hd, latentDim: L } = config;
  const perFrame = F * Hd + (passes + 1) * Hd * L + passes * L * Hd + passes * horizons * Hd * L;
  return 2 * (rows * perFrame + horizons * Hd);
}
