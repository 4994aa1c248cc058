// Resource limits of the LDAP wire server, with their defaults.
import { DEFAULT_MAX_PDU_SIZE } from '../protocol/index.ts';

export interface LdapLimits {
  /** Largest request PDU accepted, in bytes; a larger one closes the connection (protocolError). */
  readonly maxPduSize: number;
  /**
   * A connection with no traffic and no operation running in the handler for this long is
   * closed. A slow bind (MFA push) does not count as idle.
   */
  readonly idleTimeoutMs: number;
  /** Open connections over both listeners. */
  readonly maxConnections: number;
  /** Open connections per client address (the PROXY protocol's when the peer is trusted). */
  readonly maxConnectionsPerAddress: number;
  /** Requests received and not yet answered on one connection; more are answered busy (51). */
  readonly maxOutstandingPerConnection: number;
  /**
   * Bytes of requests received and waiting behind the running one. Past it the connection stops
   * reading until the queue drains: a decoded request is kept in memory while it waits, and the
   * outstanding limit alone would let one connection pin 100 of the largest.
   */
  readonly maxQueuedBytes: number;
  /**
   * BER elements in one request; a request with more is refused like a malformed one (Notice of
   * Disconnection, protocolError). What a request decodes to grows with its element count, not
   * its size: a 2 MiB filter of 260,000 one-letter terms takes some 16 MB of objects.
   */
  readonly maxRequestElements: number;
  /**
   * A request must arrive whole within this long of its first byte; otherwise the connection is
   * closed. The idle timeout alone does not bound it: a client that sends one byte a second is
   * never idle. 0 = no limit.
   */
  readonly requestReadTimeoutMs: number;
  /** Time for a started PROXY header, and for a TLS handshake (LDAPS and StartTLS). */
  readonly handshakeTimeoutMs: number;
  /** After a Notice of Disconnection or an unbind, how long the peer has to close its side. */
  readonly closeGraceMs: number;
}

/**
 * Defaults: 2 MiB PDUs (see the protocol layer's framing), 5 minutes idle (a client keeping a
 * pooled connection open between requests, e.g. sssd, reconnects transparently), 10,000
 * connections, 100 per address (a busy application server with a pool is far below this; a
 * single address holding more is a leak or an attack), 100 outstanding requests (OpenLDAP's
 * `conn_max_pending`), 256 KiB of them waiting (a hundred real requests are a few dozen KiB),
 * 65,536 BER elements per request (a filter of 21,000 terms; real ones have a few dozen; a
 * request then decodes to at most a few MB), 30 s to receive one request (a 2 MiB request needs
 * ~70 KiB/s; real requests are a few hundred bytes and arrive in one segment), 10 s handshakes,
 * 1 s close grace.
 */
export const DEFAULT_LDAP_LIMITS: LdapLimits = {
  maxPduSize: DEFAULT_MAX_PDU_SIZE,
  idleTimeoutMs: 5 * 60_000,
  maxConnections: 10_000,
  maxConnectionsPerAddress: 100,
  maxOutstandingPerConnection: 100,
  maxQueuedBytes: 256 * 1024,
  maxRequestElements: 65_536,
  requestReadTimeoutMs: 30_000,
  handshakeTimeoutMs: 10_000,
  closeGraceMs: 1_000,
};

export function resolveLimits(partial: Partial<LdapLimits> | undefined): LdapLimits {
  const l = { ...DEFAULT_LDAP_LIMITS, ...partial };
  for (const [k, v] of Object.entries(l)) {
    if (!Number.isFinite(v) || v < 0) throw new RangeError(`LDAP limits: ${k} must be a non-negative number, got ${String(v)}`);
  }
  if (l.maxPduSize < 64) throw new RangeError('LDAP limits: maxPduSize must be at least 64 bytes');
  if (l.maxOutstandingPerConnection < 1) throw new RangeError('LDAP limits: maxOutstandingPerConnection must be at least 1');
  if (l.maxRequestElements < 64) throw new RangeError('LDAP limits: maxRequestElements must be at least 64');
  return l;
}
