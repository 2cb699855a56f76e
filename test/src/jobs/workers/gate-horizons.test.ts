// The retrain gate judges the configured horizons (config.horizons), each only where the held-out tail
// has enough transitions for an MSE worth deciding on.
import { expect, it } from 'vitest';
import { gateHorizons, MIN_GATE_TRANSITIONS } from '../../../../src/jobs/workers/retrain-worker.js';

it('keeps every configured horizon the tail can judge with MIN_GATE_TRANSITIONS transitions', () => {
  expect(MIN_GATE_TRANSITIONS).toBe(20);
  // A 151-frame session holds out 31 frames: Δh 30 would rest on one transition.
  expect(gateHorizons([1, 5, 10, 30], 31)).toEqual([1, 5, 10]);
  // A 20 s session (1200 frames) holds out 240: every configured horizon is judged.
  expect(gateHorizons([1, 5, 10, 30], 240)).toEqual([1, 5, 10, 30]);
  expect(gateHorizons([1, 5, 10, 30], 50)).toEqual([1, 5, 10, 30]);
  expect(gateHorizons([1, 5, 10, 30], 49)).toEqual([1, 5, 10]);
  // Too short even for the smallest: nothing is judged (the gate then rejects; the worker never holds out so little).
  expect(gateHorizons([5, 10], 21)).toEqual([]);
});
