// The dense products one live inference batch runs (createBatchedInference.runPacked with the mask bank,
// the wasm kernels and, with a probe, the decoded poses), as [rows, inner, cols] shapes. The GEMM-rate
// benchmark times exactly these with plain matMuls to say what fraction of the engine's time is the
// arithmetic the backend can do at its own GEMM rate. Adapter terms are not GEMMs here (wasm-kernels.ts
// lowRankTerm), so they are not in the list: an adapted batch is measured against the same FLOPs.
import type { WorldModelConfig } from './world-model.js';

export interface Gemm {
  readonly name: string;
  readonly m: number;
  readonly k: number;
  readonly n: number;
}

/** The probe's output width: 20 canonical joints × xyz. */
const PROBE_OUT = 60;

export function liveGemms(
  config: Pick<WorldModelConfig, 'featureDim' | 'hiddenDim' | 'latentDim'>,
  rows: number,
  passes: number,
  horizons: number,
  decodesPoses: boolean,
): Gemm[] {
  const { featureDim: F, hiddenDim: Hd, latentDim: L } = config;
  // mcCore: encoder layer 1 once per frame, layer 2 for the clean copy and P masked ones; predictor layer 1's
  // latent part per copy (the clean copy too when poses are decoded: it feeds the dropout-off prediction),
  // its horizon part once per horizon for the whole batch (constants), layer 2 per (frame, horizon, pass).
  const list: Gemm[] = [
    { name: 'encoder.fc1', m: rows, k: F, n: Hd },
    { name: 'encoder.fc2', m: rows * (passes + 1), k: Hd, n: L },
    { name: 'predictor.fc1 (latent part)', m: rows * (decodesPoses ? passes + 1 : passes), k: L, n: Hd },
    { name: 'predictor.fc2', m: rows * horizons * passes, k: Hd, n: L },
  ];
  if (decodesPoses) {
    list.push({ name: 'predictor.fc2 (dropout off)', m: rows * horizons, k: Hd, n: L });
    list.push({ name: 'probe decode', m: rows * (horizons + 1), k: L, n: PROBE_OUT });
  }
  return list;
}

export const gemmFlops = (g: Gemm): number => 2 * g.m * g.k * g.n;
