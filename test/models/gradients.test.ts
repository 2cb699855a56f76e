// The hand-registered gradients against central finite differences on a small model-shaped loss.
import * as tf from '@tensorflow/tfjs-core';
import { beforeAll, describe, expect, it } from 'vitest';
import { selectBackend } from '../../models/backend.js';
import { ensureGradients } from '../../models/gradients.js';
import { createRng } from '../../models/rng.js';

beforeAll(async () => {
  await selectBackend('cpu'); // float32 everywhere; cpu keeps the finite-difference noise predictable
  ensureGradients();
});

describe('gradients', () => {
  it('match finite differences for matMul/add/mul/relu/concat/sub/square/mean', () => {
    const rng = createRng(4);
    const r = (n: number) => Float32Array.from({ length: n }, () => rng.normal());
    const x = tf.tensor2d(r(15), [5, 3]);
    const s = tf.tensor2d(r(5), [5, 1]);
    const t = tf.tensor2d(r(10), [5, 2]);
    const w = tf.variable(tf.tensor2d(r(12), [3, 4]));
    const b = tf.variable(tf.tensor1d(r(4)));
    const v = tf.variable(tf.tensor2d(r(10), [5, 2]));
    const f = () =>
      tf.tidy(() => {
        const h = tf.mul(tf.relu(tf.add(tf.matMul(x, w), b)), 1.5);
        const u = tf.concat([h, s], 1);
        const y = tf.matMul(u, v);
        return tf.mean(tf.square(tf.sub(y, t))) as tf.Scalar;
      });
    try {
      const { value, grads } = tf.variableGrads(f, [w, b, v]);
      value.dispose();
      for (const p of [w, b, v] as tf.Variable[]) {
        const g = grads[p.name]?.dataSync() ?? new Float32Array();
        const base = p.dataSync().slice();
        for (let i = 0; i < base.length; i++) {
          const eps = 1e-2;
          const bump = (d: number) => {
            const c = base.slice();
            c[i] = (c[i] ?? 0) + d;
            tf.tidy(() => {
              p.assign(tf.tensor(c, p.shape));
            });
            const l = f();
            const out = l.dataSync()[0] ?? NaN;
            l.dispose();
            return out;
          };
          const fd = (bump(eps) - bump(-eps)) / (2 * eps);
          tf.tidy(() => {
            p.assign(tf.tensor(base, p.shape));
          });
          expect(g[i]).toBeCloseTo(fd, 2);
        }
      }
      tf.dispose(Object.values(grads));
    } finally {
      tf.dispose([x, s, t, w, b, v]);
    }
  });
});
