// Reading the world model's predictions out of a feedback (or a dashboard update).
import type { Prediction } from '../../src/protocol/index.js';

/**
 * The prediction for `h` frames ahead (one of `ready.horizons`), or undefined when the frame got none
 * (shed, no model) or the server does not predict at that horizon. Its `pose` (when present) is a
 * Float32Array of 20 canonical joints × xyz in metres, world frame.
 */
export function predictionAt(msg: { readonly predictions?: readonly Prediction[] | undefined }, h: number): Prediction | undefined {
  return msg.predictions?.find((p) => p.h === h);
}
