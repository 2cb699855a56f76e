// Latency percentiles over any number of samples in bounded memory: log-spaced buckets 1 % wide from
// 10 µs to 100 s (~1 620 counters), so p50/p95/p99 are within 1 % of the exact value; max is exact.

const MIN_MS = 0.01;
const MAX_MS = 100_000;
const GROWTH = 1.01;
const LOG_GROWTH = Math.log(GROWTH);
const BUCKETS = Math.ceil(Math.log(MAX_MS / MIN_MS) / LOG_GROWTH) + 1;

export interface LatencySummary {
  readonly count: number;
  readonly p50: number;
  readonly p95: number;
  readonly p99: number;
  readonly max: number;
  readonly mean: number;
}

export class LatencyHistogram {
  private readonly counts = new Float64Array(BUCKETS);
  private n = 0;
  private sum = 0;
  private maxMs = 0;

  record(ms: number): void {
    if (!Number.isFinite(ms) || ms < 0) return;
    const i = ms <= MIN_MS ? 0 : Math.min(BUCKETS - 1, Math.ceil(Math.log(ms / MIN_MS) / LOG_GROWTH));
    this.counts[i] = (this.counts[i] ?? 0) + 1;
    this.n++;
    this.sum += ms;
    if (ms > this.maxMs) this.maxMs = ms;
  }

  merge(other: LatencyHistogram): void {
    for (let i = 0; i < BUCKETS; i++) this.counts[i] = (this.counts[i] ?? 0) + (other.counts[i] ?? 0);
    this.n += other.n;
    this.sum += other.sum;
    this.maxMs = Math.max(this.maxMs, other.maxMs);
  }

  get count(): number {
    return this.n;
  }

  /** Upper edge of the bucket holding the q-quantile (never above the exact max). */
  quantile(q: number): number {
    if (this.n === 0) return 0;
    const rank = Math.max(1, Math.ceil(q * this.n));
    let seen = 0;
    for (let i = 0; i < BUCKETS; i++) {
      seen += this.counts[i] ?? 0;
      if (seen >= rank) return Math.min(this.maxMs, MIN_MS * GROWTH ** i);
    }
    return this.maxMs;
  }

  summary(): LatencySummary {
    const r = (v: number) => Math.round(v * 100) / 100;
    return {
      count: this.n,
      p50: r(this.quantile(0.5)),
      p95: r(this.quantile(0.95)),
      p99: r(this.quantile(0.99)),
      max: r(this.maxMs),
      mean: r(this.n ? this.sum / this.n : 0),
    };
  }
}
