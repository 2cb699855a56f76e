/**
 * Gradient functions for the kernels the world model differentiates through. tfjs-core's npm build
 * registers its gradients only from its ESM sources (dist/register_all_gradients.js, extensionless
 * imports that plain Node cannot load), and its Node bundle carries none, so tf.variableGrads fails
 * with "gradient function not found". These are the same formulas as tfjs-core's *_grad.ts files,
 * restricted to public tf ops; a kernel that already has a gradient (e.g. from the full tfjs bundle)
 * keeps it.
 */
import * as tf from '@tensorflow/tfjs-core';

const { getReductionAxes, assertAndGetBroadcastShape } = tf.backend_util;

/** Sums dy over the axes that broadcasting added to `shape`, then restores `shape`. */
function unbroadcast(dy: tf.Tensor, shape: number[], outShape: number[]): tf.Tensor {
  const axes = getReductionAxes(shape, outShape);
  return tf.reshape(axes.length > 0 ? tf.sum(dy, axes) : dy, shape);
}

/** Swaps the last two axes (matrix transpose, batched when rank > 2). */
function tr(t: tf.Tensor): tf.Tensor {
  const r = t.rank;
  const perm = Array.from({ length: r }, (_, i) => i);
  perm[r - 2] = r - 1;
  perm[r - 1] = r - 2;
  return tf.transpose(t, perm);
}

const configs: tf.GradConfig[] = [
  {
    kernelName: 'BatchMatMul',
    inputsToSave: ['a', 'b'],
    // Same maths as tfjs-core, but with explicit transposes: the wasm backend's matMul with a transpose
    // flag takes a slow path (measured 0.8 ms vs 0.12 ms for transpose + plain matMul at 64×160·64×128),
    // which made the backward pass 5× the forward.
    gradFunc: (dy, saved, attrs) => {
      const [a, b] = saved as [tf.Tensor, tf.Tensor];
      const { transposeA, transposeB } = attrs as { transposeA: boolean; transposeB: boolean };
      const d = dy as tf.Tensor;
      const mm = (x: tf.Tensor, y: tf.Tensor) => tf.matMul(x, y);
      if (!transposeA && !transposeB) return { a: () => mm(d, tr(b)), b: () => mm(tr(a), d) };
      if (!transposeA && transposeB) return { a: () => mm(d, b), b: () => mm(tr(d), a) };
      if (transposeA && !transposeB) return { a: () => mm(b, tr(d)), b: () => mm(a, d) };
      return { a: () => mm(tr(b), tr(d)), b: () => mm(tr(d), tr(a)) };
    },
  },
  {
    kernelName: 'Add',
    inputsToSave: ['a', 'b'],
    gradFunc: (dy, saved) => {
      const [a, b] = saved as [tf.Tensor, tf.Tensor];
      const out = assertAndGetBroadcastShape(a.shape, b.shape);
      return { a: () => unbroadcast(dy as tf.Tensor, a.shape, out), b: () => unbroadcast(dy as tf.Tensor, b.shape, out) };
    },
  },
  {
    kernelName: 'Sub',
    inputsToSave: ['a', 'b'],
    gradFunc: (dy, saved) => {
      const [a, b] = saved as [tf.Tensor, tf.Tensor];
      const out = assertAndGetBroadcastShape(a.shape, b.shape);
      return { a: () => unbroadcast(dy as tf.Tensor, a.shape, out), b: () => unbroadcast(tf.neg(dy as tf.Tensor), b.shape, out) };
    },
  },
  {
    kernelName: 'Multiply',
    inputsToSave: ['a', 'b'],
    gradFunc: (dy, saved) => {
      const [a, b] = saved as [tf.Tensor, tf.Tensor];
      const out = assertAndGetBroadcastShape(a.shape, b.shape);
      const d = dy as tf.Tensor;
      return {
        a: () => unbroadcast(tf.mul(d, tf.cast(b, 'float32')), a.shape, out),
        b: () => unbroadcast(tf.mul(d, tf.cast(a, 'float32')), b.shape, out),
      };
    },
  },
  {
    kernelName: 'Relu',
    inputsToSave: ['x'],
    gradFunc: (dy, saved) => {
      const [x] = saved as [tf.Tensor];
      return { x: () => tf.mul(dy as tf.Tensor, tf.cast(tf.step(x), 'float32')) };
    },
  },
  {
    kernelName: 'Square',
    inputsToSave: ['x'],
    gradFunc: (dy, saved) => {
      const [x] = saved as [tf.Tensor];
      return { x: () => tf.mul(dy as tf.Tensor, tf.mul(tf.cast(x, 'float32'), 2)) };
    },
  },
  {
    kernelName: 'Mean',
    inputsToSave: ['x'],
    gradFunc: (dy, saved, attrs) => {
      const [x] = saved as [tf.Tensor];
      const axes = tf.util.parseAxisParam((attrs as { axis: number | number[] }).axis, x.shape);
      const expanded = x.shape.slice();
      let count = 1;
      for (const a of axes) {
        count *= x.shape[a] ?? 1;
        expanded[a] = 1;
      }
      return { x: () => tf.div(tf.mul(tf.reshape(dy as tf.Tensor, expanded), tf.ones(x.shape, 'float32')), count) };
    },
  },
  {
    kernelName: 'Concat',
    saveAllInputs: true,
    gradFunc: (dy, saved, attrs) => {
      const inputs = saved as tf.Tensor[];
      const first = inputs[0];
      if (!first) return {};
      const axis = tf.util.parseAxisParam((attrs as { axis: number }).axis, first.shape)[0] ?? 0;
      const parts = tf.split(
        dy as tf.Tensor,
        inputs.map((t) => t.shape[axis] ?? 0),
        axis,
      );
      return Object.fromEntries(parts.map((p, i) => [String(i), () => p]));
    },
  },
];

/** Idempotent: registers each gradient the engine does not already have. */
export function ensureGradients(): void {
  for (const c of configs) {
    if (!tf.getGradient(c.kernelName)) tf.registerGradient(c);
  }
}
