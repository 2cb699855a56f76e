// A small Prometheus registry: counters, gauges and histograms with labels, rendered in the text
// exposition format (version 0.0.4). No dependency: we need a handful of series, not a client library.
// Label sets are bounded by construction (codes, backends, reasons are closed sets); `maxSeries` guards
// against a caller that feeds unbounded values (extra series are folded into one `_overflow` series).

export type Labels = Readonly<Record<string, string>>;

const DEFAULT_MAX_SERIES = 200;

// Series are looked up on every observation, several times per frame: the common label sets (none,
// one) and label values (nothing to escape) take no sort, array or regex replace.
function labelKey(labels: Labels): string {
  const keys = Object.keys(labels);
  if (keys.length === 0) return '';
  if (keys.length === 1) return `${keys[0]}="${escapeLabel(labels[keys[0]!] ?? '')}"`;
  return keys
    .sort()
    .map((k) => `${k}="${escapeLabel(labels[k] ?? '')}"`)
    .join(',');
}

const NEEDS_ESCAPE = /[\\\n"]/;

function escapeLabel(v: string): string {
  if (!NEEDS_ESCAPE.test(v)) return v;
  return v.replace(/\\/g, '\\\\').replace(/\n/g, '\\n').replace(/"/g, '\\"');
}

function fmt(n: number): string {
  if (Number.isNaN(n)) return 'NaN';
  if (n === Infinity) return '+Inf';
  if (n === -Infinity) return '-Inf';
  return String(n);
}

interface Metric {
  readonly name: string;
  readonly help: string;
  render(): string;
}

abstract class Labelled<T> implements Metric {
  protected readonly series = new Map<string, T>();
  abstract readonly type: string;
  constructor(
    readonly name: string,
    readonly help: string,
    private readonly maxSeries: number,
  ) {}
  protected slot(labels: Labels, init: () => T): T {
    let key = labelKey(labels);
    let s = this.series.get(key);
    if (s === undefined) {
      if (this.series.size >= this.maxSeries) key = 'overflow="true"';
      s = this.series.get(key) ?? init();
      this.series.set(key, s);
    }
    return s;
  }
  protected head(): string {
    return `# HELP ${this.name} ${this.help}\n# TYPE ${this.name} ${this.type}\n`;
  }
  abstract render(): string;
}

export class Counter extends Labelled<{ v: number }> {
  readonly type = 'counter';
  inc(labels: Labels = {}, by = 1): void {
    if (!(by >= 0)) return; // counters never go down; NaN ignored
    this.slot(labels, () => ({ v: 0 })).v += by;
  }
  get(labels: Labels = {}): number {
    return this.series.get(labelKey(labels))?.v ?? 0;
  }
  render(): string {
    let out = this.head();
    if (this.series.size === 0) out += `${this.name} 0\n`;
    for (const [k, s] of this.series) out += `${this.name}${k ? `{${k}}` : ''} ${fmt(s.v)}\n`;
    return out;
  }
}

export class Gauge extends Labelled<{ v: number }> {
  readonly type: string = 'gauge';
  /** Sampled at render time (e.g. live session count), instead of being set. */
  private collector: (() => ReadonlyArray<readonly [Labels, number]>) | undefined;
  set(labels: Labels, v: number): void {
    this.slot(labels, () => ({ v: 0 })).v = v;
  }
  reset(): void {
    this.series.clear();
  }
  collect(fn: () => ReadonlyArray<readonly [Labels, number]>): this {
    this.collector = fn;
    return this;
  }
  get(labels: Labels = {}): number {
    return this.series.get(labelKey(labels))?.v ?? 0;
  }
  render(): string {
    if (this.collector) {
      this.series.clear();
      for (const [l, v] of this.collector()) this.set(l, v);
    }
    let out = this.head();
    for (const [k, s] of this.series) out += `${this.name}${k ? `{${k}}` : ''} ${fmt(s.v)}\n`;
    return out;
  }
}

/** A counter whose value another component keeps (sampled at scrape time, like a gauge). */
export class CollectedCounter extends Gauge {
  override readonly type: string = 'counter';
}

interface HistState {
  counts: number[];
  sum: number;
  count: number;
}

export class Histogram extends Labelled<HistState> {
  readonly type = 'histogram';
  constructor(
    name: string,
    help: string,
    maxSeries: number,
    readonly buckets: readonly number[],
  ) {
    super(name, help, maxSeries);
  }
  observe(v: number, labels: Labels = {}): void {
    if (!Number.isFinite(v)) return;
    const s = this.slot(labels, () => ({ counts: this.buckets.map(() => 0), sum: 0, count: 0 }));
    for (let i = 0; i < this.buckets.length; i++) if (v <= (this.buckets[i] ?? Infinity)) s.counts[i] = (s.counts[i] ?? 0) + 1;
    s.sum += v;
    s.count += 1;
  }
  count(labels: Labels = {}): number {
    return this.series.get(labelKey(labels))?.count ?? 0;
  }
  render(): string {
    let out = this.head();
    for (const [k, s] of this.series) {
      const pre = k ? `${k},` : '';
      this.buckets.forEach((b, i) => (out += `${this.name}_bucket{${pre}le="${fmt(b)}"} ${s.counts[i] ?? 0}\n`));
      out += `${this.name}_bucket{${pre}le="+Inf"} ${s.count}\n`;
      out += `${this.name}_sum${k ? `{${k}}` : ''} ${fmt(s.sum)}\n`;
      out += `${this.name}_count${k ? `{${k}}` : ''} ${s.count}\n`;
    }
    return out;
  }
}

/** Buckets as another component keeps them: upper bounds and NON-cumulative counts (+Inf last). */
export interface HistogramSnapshot {
  readonly bounds: readonly number[];
  readonly counts: readonly number[];
  readonly sum: number;
  readonly count: number;
}

/** A histogram owned elsewhere (e.g. the inference service's stats), rendered at scrape time. */
export class ExternalHistogram implements Metric {
  readonly type = 'histogram';
  private source: (() => HistogramSnapshot | undefined) | undefined;
  constructor(
    readonly name: string,
    readonly help: string,
    /** Multiplies bounds and sum (e.g. 1/1000 for milliseconds → seconds). */
    private readonly scale = 1,
  ) {}
  collect(fn: () => HistogramSnapshot | undefined): this {
    this.source = fn;
    return this;
  }
  render(): string {
    let out = `# HELP ${this.name} ${this.help}\n# TYPE ${this.name} histogram\n`;
    const h = this.source?.();
    if (!h) return out;
    let cum = 0;
    h.bounds.forEach((b, i) => {
      cum += h.counts[i] ?? 0;
      out += `${this.name}_bucket{le="${fmt(b * this.scale)}"} ${cum}\n`;
    });
    out += `${this.name}_bucket{le="+Inf"} ${h.count}\n${this.name}_sum ${fmt(h.sum * this.scale)}\n${this.name}_count ${h.count}\n`;
    return out;
  }
}

export class MetricsRegistry {
  private readonly metrics = new Map<string, Metric>();
  constructor(private readonly maxSeries = DEFAULT_MAX_SERIES) {}

  counter(name: string, help: string): Counter {
    return this.add(new Counter(name, help, this.maxSeries));
  }
  gauge(name: string, help: string): Gauge {
    return this.add(new Gauge(name, help, this.maxSeries));
  }
  collectedCounter(name: string, help: string): CollectedCounter {
    return this.add(new CollectedCounter(name, help, this.maxSeries));
  }
  external(name: string, help: string, scale = 1): ExternalHistogram {
    return this.add(new ExternalHistogram(name, help, scale));
  }
  histogram(name: string, help: string, buckets: readonly number[]): Histogram {
    return this.add(
      new Histogram(
        name,
        help,
        this.maxSeries,
        [...buckets].sort((a, b) => a - b),
      ),
    );
  }
  private add<M extends Metric>(m: M): M {
    if (!/^[a-zA-Z_:][a-zA-Z0-9_:]*$/.test(m.name)) throw new TypeError(`invalid metric name ${m.name}`);
    if (this.metrics.has(m.name)) throw new TypeError(`metric ${m.name} registered twice`);
    this.metrics.set(m.name, m);
    return m;
  }
  /** Prometheus text exposition format 0.0.4. */
  render(): string {
    return [...this.metrics.values()].map((m) => m.render()).join('');
  }
}

export const PROMETHEUS_CONTENT_TYPE = 'text/plain; version=0.0.4; charset=utf-8';

/** The server's metric set; one instance per server (no module-level singleton). */
export function createServerMetrics(registry = new MetricsRegistry()) {
  return {
    registry,
    liveSessions: registry.gauge('jepa_live_sessions', 'Ingest sessions currently open or waiting for resume'),
    pendingJobs: registry.gauge('jepa_pending_jobs', 'Finished sessions whose job waits on local disk for the artifact store or the bus'),
    liveSubscribers: registry.gauge('jepa_live_subscribers', 'Dashboard connections on /v1/live'),
    framesTotal: registry.counter('jepa_frames_total', 'Frames received on /v1/ingest, by outcome (accepted, rejected, duplicate)'),
    feedbackTotal: registry.counter('jepa_feedback_total', 'Feedback messages sent, by shed (true/false)'),
    batchSize: registry.external('jepa_inference_batch_size', 'Rows per inference batch'),
    inferenceLatency: registry.external('jepa_inference_latency_seconds', 'Inference submit-to-result latency per frame', 1 / 1000),
    inferenceWait: registry.external('jepa_inference_wait_seconds', 'Inference submit to batch dispatch per frame (a free worker, the batch wait)', 1 / 1000),
    inferenceBatch: registry.external(
      'jepa_inference_batch_seconds',
      'Inference batch dispatch to results committed (engine, hand-over both ways, waits for the CPU or an earlier batch)',
      1 / 1000,
    ),
    inferenceEngine: registry.external('jepa_inference_engine_seconds', 'Time inside the inference engine per batch', 1 / 1000),
    feedbackLatency: registry.histogram(
      'jepa_feedback_latency_seconds',
      'Frame received to its feedback sent',
      [0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.2, 0.5, 1],
    ),
    queueDepth: registry.gauge('jepa_inference_queue_depth', 'Rows queued for inference'),
    shedTotal: registry.collectedCounter('jepa_inference_shed_total', 'Frames answered without inference, by reason (kept by the inference service)'),
    droppedUpdates: registry.counter('jepa_live_dropped_updates_total', 'Live updates not sent to a slow subscriber (latest-state wins), by reason'),
    sendResults: registry.counter('jepa_ws_send_total', 'WebSocket send() results, by route and result (sent, buffered, dropped)'),
    backend: registry.gauge('jepa_inference_backend', 'Active tensor backend (1 for the active one)'),
    errors: registry.counter('jepa_errors_total', 'Coded errors sent to clients, by code'),
    recordingsFinalized: registry.counter('jepa_recordings_finalized_total', 'Recordings finalised, by reason (end, resume_expired, recovered, shutdown)'),
  };
}
export type ServerMetrics = ReturnType<typeof createServerMetrics>;
