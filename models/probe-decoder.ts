/**
 * Probe decoder: latent → canonical pose (probe-pose.ts: root-relative, heading-aligned, 20 × 3 metres),
 * fitted after the JEPA with the encoder frozen, so predicted latents can be drawn and scored in mm.
 *
 * Closed-form ridge regression, per joint: a joint's three outputs are fitted only on the frames where
 * that joint is finite (the masked loss: NaN / unavailable joints contribute nothing), with an unpenalised
 * intercept. λ is chosen by contiguous-block cross-validation over a grid (blocks, not random rows,
 * because neighbouring frames are nearly identical and would make any λ look good). A linear probe is
 * also the honest choice: a strong non-linear decoder could recover pose from a poor latent and flatter it.
 */
import { ModelError, ModelErrorCode } from './errors.js';
import { decodeNpz, encodeNpz, NpzError } from './npz.js';
import { POSE_DIM } from './probe-pose.js';

const JOINTS = POSE_DIM / 3;
/** λ grid, relative to the mean diagonal of the joint's latent covariance (scale-free). */
export const DEFAULT_RIDGE_GRID: readonly number[] = [1e-6, 1e-5, 1e-4, 1e-3, 1e-2, 1e-1, 1];
export const DEFAULT_CV_FOLDS = 5;
/** A joint seen in fewer training frames than this is not decoded (its output is NaN). */
export const MIN_JOINT_FRAMES = 10;
/**
 * Decoded coordinates are clamped to the training range widened by this fraction of it on each side. A
 * latent far outside the training distribution (a collapsed or shifted encoder) otherwise decodes to
 * joints metres from the pelvis; clamped, it decodes to an extreme but bodily pose, so pose_mm of a
 * broken model stays on the baselines' scale (the collapse itself is reported by effective rank).
 */
export const CLAMP_MARGIN = 0.5;

export interface ProbeDecoder {
  readonly kind: 'ridge';
  readonly latentDim: number;
  /** latentDim × 60, row-major (pose = z·W + b). Columns of joints never seen in training are 0. */
  readonly weights: Float32Array;
  readonly bias: Float32Array;
  /** Per joint: decoded or not (not = no/too few training frames). */
  readonly trained: readonly boolean[];
  /** Chosen relative λ per joint (NaN for untrained joints). */
  readonly lambda: readonly number[];
  /** Per coordinate (60): decoded values are clamped to [lo, hi] (training range ± CLAMP_MARGIN·range). */
  readonly lo: Float32Array;
  readonly hi: Float32Array;
}

export interface ProbeArgs {
  readonly grid?: readonly number[];
  readonly folds?: number;
}

/** Solves (A) X = B for symmetric positive-definite A (d × d) and B (d × m) by Cholesky, in place on copies. */
export function solveSpd(a: Float64Array, b: Float64Array, d: number, m: number): Float64Array {
  const l = Float64Array.from(a);
  for (let j = 0; j < d; j++) {
    let s = l[j * d + j]!;
    for (let k = 0; k < j; k++) s -= l[j * d + k]! ** 2;
    if (!(s > 0)) throw new ModelError(ModelErrorCode.INVALID_ARGS, 'ridge system is not positive definite');
    const ljj = Math.sqrt(s);
    l[j * d + j] = ljj;
    for (let i = j + 1; i < d; i++) {
      let t = l[i * d + j]!;
      for (let k = 0; k < j; k++) t -= l[i * d + k]! * l[j * d + k]!;
      l[i * d + j] = t / ljj;
    }
  }
  const x = Float64Array.from(b);
  for (let c = 0; c < m; c++) {
    for (let i = 0; i < d; i++) {
      let t = x[i * m + c]!;
      for (let k = 0; k < i; k++) t -= l[i * d + k]! * x[k * m + c]!;
      x[i * m + c] = t / l[i * d + i]!;
    }
    for (let i = d - 1; i >= 0; i--) {
      let t = x[i * m + c]!;
      for (let k = i + 1; k < d; k++) t -= l[k * d + i]! * x[k * m + c]!;
      x[i * m + c] = t / l[i * d + i]!;
    }
  }
  return x;
}

