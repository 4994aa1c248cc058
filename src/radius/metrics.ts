// RADIUS metrics, named as authentik's RADIUS outpost names them, plus what it lacks: packets
// dropped before authentication and codes ignored, by reason; authentications running and
// waiting.
import { Counter, Gauge, Histogram, type Registry } from '../agent/prom.ts';
import { LATENCY_BUCKETS } from '../agent/metrics.ts';

export type DropReason =
  | 'unknown_client'
  | 'malformed'
  | 'bad_message_authenticator'
  | 'missing_message_authenticator'
  | 'proxy_state_without_message_authenticator'
  | 'bad_request_authenticator'
  /** More than one User-Name or password attribute (RFC 2865, RFC 3579): ambiguous, malformed. */
  | 'multiple_credentials'
  | 'duplicate_in_flight'
  /** Every slot busy and the queue full (the NAS retries). */
  | 'queue_full'
  /** Waited in the queue until too little of its deadline was left to start it. */
  | 'queued'
  | 'deadline'
  | 'core_unavailable';

export class RadiusMetrics {
  readonly duration: Histogram<'outpost_name' | 'app'>;
  readonly rejected: Counter<'outpost_name' | 'reason' | 'app'>;
  readonly dropped: Counter<'reason'>;
  readonly ignored: Counter<'code'>;
  readonly duplicatesAnswered: Counter<'outpost_name'>;
  readonly inFlight: Gauge;
  readonly queued: Gauge;

  constructor(registry: Registry) {
    const registers = [registry];
    this.duration = new Histogram({ name: 'authentik_outpost_radius_request_duration_seconds', help: 'RADIUS request latencies in seconds', labelNames: ['outpost_name', 'app'], buckets: LATENCY_BUCKETS, registers });
    this.rejected = new Counter({ name: 'authentik_outpost_radius_requests_rejected_total', help: 'Total number of rejected requests', labelNames: ['outpost_name', 'reason', 'app'], registers });
    this.dropped = new Counter({ name: 'authentik_outpost_radius_packets_dropped_total', help: 'Datagrams dropped without an answer, by reason', labelNames: ['reason'], registers });
    this.ignored = new Counter({ name: 'authentik_outpost_radius_packets_ignored_total', help: 'Valid packets of codes the outpost does not answer (Accounting-Request, ...), by code', labelNames: ['code'], registers });
    this.duplicatesAnswered = new Counter({ name: 'authentik_outpost_radius_duplicates_answered_total', help: 'Retransmissions answered from the reply cache', labelNames: ['outpost_name'], registers });
    this.inFlight = new Gauge({ name: 'authentik_outpost_radius_requests_in_flight', help: 'Access-Requests being authenticated', registers });
    this.queued = new Gauge({ name: 'authentik_outpost_radius_requests_queued', help: 'Access-Requests waiting for a free authentication slot', registers });
  }
}
