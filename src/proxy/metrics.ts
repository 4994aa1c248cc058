// The proxy's Prometheus metrics, named and labelled as authentik's proxy outpost names them
// (spec §9.1). authentik's legacy nanosecond twins (`authentik_outpost_proxy_requests`,
// `_upstream_time`) are not exported: the unit is a bug (see agent/metrics.ts on flow timings).
import { Counter, Gauge, Histogram, type Registry } from '../agent/prom.ts';
import { LATENCY_BUCKETS } from '../agent/metrics.ts';

export type RequestType = 'app' | 'ping' | 'static';

export class ProxyMetrics {
  readonly requests: Histogram<'outpost_name' | 'method' | 'host' | 'type'>;
  readonly upstream: Histogram<'outpost_name' | 'method' | 'scheme' | 'host' | 'upstream_host'>;
  /** Not in authentik: requests refused before reaching an app, by reason. */
  readonly refused: Counter<'reason'>;
  /** Not in authentik (its standalone outposts have no shared store): 1 while the session store answers. */
  readonly sessionStoreUp: Gauge<'backend'>;
  /** Not in authentik: failed session store operations, by operation (get, set, delete, …). */
  readonly sessionStoreErrors: Counter<'backend' | 'operation'>;
  /** Not in authentik: requests served on the fast path (proxy/fast/); the others went through Node's HTTP server. */
  readonly fastPath: Counter;

  constructor(registry: Registry) {
    const registers = [registry];
    this.requests = new Histogram({
      name: 'authentik_outpost_proxy_request_duration_seconds',
      help: 'Proxy request duration',
      labelNames: ['outpost_name', 'method', 'host', 'type'],
      buckets: LATENCY_BUCKETS,
      registers,
    });
    this.upstream = new Histogram({
      name: 'authentik_outpost_proxy_upstream_response_duration_seconds',
      help: 'Proxy upstream response duration',
      labelNames: ['outpost_name', 'method', 'scheme', 'host', 'upstream_host'],
      buckets: LATENCY_BUCKETS,
      registers,
    });
    this.refused = new Counter({ name: 'authentik_outpost_proxy_refused_total', help: 'Requests refused before reaching an application (unknown host, draining)', labelNames: ['reason'], registers });
    // Across workers (AUTHENTIK_WORKERS), the lowest: 0 when any worker's store is down, never a sum.
    this.sessionStoreUp = new Gauge({ name: 'authentik_outpost_proxy_session_store_up', help: 'Whether the proxy session store answers (1) or not (0)', labelNames: ['backend'], registers, aggregator: 'min' });
    this.fastPath = new Counter({ name: 'authentik_outpost_proxy_fast_path_requests_total', help: 'Proxy-mode requests served on the fast path', registers });
    this.sessionStoreErrors = new Counter({ name: 'authentik_outpost_proxy_session_store_errors_total', help: 'Failed proxy session store operations', labelNames: ['backend', 'operation'], registers });
  }
}
