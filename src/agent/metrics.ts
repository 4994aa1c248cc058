// The agent's Prometheus metrics, named as authentik's outposts name them. One registry per
// process: several outposts in one process are told apart by their labels.
import { Counter, Gauge, Histogram, Registry } from './prom.ts';

/** Buckets in seconds, from a fast cached answer to a slow MFA push. */
export const LATENCY_BUCKETS = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30];

export interface OutpostLabels {
  outpost_name: string;
  outpost_type: string;
  uuid: string;
  version: string;
  build: string;
}

export class AgentMetrics {
  readonly registry: Registry;
  readonly info: Gauge<keyof OutpostLabels>;
  readonly lastUpdate: Gauge<keyof OutpostLabels>;
  readonly connection: Gauge<'outpost_name' | 'outpost_type' | 'uuid'>;
  readonly flowGet: Histogram<'stage' | 'flow'>;
  readonly flowPost: Histogram<'stage' | 'flow'>;
  /** Not in authentik: calls the core failed (never a verdict on a user), by `CoreFailureCause`. */
  readonly apiErrors: Counter<'outpost_name' | 'kind'>;

  constructor(registry = new Registry()) {
    this.registry = registry;
    const registers = [registry];
    this.info = new Gauge({ name: 'authentik_outpost_info', help: 'Outpost info', labelNames: ['outpost_name', 'outpost_type', 'uuid', 'version', 'build'], registers });
    this.lastUpdate = new Gauge({ name: 'authentik_outpost_last_update', help: 'Time of last successful refresh (unix seconds)', labelNames: ['outpost_name', 'outpost_type', 'uuid', 'version', 'build'], registers });
    this.connection = new Gauge({ name: 'authentik_outpost_connection', help: 'Whether the websocket to authentik is connected (1) or not (0)', labelNames: ['outpost_name', 'outpost_type', 'uuid'], registers });
    // authentik also exports `authentik_outpost_flow_timing_get`/`_post` in nanoseconds "for
    // compatibility"; that unit is a bug, so only the seconds histograms are exported here.
    this.flowGet = new Histogram({ name: 'authentik_outpost_flow_timing_get_seconds', help: 'Duration of the initial GET of a flow executor challenge', labelNames: ['stage', 'flow'], buckets: LATENCY_BUCKETS, registers });
    this.flowPost = new Histogram({ name: 'authentik_outpost_flow_timing_post_seconds', help: 'Duration of a POST to the flow executor, by the component of the response', labelNames: ['stage', 'flow'], buckets: LATENCY_BUCKETS, registers });
    this.apiErrors = new Counter({
      name: 'authentik_outpost_api_errors_total',
      help: 'Calls to the authentik core that failed because of the core (unreachable, timeout, status, invalid, token_rejected), not answers about a user',
      labelNames: ['outpost_name', 'kind'],
      registers,
    });
  }
}
