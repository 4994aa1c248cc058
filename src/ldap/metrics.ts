// The LDAP listener's metrics, named as authentik 2024.4's LDAP outpost names them, with
// durations in seconds (some authentik builds observed raw nanoseconds).
import { Counter, Histogram, type Registry } from '../agent/prom.ts';
import { LATENCY_BUCKETS } from '../agent/metrics.ts';

export type LdapRequestType = 'bind' | 'search' | 'unbind' | 'compare';

export class LdapMetrics {
  readonly requests: Histogram<'outpost_name' | 'type' | 'app'>;
  readonly rejected: Counter<'outpost_name' | 'type' | 'reason' | 'app'>;

  constructor(registry: Registry) {
    const registers = [registry];
    this.requests = new Histogram({
      name: 'authentik_outpost_ldap_requests',
      help: 'Duration of LDAP requests in seconds',
      labelNames: ['outpost_name', 'type', 'app'],
      buckets: LATENCY_BUCKETS,
      registers,
    });
    this.rejected = new Counter({
      name: 'authentik_outpost_ldap_requests_rejected',
      help: 'Total number of rejected requests',
      labelNames: ['outpost_name', 'type', 'reason', 'app'],
      registers,
    });
  }
}