/** Sufficient statistics of rows [z, y] (y = one joint's xyz) for ridge with intercept. */
interface Moments {
  n: number;
  sz: Float64Array; // d
  sy: Float64Array; // 3
  zz: Float64Array; // d × d
  zy: Float64Array; // d × 3
}
const emptyMoments = (d: number): Moments => ({
  n: 0,
  sz: new Float64Array(d),
  sy: new Float64Array(3),
  zz: new Float64Array(d * d),
  zy: new Float64Array(d * 3),
});

/**
 * Per-fold moments of one joint. The latent part (n, Σz, Σzzᵀ) only depends on which rows are used, so it
 * is shared between joints with the same availability mask (usually all of them): O(n·d²) once, not 20×.
 */
function jointMoments(z: Float32Array, poses: Float32Array, j: number, d: number, folds: number, cache: Map<string, { folds: Moments[] }>): Moments[] {
  const n = z.length / d;
  const rows: number[] = [];
  for (let i = 0; i < n; i++) if (jointFinite(poses, i * POSE_DIM + 3 * j)) rows.push(i);
  const key = rows.length === n ? 'all' : rows.join(',');
  const foldOf = (i: number): number => Math.min(folds - 1, Math.floor((i * folds) / n));
  let zPart = cache.get(key);
  if (zPart === undefined) {
    zPart = { folds: Array.from({ length: folds }, () => emptyMoments(d)) };
    for (const i of rows) {
      const m = zPart.folds[foldOf(i)]!;
      m.n++;
      for (let p = 0; p < d; p++) {
        const zp = z[i * d + p]!;
        m.sz[p] = m.sz[p]! + zp;
        for (let q = p; q < d; q++) m.zz[p * d + q] = m.zz[p * d + q]! + zp * z[i * d + q]!;
      }
    }
    for (const m of zPart.folds) for (let p = 0; p < d; p++) for (let q = 0; q < p; q++) m.zz[p * d + q] = m.zz[q * d + p]!;
    cache.set(key, zPart);
  }
  const out = zPart.folds.map((m) => ({ n: m.n, sz: m.sz, zz: m.zz, sy: new Float64Array(3), zy: new Float64Array(d * 3) }));
  for (const i of rows) {
    const m = out[foldOf(i)]!;
    const yi = i * POSE_DIM + 3 * j;
    for (let c = 0; c < 3; c++) {
      const y = poses[yi + c]!;
      m.sy[c] = m.sy[c]! + y;
      for (let p = 0; p < d; p++) m.zy[p * 3 + c] = m.zy[p * 3 + c]! + z[i * d + p]! * y;
    }
  }
  return out;
}

function sum(ms: readonly Moments[], d: number): Moments {
  const t = emptyMoments(d);
  for (const m of ms) {
    t.n += m.n;
    for (let i = 0; i < d; i++) t.sz[i] = t.sz[i]! + m.sz[i]!;
    for (let i = 0; i < d * d; i++) t.zz[i] = t.zz[i]! + m.zz[i]!;
    for (let i = 0; i < 3; i++) t.sy[i] = t.sy[i]! + m.sy[i]!;
    for (let i = 0; i < d * 3; i++) t.zy[i] = t.zy[i]! + m.zy[i]!;
  }
  return t;
}

function minus(a: Moments, b: Moments): Moments {
  return {
    n: a.n - b.n,
    sz: a.sz.map((v, i) => v - b.sz[i]!),
    sy: a.sy.map((v, i) => v - b.sy[i]!),
    zz: a.zz.map((v, i) => v - b.zz[i]!),
    zy: a.zy.map((v, i) => v - b.zy[i]!),
  };
}

