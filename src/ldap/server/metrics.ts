// What the wire server counts. The server calls this interface; `createPrometheusServerMetrics`
// is one implementation (prom-client), tests use their own. Label values are all from closed
// sets (no client-supplied strings), so cardinality is bounded.
import { Counter, Gauge, Histogram, type Registry } from '../../agent/prom.ts';
import { ResultCode, type RequestType } from '../protocol/index.ts';

export type ListenerKind = 'ldap' | 'ldaps';

export type ConnectionRejectReason =
  /** `limits.maxConnections` reached. */
  | 'too_many_connections'
  /** `limits.maxConnectionsPerAddress` reached for the client address. */
  | 'too_many_connections_per_address'
  /** A PROXY header from a peer outside `trustedProxyNetworks`. */
  | 'proxy_header_untrusted'
  | 'proxy_header_invalid'
  /** A trusted peer started a PROXY header and did not finish it in time. */
  | 'proxy_header_timeout'
  | 'tls_handshake_failed'
  | 'tls_handshake_timeout'
  /** Accepted while `stop()` was closing the listeners. */
  | 'shutting_down';

export type PduRejectReason =
  /** Larger than `limits.maxPduSize`, or more than `limits.maxRequestElements` BER elements (connection closed). */
  | 'too_large'
  /** Not a BER SEQUENCE with a definite length (connection closed). */
  | 'framing_error'
  /** RFC 4511 §4.1.1 decoding failures (connection closed). */
  | 'malformed'
  | 'unknown_operation'
  | 'invalid_operation'
  | 'invalid_controls'
  /** More than `limits.maxOutstandingPerConnection` requests queued (answered busy). */
  | 'too_many_outstanding'
  /** A request not received whole within `limits.requestReadTimeoutMs` of its first byte (connection closed). */
  | 'read_timeout';

/** Request types, with the extended operations the server knows told apart. */
export type OperationType = Exclude<RequestType, 'extended'> | 'startTLS' | 'whoAmI' | 'passwordModify' | 'extended';

/** A result code's name (`success`, `invalidCredentials`, …), or how the operation ended otherwise. */
export type OperationResult = keyof typeof ResultCode | 'unknownResultCode' | 'abandoned' | 'disconnected' | 'none';

export interface LdapServerMetrics {
  connectionAccepted(listener: ListenerKind): void;
  connectionRejected(listener: ListenerKind, reason: ConnectionRejectReason): void;
  /** Every accepted connection is closed exactly once. */
  connectionClosed(listener: ListenerKind, durationSeconds: number): void;
  pduRejected(listener: ListenerKind, reason: PduRejectReason): void;
  /** One call per request (abandon and unbind included), with its run time in seconds. */
  operation(type: OperationType, result: OperationResult, durationSeconds: number): void;
}

const RESULT_NAMES: ReadonlyMap<number, keyof typeof ResultCode> = new Map(
  (Object.entries(ResultCode) as [keyof typeof ResultCode, number][]).map(([k, v]) => [v, k]),
);

export function resultName(code: number): OperationResult {
  return RESULT_NAMES.get(code) ?? 'unknownResultCode';
}

export const noopServerMetrics: LdapServerMetrics = {
  connectionAccepted: () => {},
  connectionRejected: () => {},
  connectionClosed: () => {},
  pduRejected: () => {},
  operation: () => {},
};

const BUCKETS = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60];

/**
 * Prometheus metrics for the wire server. Names do not collide with authentik's
 * `authentik_outpost_ldap_requests*` (the handler's, per provider):
 * `authentik_outpost_ldap_server_connections_total{listener}`,
 * `…_connections_rejected_total{listener,reason}`, `…_connections_open{listener}`,
 * `…_connection_duration_seconds{listener}`, `…_pdus_rejected_total{listener,reason}`,
 * `…_operation_duration_seconds{type,result}` (its `_count` is operations by type and result).
 */
export function createPrometheusServerMetrics(registry: Registry, outpostName: string): LdapServerMetrics {
  const registers = [registry];
  const p = 'authentik_outpost_ldap_server';
  const accepted = new Counter({ name: `${p}_connections_total`, help: 'LDAP connections accepted', labelNames: ['outpost_name', 'listener'], registers });
  const rejected = new Counter({ name: `${p}_connections_rejected_total`, help: 'LDAP connections refused or dropped before LDAP traffic, by reason', labelNames: ['outpost_name', 'listener', 'reason'], registers });
  const open = new Gauge({ name: `${p}_connections_open`, help: 'LDAP connections currently open', labelNames: ['outpost_name', 'listener'], registers });
  const duration = new Histogram({ name: `${p}_connection_duration_seconds`, help: 'Lifetime of LDAP connections', labelNames: ['outpost_name', 'listener'], buckets: [0.01, 0.1, 1, 10, 60, 300, 1800, 3600, 86400], registers });
  const pdus = new Counter({ name: `${p}_pdus_rejected_total`, help: 'LDAP requests rejected before reaching the handler, by reason', labelNames: ['outpost_name', 'listener', 'reason'], registers });
  const ops = new Histogram({ name: `${p}_operation_duration_seconds`, help: 'LDAP operations by type and result, with their duration', labelNames: ['outpost_name', 'type', 'result'], buckets: BUCKETS, registers });
  return {
    connectionAccepted: (listener) => {
      accepted.inc({ outpost_name: outpostName, listener });
      open.inc({ outpost_name: outpostName, listener });
    },
    connectionRejected: (listener, reason) => rejected.inc({ outpost_name: outpostName, listener, reason }),
    connectionClosed: (listener, seconds) => {
      open.dec({ outpost_name: outpostName, listener });
      duration.observe({ outpost_name: outpostName, listener }, seconds);
    },
    pduRejected: (listener, reason) => pdus.inc({ outpost_name: outpostName, listener, reason }),
    operation: (type, result, seconds) => ops.observe({ outpost_name: outpostName, type, result }, seconds),
  };
}
