// What the primary and its workers say to each other over cluster IPC (AUTHENTIK_WORKERS > 1).
import type { Aggregator, MetricObjectWithValues, MetricValue } from 'prom-client';

/** A worker whose outpost could not start (a listener refused, a port taken): restarting it would fail again. */
export const EXIT_CANNOT_START = 78;

/** Worker → primary: its readiness, when it changes (and once on start). */
export interface ReadyMessage {
  type: 'outpost:ready';
  ready: boolean;
}

/** Primary → worker: send your metrics (as `Registry.getMetricsAsJSON()`). */
export interface MetricsRequest {
  type: 'outpost:metrics?';
  id: number;
}

/** Worker → primary. */
export interface MetricsResponse {
  type: 'outpost:metrics';
  id: number;
  metrics: MetricObjectWithValues<MetricValue<string>>[];
}

/** What the primary still reads of an answer whose metrics fail the checks below: the request it answers. */
export interface MetricsRefused {
  type: 'outpost:metrics';
  id: number;
}

type Shape = Record<string, 'boolean' | 'id' | 'metrics'>;

/** Each message's fields beside `type`, checked before a message is used: IPC is input too. */
const SHAPES: Record<string, Shape> = {
  'outpost:ready': { ready: 'boolean' },
  'outpost:metrics?': { id: 'id' },
  'outpost:metrics': { id: 'id', metrics: 'metrics' },
};

/** What prom-client's aggregation looks up by name (any other name throws, or calls a prototype's function). */
const AGGREGATORS: ReadonlySet<string> = new Set<Aggregator>(['omit', 'sum', 'first', 'min', 'max', 'average']);
/** prom-client writes `# TYPE <name> <type>` unescaped: only its own types. */
const TYPES: ReadonlySet<string> = new Set(['counter', 'gauge', 'histogram', 'summary']);
/** Metric and label names go into the exposition text unescaped. */
const NAME = /^[a-zA-Z_:][a-zA-Z0-9_:]*$/;

// Bounds on one answer, so a worker cannot make the primary hold or print without limit. Far
// above what the outpost's registries hold (tens of metrics; a histogram has one value per label
// combination and bucket; a handful of labels; one-line help texts).
const MAX_METRICS = 1000;
const MAX_VALUES_PER_METRIC = 100_000;
const MAX_LABELS_PER_VALUE = 32;
const MAX_HELP_CHARS = 4096;
/** Metric names, label names and label values. */
const MAX_NAME_CHARS = 1024;

const isRecord = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

const isName = (v: unknown): v is string => typeof v === 'string' && v.length <= MAX_NAME_CHARS && NAME.test(v);

/**
 * A metric name the aggregation can register: its registry is a plain object, so a name on
 * Object.prototype (`constructor`, `__proto__`, `toString`…) reads as "already registered" and
 * throws, failing the whole scrape.
 */
const isMetricName = (v: unknown): v is string => isName(v) && !(v in Object.prototype);

/** One sample: a number (null is NaN after JSON), its labels (string or number values under valid names). */
function isSample(v: unknown): boolean {
  if (!isRecord(v) || !(typeof v['value'] === 'number' || v['value'] === null) || !isRecord(v['labels'])) return false;
  if (v['metricName'] !== undefined && !isName(v['metricName'])) return false;
  const labels = Object.entries(v['labels']);
  return labels.length <= MAX_LABELS_PER_VALUE && labels.every(([k, x]) =>
    isName(k) && ((typeof x === 'string' && x.length <= MAX_NAME_CHARS) || typeof x === 'number'));
}

/** A worker's `getMetricsAsJSON()`, as `AggregatorRegistry.aggregate` and the text exposition use it. */
function isMetrics(v: unknown): boolean {
  return Array.isArray(v) && v.length <= MAX_METRICS && v.every((m) =>
    isRecord(m) && isMetricName(m['name']) && typeof m['help'] === 'string' && m['help'].length <= MAX_HELP_CHARS
    && typeof m['type'] === 'string' && TYPES.has(m['type']) && typeof m['aggregator'] === 'string' && AGGREGATORS.has(m['aggregator'])
    && Array.isArray(m['values']) && m['values'].length <= MAX_VALUES_PER_METRIC && m['values'].every(isSample));
}

/** `shape`: the fields to check, when not the whole message's (`SHAPES`). */
export function isMessage<T extends ReadyMessage | MetricsRequest | MetricsResponse | MetricsRefused>(msg: unknown, type: T['type'], shape: Shape = SHAPES[type] ?? {}): msg is T {
  if (!isRecord(msg) || msg['type'] !== type) return false;
  return Object.entries(shape).every(([key, kind]) => {
    const v = msg[key];
    return kind === 'boolean' ? typeof v === 'boolean' : kind === 'id' ? Number.isSafeInteger(v) : isMetrics(v);
  });
}