/** Ridge fit from moments: returns W (d × 3) and b (3). λ is relative to the mean latent variance. */
function fitMoments(m: Moments, d: number, relLambda: number): { w: Float64Array; b: Float64Array } {
  const mz = m.sz.map((v) => v / m.n);
  const my = m.sy.map((v) => v / m.n);
  const a = new Float64Array(d * d);
  let trace = 0;
  for (let p = 0; p < d; p++) {
    for (let q = 0; q < d; q++) a[p * d + q] = m.zz[p * d + q]! - m.n * mz[p]! * mz[q]!;
    trace += a[p * d + p]!;
  }
  const lam = relLambda * Math.max(trace / d, 1e-12);
  for (let p = 0; p < d; p++) a[p * d + p] = a[p * d + p]! + lam;
  const rhs = new Float64Array(d * 3);
  for (let p = 0; p < d; p++) for (let c = 0; c < 3; c++) rhs[p * 3 + c] = m.zy[p * 3 + c]! - m.n * mz[p]! * my[c]!;
  const w = solveSpd(a, rhs, d, 3);
  const b = my.map((v, c) => {
    let s = v;
    for (let p = 0; p < d; p++) s -= mz[p]! * w[p * 3 + c]!;
    return s;
  });
  return { w, b };
}

const jointFinite = (y: Float32Array, i: number): boolean => Number.isFinite(y[i]!) && Number.isFinite(y[i + 1]!) && Number.isFinite(y[i + 2]!);

/**
 * Fits the probe on n latents (n × latentDim) and their canonical poses (n × 60, NaN = unavailable).
 * Rows should come in time order per recording (the CV folds are contiguous blocks).
 */
export function fitProbeDecoder(z: Float32Array, poses: Float32Array, latentDim: number, args: ProbeArgs = {}): ProbeDecoder {
  const d = latentDim;
  if (!Number.isInteger(d) || d < 1 || z.length % d !== 0) throw new ModelError(ModelErrorCode.SHAPE_MISMATCH, `latents (${z.length}) are not rows of ${d}`);
  const n = z.length / d;
  if (poses.length !== n * POSE_DIM) throw new ModelError(ModelErrorCode.SHAPE_MISMATCH, `${n} latents but ${poses.length / POSE_DIM} poses`);
  const grid = args.grid ?? DEFAULT_RIDGE_GRID;
  const folds = Math.max(2, args.folds ?? DEFAULT_CV_FOLDS);
  const weights = new Float32Array(d * POSE_DIM);
  const bias = new Float32Array(POSE_DIM).fill(Number.NaN);
  const trained: boolean[] = [];
  const lambda: number[] = [];
  const cache = new Map<string, { folds: Moments[] }>();
  for (let j = 0; j < JOINTS; j++) {
    const foldM = jointMoments(z, poses, j, d, folds, cache);
    const total = sum(foldM, d);
    if (total.n < MIN_JOINT_FRAMES) {
      trained.push(false);
      lambda.push(Number.NaN);
      continue;
    }
    let best = grid[0]!;
    let bestErr = Infinity;
    for (const rel of grid) {
      let err = 0;
      let cnt = 0;
      for (let f = 0; f < folds; f++) {
        const train = minus(total, foldM[f]!);
        if (train.n < MIN_JOINT_FRAMES || foldM[f]!.n === 0) continue;
        let fit: { w: Float64Array; b: Float64Array };
        try {
          fit = fitMoments(train, d, rel);
        } catch {
          err = Infinity; // not positive definite at this λ: never the choice
          break;
        }
        for (let i = 0; i < n; i++) {
          if (Math.min(folds - 1, Math.floor((i * folds) / n)) !== f) continue;
          const yi = i * POSE_DIM + 3 * j;
          if (!jointFinite(poses, yi)) continue;
          for (let c = 0; c < 3; c++) {
            let p = fit.b[c]!;
            for (let q = 0; q < d; q++) p += z[i * d + q]! * fit.w[q * 3 + c]!;
            err += (p - poses[yi + c]!) ** 2;
          }
          cnt++;
        }
      }
      const mse = cnt > 0 ? err / cnt : Infinity;
      if (mse < bestErr) {
        bestErr = mse;
        best = rel;
      }
    }
    const { w, b } = fitMoments(total, d, best);
    for (let p = 0; p < d; p++) for (let c = 0; c < 3; c++) weights[p * POSE_DIM + 3 * j + c] = w[p * 3 + c]!;
    for (let c = 0; c < 3; c++) bias[3 * j + c] = b[c]!;
    trained.push(true);
    lambda.push(best);
  }
  const lo = new Float32Array(POSE_DIM).fill(Number.NaN);
  const hi = new Float32Array(POSE_DIM).fill(Number.NaN);
  for (let k = 0; k < POSE_DIM; k++) {
    let min = Infinity;
    let max = -Infinity;
    for (let i = 0; i < n; i++) {
      const v = poses[i * POSE_DIM + k]!;
      if (Number.isFinite(v)) {
        min = Math.min(min, v);
        max = Math.max(max, v);
      }
    }
    if (min <= max) {
      lo[k] = min - CLAMP_MARGIN * (max - min);
      hi[k] = max + CLAMP_MARGIN * (max - min);
    }
  }
  return { kind: 'ridge', latentDim: d, weights, bias, trained, lambda, lo, hi };
}

