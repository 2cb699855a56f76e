/**
 * Small, exact statistics for the evaluation (stage 6): column moments, rank correlation, effective rank.
 * Plain float64 arithmetic on row-major matrices (types.ts convention); no tensors, so the numbers do not
 * depend on the tfjs backend that produced the latents.
 */

/** Per-column mean and (population) standard deviation of an n × d row-major matrix. */
export function columnMoments(x: ArrayLike<number>, n: number, d: number): { mean: Float64Array; std: Float64Array } {
  if (n * d !== x.length) throw new RangeError(`matrix of ${x.length} values is not ${n} × ${d}`);
  const mean = new Float64Array(d);
  const m2 = new Float64Array(d);
  // Welford per column: latents and features can have a large offset next to a small spread.
  for (let i = 0; i < n; i++) {
    for (let j = 0; j < d; j++) {
      const v = x[i * d + j]!;
      const delta = v - mean[j]!;
      mean[j] = mean[j]! + delta / (i + 1);
      m2[j] = m2[j]! + delta * (v - mean[j]!);
    }
  }
  const std = new Float64Array(d);
  for (let j = 0; j < d; j++) std[j] = n > 0 ? Math.sqrt(m2[j]! / n) : 0;
  return { mean, std };
}

/** Mean of the squared differences of two equally long vectors/matrices. */
export function meanSquaredError(a: ArrayLike<number>, b: ArrayLike<number>): number {
  if (a.length !== b.length) throw new RangeError(`length mismatch: ${a.length} vs ${b.length}`);
  if (a.length === 0) return Number.NaN;
  let s = 0;
  for (let i = 0; i < a.length; i++) {
    const e = a[i]! - b[i]!;
    s += e * e;
  }
  return s / a.length;
}

/** Mean over the d columns of the per-column variance: the MSE of always predicting the column means. */
export function meanColumnVariance(x: ArrayLike<number>, n: number, d: number): number {
  const { std } = columnMoments(x, n, d);
  let s = 0;
  for (const v of std) s += v * v;
  return d > 0 ? s / d : Number.NaN;
}

/** Ranks 1..n with ties given their average rank (what Spearman's ρ needs). */
export function averageRanks(v: ArrayLike<number>): Float64Array {
  const n = v.length;
  const order = Array.from({ length: n }, (_, i) => i).sort((a, b) => v[a]! - v[b]!);
  const ranks = new Float64Array(n);
  let i = 0;
  while (i < n) {
    let j = i;
    while (j + 1 < n && v[order[j + 1]!]! === v[order[i]!]!) j++;
    const r = (i + j) / 2 + 1;
    for (let k = i; k <= j; k++) ranks[order[k]!] = r;
    i = j + 1;
  }
  return ranks;
}

/** Pearson correlation; NaN when either side has no spread (a correlation is then undefined, not 0). */
export function pearson(a: ArrayLike<number>, b: ArrayLike<number>): number {
  if (a.length !== b.length) throw new RangeError(`length mismatch: ${a.length} vs ${b.length}`);
  const n = a.length;
  if (n < 2) return Number.NaN;
  let ma = 0;
  let mb = 0;
  for (let i = 0; i < n; i++) {
    ma += a[i]!;
    mb += b[i]!;
  }
  ma /= n;
  mb /= n;
  let sab = 0;
  let saa = 0;
  let sbb = 0;
  for (let i = 0; i < n; i++) {
    const da = a[i]! - ma;
    const db = b[i]! - mb;
    sab += da * db;
    saa += da * da;
    sbb += db * db;
  }
  if (saa === 0 || sbb === 0) return Number.NaN;
  return sab / Math.sqrt(saa * sbb);
}

/** Spearman's rank correlation ρ (Pearson on average ranks, so ties are handled exactly). */
export function spearman(a: ArrayLike<number>, b: ArrayLike<number>): number {
  if (a.length !== b.length) throw new RangeError(`length mismatch: ${a.length} vs ${b.length}`);
  return pearson(averageRanks(a), averageRanks(b));
}

