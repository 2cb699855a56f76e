// Passes on a CPU host (tfjs-node-gpu absent, the usual case: it is an optional dependency) and on a GPU
// host where it is installed: what selectBackend must do differs, so the test asks which host it is on.
import { createRequire } from 'node:module';
import * as tf from '@tensorflow/tfjs-core';
import { describe, expect, it } from 'vitest';
import { activeBackend, backendAttempts, selectBackend } from '../../models/backend.js';

const GPU_PACKAGE = '@tensorflow/tfjs-node-gpu';
const gpuInstalled = ((): boolean => {
  try {
    createRequire(import.meta.url).resolve(GPU_PACKAGE);
    return true;
  } catch {
    return false;
  }
})();
/** Set by the first test: whether tfjs-node-gpu loaded here (installed is necessary, not sufficient: CUDA). */
let gpuLoaded = false;

describe('selectBackend', () => {
  it('uses tfjs-node-gpu when it loads, else falls back to wasm recording why, and reports the active backend', async () => {
    const name = await selectBackend('tensorflow');
    const attempts = backendAttempts();
    expect(attempts[0]?.backend).toBe('tensorflow');
    gpuLoaded = attempts[0]?.ok === true;
    if (gpuLoaded) {
      expect(gpuInstalled).toBe(true);
      expect(name).toBe('tensorflow');
      expect(activeBackend()).toBe('tensorflow');
      expect(attempts).toHaveLength(1);
    } else {
      expect(name).toBe('wasm');
      expect(activeBackend()).toBe('wasm');
      // Absent: the reason names the package. Installed but unloadable (no CUDA): whatever it said.
      expect(attempts[0]?.reason).toMatch(gpuInstalled ? /\S/ : /tfjs-node-gpu/);
      expect(attempts[1]).toEqual({ backend: 'wasm', ok: true });
    }
  });

  it('honours wasm and cpu preferences; the default order prefers tfjs-node-gpu only where it loads', async () => {
    expect(await selectBackend('wasm')).toBe('wasm');
    // SIMD build in use (the .wasm files were found offline in node_modules).
    expect(await tf.env().getAsync('WASM_HAS_SIMD_SUPPORT')).toBe(true);
    expect(await selectBackend('cpu')).toBe('cpu');
    expect(tf.getBackend()).toBe('cpu');
    // Real math runs on the chosen backend without console noise (the quiet-console setup would fail the test).
    expect(Array.from(tf.tidy(() => tf.matMul(tf.tensor2d([1, 2], [1, 2]), tf.tensor2d([3, 4], [2, 1])).dataSync()))).toEqual([11]);
    expect(await selectBackend()).toBe(gpuLoaded ? 'tensorflow' : 'wasm');
  });
});