/** Decodes n latents to n × 60 canonical poses; joints the probe never learned come out NaN. */
export function decodePoses(probe: ProbeDecoder, z: Float32Array): Float32Array {
  const d = probe.latentDim;
  if (z.length % d !== 0) throw new ModelError(ModelErrorCode.SHAPE_MISMATCH, `latents (${z.length}) are not rows of ${d}`);
  const n = z.length / d;
  const out = new Float32Array(n * POSE_DIM);
  for (let i = 0; i < n; i++) {
    for (let k = 0; k < POSE_DIM; k++) {
      let s = probe.bias[k]!;
      for (let p = 0; p < d; p++) s += z[i * d + p]! * probe.weights[p * POSE_DIM + k]!;
      out[i * POSE_DIM + k] = Math.min(Math.max(s, probe.lo[k]!), probe.hi[k]!);
    }
  }
  return out;
}

/** The probe as an .npz (weights d×60, bias 60, trained 20 as u1, lambda 20, lo/hi 60): stored beside a checkpoint. */
export function probeToNpz(probe: ProbeDecoder): Buffer {
  return encodeNpz({
    weights: { dtype: '<f4', shape: [probe.latentDim, POSE_DIM], data: probe.weights },
    bias: { dtype: '<f4', shape: [POSE_DIM], data: probe.bias },
    trained: { dtype: '|u1', shape: [JOINTS], data: Uint8Array.from(probe.trained, (t) => (t ? 1 : 0)) },
    lambda: { dtype: '<f8', shape: [JOINTS], data: Float64Array.from(probe.lambda) },
    lo: { dtype: '<f4', shape: [POSE_DIM], data: probe.lo },
    hi: { dtype: '<f4', shape: [POSE_DIM], data: probe.hi },
  });
}

/** Reads probeToNpz's output back; a damaged or foreign file is a ModelError (cause: the NpzError). */
export function probeFromNpz(buf: Uint8Array): ProbeDecoder {
  try {
    const a = decodeNpz(buf);
    const w = a.weights;
    const b = a.bias;
    const t = a.trained;
    const l = a.lambda;
    const lo = a.lo;
    const hi = a.hi;
    if (!lo || !hi || lo.dtype !== '<f4' || hi.dtype !== '<f4' || lo.data.length !== POSE_DIM || hi.data.length !== POSE_DIM) {
      throw new ModelError(ModelErrorCode.SHAPE_MISMATCH, 'probe npz needs lo and hi (60 <f4)');
    }
    if (
      !w ||
      !b ||
      !t ||
      !l ||
      w.dtype !== '<f4' ||
      b.dtype !== '<f4' ||
      w.shape.length !== 2 ||
      w.shape[1] !== POSE_DIM ||
      b.data.length !== POSE_DIM ||
      t.data.length !== JOINTS ||
      l.data.length !== JOINTS
    ) {
      throw new ModelError(ModelErrorCode.SHAPE_MISMATCH, 'probe npz needs weights (d×60 <f4), bias (60 <f4), trained (20), lambda (20)');
    }
    return {
      kind: 'ridge',
      latentDim: w.shape[0]!,
      weights: w.data as Float32Array,
      bias: b.data as Float32Array,
      trained: Array.from(t.data, (v) => v !== 0),
      lambda: Array.from(l.data),
      lo: lo.data as Float32Array,
      hi: hi.data as Float32Array,
    };
  } catch (cause) {
    if (cause instanceof ModelError) throw cause;
    if (cause instanceof NpzError) throw new ModelError(ModelErrorCode.SHAPE_MISMATCH, `probe npz unreadable: ${cause.message}`, { cause });
    throw cause;
  }
}
