// Running median of the last `capacity` values, for a per-frame metric (metrics.ts: the belt speed over
// BELT_WINDOW = 600 stance foot-frames). Sorting a copy of the window every frame cost ≈ 100 µs and
// ≈ 10 KB of garbage per frame at 600 values; here the window is kept sorted, so a push is two binary
// searches and two in-place shifts of a preallocated array, and the median is a lookup.
// Bound: `capacity` values; the oldest is evicted first (FIFO). Only finite values may be pushed.

export class MedianWindow {
  /** Values in arrival order (ring: the oldest at `head` once full). */
  private readonly fifo: Float64Array;
  /** The same values, ascending, in sorted[0 .. size). */
  private readonly sorted: Float64Array;
  private head = 0;
  private size = 0;

  constructor(readonly capacity: number) {
    if (!(Number.isInteger(capacity) && capacity > 0)) throw new RangeError(`capacity must be a positive integer, got ${capacity}`);
    this.fifo = new Float64Array(capacity);
    this.sorted = new Float64Array(capacity);
  }

  get length(): number {
    return this.size;
  }

  push(v: number): void {
    if (!Number.isFinite(v)) throw new RangeError(`MedianWindow takes finite values, got ${v}`);
    const s = this.sorted;
    if (this.size === this.capacity) {
      // Evict the oldest: any copy of an equal value is the same number, so remove the first match.
      const old = this.fifo[this.head]!;
      const i = this.lowerBound(old);
      s.copyWithin(i, i + 1, this.size);
      this.size -= 1;
      this.fifo[this.head] = v;
      this.head = (this.head + 1) % this.capacity;
    } else {
      this.fifo[(this.head + this.size) % this.capacity] = v;
    }
    const j = this.lowerBound(v);
    s.copyWithin(j + 1, j, this.size);
    s[j] = v;
    this.size += 1;
  }

  /** Median of the window (mean of the two middle values when even); NaN when empty. */
  median(): number {
    const n = this.size;
    if (n === 0) return NaN;
    const m = n >> 1;
    return n % 2 ? this.sorted[m]! : (this.sorted[m - 1]! + this.sorted[m]!) / 2;
  }

  /** First index in sorted[0 .. size) whose value is ≥ v. */
  private lowerBound(v: number): number {
    let lo = 0;
    let hi = this.size;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (this.sorted[mid]! < v) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }
}
