// What the primary and its workers say to each other over cluster IPC (AUTHENTIK_WORKERS > 1).
import type { MetricObjectWithValues, MetricValue } from 'prom-client';

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

type Shape = Record<string, 'boolean' | 'id' | 'array'>;

/** Each message's fields beside `type`, checked before a message is used: IPC is input too. */
const SHAPES: Record<string, Shape> = {
  'outpost:ready': { ready: 'boolean' },
  'outpost:metrics?': { id: 'id' },
  'outpost:metrics': { id: 'id', metrics: 'array' },
};

export function isMessage<T extends ReadyMessage | MetricsRequest | MetricsResponse>(msg: unknown, type: T['type']): msg is T {
  if (typeof msg !== 'object' || msg === null || (msg as { type?: unknown }).type !== type) return false;
  const m = msg as Record<string, unknown>;
  return Object.entries(SHAPES[type] ?? {}).every(([key, kind]) => {
    const v = m[key];
    return kind === 'boolean' ? typeof v === 'boolean' : kind === 'id' ? Number.isSafeInteger(v) : Array.isArray(v);
  });
}
