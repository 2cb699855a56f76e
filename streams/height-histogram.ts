// Fixed-memory histogram of heights for running percentiles (floor estimate, foot clearance).
// Bounded: BINS counters of BIN_M metres centred on the first sample; samples outside the range are
// clamped into the edge bins (they still count, so percentiles stay honest about outliers' rank).

const BIN_M = 0.001;
const HALF_RANGE_M = 1.5;
const BINS = Math.round((2 * HALF_RANGE_M) / BIN_M);

export class HeightHistogram {
  private readonly counts = new Uint32Array(BINS);
  private origin = NaN;
  private n = 0;
  private lowest = Infinity;
  /** Lowest non-empty bin: low quantiles (the ones we ask for) scan from here, not from bin 0. */
  private firstBin = BINS;

  get count(): number {
    return this.n;
  }

  /** Smallest sample ever added (not clamped). */
  get min(): number {
    return this.lowest;
  }

  add(y: number): void {
    if (!Number.isFinite(y)) return;
    if (Number.isNaN(this.origin)) this.origin = y;
    // Bins are centred on origin + k·BIN_M, so a constant input comes back exactly.
    const bin = Math.floor((y - this.origin + HALF_RANGE_M + BIN_M / 2) / BIN_M);
    const b = Math.min(BINS - 1, Math.max(0, bin));
    this.counts[b] = (this.counts[b] ?? 0) + 1;
    if (b < this.firstBin) this.firstBin = b;
    this.n += 1;
    if (y < this.lowest) this.lowest = y;
  }

  /** Height below which a fraction q (0..1) of the samples lie (bin centre); NaN when empty. */
  quantile(q: number): number {
    if (this.n === 0) return NaN;
    const target = Math.max(1, Math.ceil(q * this.n));
    let seen = 0;
    for (let b = this.firstBin; b < BINS; b++) {
      seen += this.counts[b] ?? 0;
      if (seen >= target) return this.origin - HALF_RANGE_M + b * BIN_M;
    }
    return this.origin + HALF_RANGE_M;
  }
}
