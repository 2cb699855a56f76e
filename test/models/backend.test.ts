import * as tf from '@tensorflow/tfjs-core';
import { describe, expect, it } from 'vitest';
import { activeBackend, backendAttempts, selectBackend } from '../../models/backend.js';

describe('selectBackend', () => {
  it('falls back from an absent tfjs-node-gpu to wasm, recording why, and reports the active backend', async () => {
    const name = await selectBackend('tensorflow');
    expect(name).toBe('wasm');
    expect(activeBackend()).toBe('wasm');
    const attempts = backendAttempts();
    expect(attempts[0]).toMatchObject({ backend: 'tensorflow', ok: false });
    expect(attempts[0]?.reason).toMatch(/tfjs-node-gpu/);
    expect(attempts[1]).toEqual({ backend: 'wasm', ok: true });
    // SIMD build in use (the .wasm files were found offline in node_modules).
    expect(await tf.env().getAsync('WASM_HAS_SIMD_SUPPORT')).toBe(true);
  });

  it('honours a cpu preference and can switch back to wasm; default order picks wasm here', async () => {
    expect(await selectBackend('cpu')).toBe('cpu');
    expect(tf.getBackend()).toBe('cpu');
    // Real math runs on the chosen backend without console noise (the quiet-console setup would fail the test).
    expect(Array.from(tf.tidy(() => tf.matMul(tf.tensor2d([1, 2], [1, 2]), tf.tensor2d([3, 4], [2, 1])).dataSync()))).toEqual([11]);
    expect(await selectBackend()).toBe('wasm');
  });
});
