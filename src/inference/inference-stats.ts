/**
 * Counters and gauges the service exposes for /metrics: batch sizes and latencies as fixed-bucket
 * histograms (Prometheus-ready: per-bucket counts, sum, count) plus a bounded ring of recent latency
 * samples for percentiles. Fixed memory whatever the traffic.
 */

export interface HistogramData {
  /** Upper bounds of the buckets, ascending; the last bucket (+Inf) is counts[bounds.length]. */
  readonly bounds: readonly number[];
  /** Non-cumulative counts per bucket, length bounds.length + 1. */
  readonly counts: readonly number[];
  readonly sum: number;
  readonly count: number;
}

export class Histogram {
  private readonly counts: number[];
  private sum = 0;
  private count = 0;

  constructor(readonly bounds: readonly number[]) {
    this.counts = new Array<number>(bounds.length + 1).fill(0);
  }

  observe(v: number): void {
    let i = 0;
    while (i < this.bounds.length && v > (this.bounds[i] ?? Infinity)) i++;
    this.counts[i] = (this.counts[i] ?? 0) + 1;
    this.sum += v;
    this.count++;
  }

  data(): HistogramData {
    return { bounds: this.bounds, counts: [...this.counts], sum: this.sum, count: this.count };
  }
}

/** The most recent `capacity` samples (overwrites the oldest). */
export class SampleRing {
  private readonly buf: Float64Array;
  private n = 0;
  private next = 0;

  constructor(readonly capacity: number) {
    this.buf = new Float64Array(capacity);
  }

  push(v: number): void {
    this.buf[this.next] = v;
    this.next = (this.next + 1) % this.capacity;
    this.n = Math.min(this.n + 1, this.capacity);
  }

  values(): number[] {
    return Array.from(this.n < this.capacity ? this.buf.subarray(0, this.n) : this.buf);
  }
}

/** The q-quantile (0..1) of samples by nearest rank; NaN when empty. */
export function quantile(samples: readonly number[], q: number): number {
  if (samples.length === 0) return NaN;
  const sorted = [...samples].sort((a, b) => a - b);
  const rank = Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1));
  return sorted[rank] ?? NaN;
}

export const BATCH_SIZE_BOUNDS = [1, 2, 4, 8, 16, 32, 64, 128, 256] as const;
export const LATENCY_MS_BOUNDS = [1, 2, 5, 10, 20, 50, 100, 200, 500, 1000] as const;