/**
 * Eigenvalues of a symmetric d × d matrix by cyclic Jacobi rotations. d is a latent width (64), so the
 * O(d³) per sweep is negligible and Jacobi is accurate for small eigenvalues, which is exactly where
 * collapse shows up.
 */
export function symmetricEigenvalues(a: ArrayLike<number>, d: number): Float64Array {
  if (a.length !== d * d) throw new RangeError(`matrix of ${a.length} values is not ${d} × ${d}`);
  const m = Float64Array.from(a);
  for (let sweep = 0; sweep < 100; sweep++) {
    let off = 0;
    for (let p = 0; p < d; p++) for (let q = p + 1; q < d; q++) off += m[p * d + q]! ** 2;
    let diag = 0;
    for (let p = 0; p < d; p++) diag += m[p * d + p]! ** 2;
    if (off <= 1e-30 * Math.max(diag, 1e-300)) break;
    for (let p = 0; p < d; p++) {
      for (let q = p + 1; q < d; q++) {
        const apq = m[p * d + q]!;
        if (apq === 0) continue;
        const app = m[p * d + p]!;
        const aqq = m[q * d + q]!;
        const theta = (aqq - app) / (2 * apq);
        const t = Math.sign(theta || 1) / (Math.abs(theta) + Math.sqrt(theta * theta + 1));
        const c = 1 / Math.sqrt(t * t + 1);
        const s = t * c;
        for (let k = 0; k < d; k++) {
          const akp = m[k * d + p]!;
          const akq = m[k * d + q]!;
          m[k * d + p] = c * akp - s * akq;
          m[k * d + q] = s * akp + c * akq;
        }
        for (let k = 0; k < d; k++) {
          const apk = m[p * d + k]!;
          const aqk = m[q * d + k]!;
          m[p * d + k] = c * apk - s * aqk;
          m[q * d + k] = s * apk + c * aqk;
        }
      }
    }
  }
  const ev = new Float64Array(d);
  for (let p = 0; p < d; p++) ev[p] = m[p * d + p]!;
  return ev.sort((x, y) => y - x);
}

/** Singular values (descending) of an n × d matrix, from the eigenvalues of its d × d Gram matrix. */
export function singularValues(x: ArrayLike<number>, n: number, d: number): Float64Array {
  if (n * d !== x.length) throw new RangeError(`matrix of ${x.length} values is not ${n} × ${d}`);
  const g = new Float64Array(d * d);
  for (let i = 0; i < n; i++) {
    for (let p = 0; p < d; p++) {
      const xp = x[i * d + p]!;
      if (xp === 0) continue;
      for (let q = p; q < d; q++) g[p * d + q] = g[p * d + q]! + xp * x[i * d + q]!;
    }
  }
  for (let p = 0; p < d; p++) for (let q = 0; q < p; q++) g[p * d + q] = g[q * d + p]!;
  return symmetricEigenvalues(g, d).map((l) => Math.sqrt(Math.max(l, 0)));
}

/**
 * Effective rank (Roy & Vetterli 2007; RankMe, Garrido et al. 2023): exp of the Shannon entropy of the
 * singular values normalised to sum 1. Between 1 (all latents on one line: collapse) and min(n, d).
 * The matrix is taken as is (not centred), as RankMe does, so a constant latent scores 1, not NaN.
 */
export function effectiveRank(x: ArrayLike<number>, n: number, d: number): number {
  const sv = singularValues(x, n, d);
  let total = 0;
  for (const s of sv) total += s;
  if (total === 0) return 0;
  let h = 0;
  for (const s of sv) {
    const p = s / total;
    if (p > 0) h -= p * Math.log(p);
  }
  return Math.exp(h);
}

/** Median of a list (mean of the two middle values for an even count); NaN for an empty list. */
export function median(values: readonly number[]): number {
  if (values.length === 0) return Number.NaN;
  const s = [...values].sort((a, b) => a - b);
  const mid = s.length >> 1;
  return s.length % 2 === 1 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2;
}
