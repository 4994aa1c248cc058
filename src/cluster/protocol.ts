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

export function isMessage<T extends { type: string }>(msg: unknown, type: T['type']): msg is T {
  return typeof msg === 'object' && msg !== null && (msg as { type?: unknown }).type === type;
}
