/**
 * Seeded pseudo-random numbers (mulberry32 for uniform, Box–Muller for normal). Weight init, dropout
 * masks and anything else random in models/ draws from one of these so a seed reproduces a run
 * bit for bit on the same backend; Math.random is never used.
 */
export interface Rng {
  /** Uniform in [0, 1). */
  next(): number;
  /** Standard normal. */
  normal(): number;
  /** A fresh independent stream derived from this one (for sub-components). */
  fork(): Rng;
  /** Fills `out` with uniform 32-bit integers (the same stream next() draws from, without a call per value). */
  fillUint32(out: Uint32Array): void;
}

export function createRng(seed: number): Rng {
  // Mix the seed so that nearby seeds (0, 1, 2) give unrelated streams.
  let state = hash32(seed >>> 0);
  let spare: number | null = null;
  const next = (): number => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  const normal = (): number => {
    if (spare !== null) {
      const s = spare;
      spare = null;
      return s;
    }
    let u = 0;
    while (u === 0) u = next();
    const v = next();
    const r = Math.sqrt(-2 * Math.log(u));
    spare = r * Math.sin(2 * Math.PI * v);
    return r * Math.cos(2 * Math.PI * v);
  };
  const fillUint32 = (out: Uint32Array): void => {
    // mulberry32 inlined: the per-value closure call and float division of next() dominated mask drawing.
    let st = state;
    for (let i = 0; i < out.length; i++) {
      st = (st + 0x6d2b79f5) >>> 0;
      let t = Math.imul(st ^ (st >>> 15), st | 1);
      t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
      out[i] = (t ^ (t >>> 14)) >>> 0;
    }
    state = st;
  };
  return { next, normal, fork: () => createRng(Math.floor(next() * 4294967296)), fillUint32 };
}

function hash32(x: number): number {
  let h = x ^ 0x9e3779b9;
  h = Math.imul(h ^ (h >>> 16), 0x85ebca6b);
  h = Math.imul(h ^ (h >>> 13), 0xc2b2ae35);
  return (h ^ (h >>> 16)) >>> 0;
}

/** Uniform samples in [lo, hi). */
export function uniformArray(rng: Rng, n: number, lo: number, hi: number): Float32Array {
  const out = new Float32Array(n);
  for (let i = 0; i < n; i++) out[i] = lo + (hi - lo) * rng.next();
  return out;
}

/** Resolution of the drop probability in dropoutMask: p is rounded to a multiple of 2^-16 (0.1 → 0.1000061). */
export const MASK_P_RESOLUTION = 65536;

/**
 * Inverted-dropout mask: each entry is 0 with probability p, else 1/(1−p), so expectations match
 * dropout-off inference. p = 0 gives all ones. Each random uint32 decides two entries (16 bits each):
 * a profile of the inference worker had one next() per entry at ~11% of its time.
 */
export function dropoutMask(rng: Rng, n: number, p: number): Float32Array {
  return dropoutMaskInto(rng, new Float32Array(n), p);
}

/** dropoutMask into `out` (its whole length), for callers that draw many small masks into one buffer. */
export function dropoutMaskInto(rng: Rng, out: Float32Array, p: number): Float32Array {
  const n = out.length;
  const keep = 1 / (1 - p);
  const threshold = Math.round(p * MASK_P_RESOLUTION);
  const words = new Uint32Array((n + 1) >>> 1);
  rng.fillUint32(words);
  for (let i = 0, j = 0; i < n; i += 2, j++) {
    const w = words[j] ?? 0;
    out[i] = (w & 0xffff) < threshold ? 0 : keep;
    if (i + 1 < n) out[i + 1] = w >>> 16 < threshold ? 0 : keep;
  }
  return out;
}
