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

type Shape = Record<string, 'boolean' | 'id' | 'metrics'>;

/** Each message's fields beside `type`, checked before a message is used: IPC is input too. */
const SHAPES: Record<string, Shape> = {
  'outpost:ready': { ready: 'boolean' },
  'outpost:metrics?': { id: 'id' },
  'outpost:metrics': { id: 'id', metrics: 'metrics' },
};

/** What prom-client's aggregation looks up by name (any other name throws, or calls a prototype's function). */
const AGGREGATORS: ReadonlySet<string> = new Set<Aggregator>(['omit', 'sum', 'first', 'min', 'max', 'average']);
/** Metric and label names go into the exposition text unescaped. */
const NAME = /^[a-zA-Z_:][a-zA-Z0-9_:]*$/;

const isRecord = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

/** One sample: a number (null is NaN after JSON), its labels (string or number values under valid names). */
function isSample(v: unknown): boolean {
  if (!isRecord(v) || !(typeof v['value'] === 'number' || v['value'] === null) || !isRecord(v['labels'])) return false;
  if (v['metricName'] !== undefined && !(typeof v['metricName'] === 'string' && NAME.test(v['metricName']))) return false;
  return Object.entries(v['labels']).every(([k, x]) => NAME.test(k) && (typeof x === 'string' || typeof x === 'number'));
}

/** A worker's `getMetricsAsJSON()`, as `AggregatorRegistry.aggregate` and the text exposition use it. */
function isMetrics(v: unknown): boolean {
  return Array.isArray(v) && v.every((m) =>
    isRecord(m) && typeof m['name'] === 'string' && NAME.test(m['name']) && typeof m['help'] === 'string' && typeof m['type'] === 'string'
    && typeof m['aggregator'] === 'string' && AGGREGATORS.has(m['aggregator']) && Array.isArray(m['values']) && m['values'].every(isSample));
}

export function isMessage<T extends ReadyMessage | MetricsRequest | MetricsResponse>(msg: unknown, type: T['type']): msg is T {
  if (!isRecord(msg) || msg['type'] !== type) return false;
  return Object.entries(SHAPES[type] ?? {}).every(([key, kind]) => {
    const v = msg[key];
    return kind === 'boolean' ? typeof v === 'boolean' : kind === 'id' ? Number.isSafeInteger(v) : isMetrics(v);
  });
}
