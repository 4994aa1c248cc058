// A Prometheus histogram for the hot paths (a proxied request, an LDAP operation, a RADIUS
// answer), registered in prom-client's Registry and exported exactly as prom-client's own
// Histogram exports (the same text, the same JSON for the cluster's aggregation: tested).
// prom-client's observe validates and hashes the label object, then finds the bucket through
// an object keyed by the bound's decimal text: about a microsecond per observation. Here a label
// set is looked up once per distinct value tuple, and a series keeps its counts in an array.
import type { Registry } from 'prom-client';

export type LabelValues<T extends string> = Partial<Record<T, string | number>>;

export interface HistogramOptions<T extends string> {
  readonly name: string;
  readonly help: string;
  readonly labelNames?: readonly T[];
  readonly buckets: readonly number[];
  readonly registers?: readonly Registry[];
}

/** One label set's counts: observe() is a bucket search and three additions. */
export class HistogramSeries {
  readonly labels: Readonly<Record<string, string | number>>;
  /** Per bucket (not cumulative), the last one for +Inf. */
  readonly counts: Float64Array;
  sum = 0;
  count = 0;
  private readonly bounds: Float64Array;

  constructor(labels: Readonly<Record<string, string | number>>, bounds: Float64Array) {
    this.labels = labels;
    this.bounds = bounds;
    this.counts = new Float64Array(bounds.length + 1);
  }

  observe(value: number): void {
    if (!Number.isFinite(value)) throw new TypeError(`Value is not a valid number: ${value}`);
    const b = this.bounds;
    let i = 0;
    while (i < b.length && value > b[i]!) i++;
    this.counts[i]! += 1;
    this.sum += value;
    this.count += 1;
  }
}

interface MetricValue {
  value: number;
  labels: Record<string, string | number>;
  metricName: string;
  sharedLabels?: Record<string, string | number>;
  exemplar?: null;
}

export class Histogram<T extends string = string> {
  readonly name: string;
  readonly help: string;
  readonly type = 'histogram';
  readonly aggregator = 'sum';
  private readonly labelNames: readonly T[];
  private readonly bounds: Float64Array;
  private readonly series = new Map<string, HistogramSeries>();

  constructor(opts: HistogramOptions<T>) {
    this.name = opts.name;
    this.help = opts.help;
    this.labelNames = opts.labelNames ?? [];
    const sorted = [...opts.buckets].sort((a, b) => a - b);
    if (sorted.some((b, i) => !Number.isFinite(b) || (i > 0 && b === sorted[i - 1]))) throw new Error(`${opts.name}: buckets must be distinct finite numbers`);
    this.bounds = Float64Array.from(sorted);
    for (const r of opts.registers ?? []) r.registerMetric(this as never);
  }

  /** The series of one label set (made on first use); callers may keep the series and observe on it, skipping this lookup. */
  labelled(labels: LabelValues<T>): HistogramSeries {
    let key = '';
    let known = 0;
    for (const n of this.labelNames) {
      const v = labels[n];
      if (v !== undefined || n in labels) known++;
      // As prom-client keys a label set: by the values' text (1 and '1' are one series).
      key += v === undefined ? '\u0001' : `${v}\u0000`;
    }
    // Every call, not only a new series' first: more keys than known names means an unknown one.
    let keys = 0;
    for (const _ in labels) keys++;
    if (keys !== known) {
      for (const k in labels) if (!(this.labelNames as readonly string[]).includes(k)) throw new Error(`Added label "${k}" is not included in initial labelset: ${JSON.stringify(this.labelNames)}`);
    }
    let s = this.series.get(key);
    if (s === undefined) {
      // In the caller's order, as prom-client keeps the first label object it saw for a series.
      const own: Record<string, string | number> = {};
      for (const k in labels) if (labels[k] !== undefined) own[k] = labels[k];
      this.series.set(key, (s = new HistogramSeries(own, this.bounds)));
    }
    return s;
  }

  /** `observe(labels, value)`, or `observe(value)` for a histogram without labels (as prom-client's). */
  observe(labels: LabelValues<T> | number, value?: number): void {
    if (typeof labels === 'number') this.labelled({}).observe(labels);
    else this.labelled(labels).observe(value!);
  }

  reset(): void {
    this.series.clear();
  }

  /** For the Registry's text exposition: prom-client's shape (the bound as `labels`, the series' labels shared). */
  getForPromString(): { name: string; help: string; type: string; values: MetricValue[]; aggregator: string } {
    const values: MetricValue[] = [];
    const bucket = `${this.name}_bucket`;
    for (const s of this.series.values()) {
      let acc = 0;
      for (let i = 0; i < this.bounds.length; i++) {
        acc += s.counts[i]!;
        values.push({ labels: { le: this.bounds[i]! }, value: acc, metricName: bucket, exemplar: null, sharedLabels: s.labels });
      }
      values.push(
        { labels: { le: '+Inf' }, value: s.count, metricName: bucket, exemplar: null, sharedLabels: s.labels },
        { labels: {}, value: s.sum, metricName: `${this.name}_sum`, sharedLabels: s.labels },
        { labels: {}, value: s.count, metricName: `${this.name}_count`, sharedLabels: s.labels },
      );
    }
    return { name: this.name, help: this.help, type: this.type, values, aggregator: this.aggregator };
  }

  /** As prom-client's `get()`: each value's labels whole (the bound with the series' labels). */
  get(): Promise<{ name: string; help: string; type: string; values: MetricValue[]; aggregator: string }> {
    const data = this.getForPromString();
    data.values = data.values.map(({ sharedLabels, labels, ...rest }) => ({ ...rest, labels: { ...labels, ...sharedLabels } }));
    return Promise.resolve(data);
  }
}
