// The LDAP wire server: a plain listener (with StartTLS) and an LDAPS listener, connection
// limits, PROXY protocol from trusted networks, graceful shutdown. Everything LDAP-semantic is
// the handler's (handler.ts).
//
// Wire behaviour decided by RFC 4511/4513 where authentik's Go library differs (spec §3.1, §7,
// §9): failed bind → anonymous (not the previous identity); anonymous bind → success without
// the handler; DN + empty password → unwillingToPerform; LDAP version ≠ 3 → protocolError (not
// 48); SASL → authMethodNotSupported (not 48); abandon keeps the connection; unbind ends the
// session; writes and Password Modify → unwillingToPerform (not 50 / 2); WhoAmI answered;
// second StartTLS or StartTLS on LDAPS → operationsError (not protocolError); undecodable PDUs
// and unknown protocolOps → Notice of Disconnection (protocolError) and close, per §4.1.1 (not a
// silent close or an AddResponse); unknown critical controls → unavailableCriticalExtension;
// PROXY headers only from trusted networks.
//
// Both listeners are plain TCP servers: LDAPS wraps each accepted socket in TLS itself, after
// an optional PROXY header (which precedes the TLS ClientHello).
import { createServer, type Server, type Socket } from 'node:net';
import type { ListenAddress } from '../../config/index.ts';
import { listen } from '../../agent/net.ts';
import type { Logger } from '../../log.ts';
import { ControlOid, ResultCode, encodeNoticeOfDisconnection } from '../protocol/index.ts';
import { CidrMatcher, normalizeIp } from '../../net/cidr.ts';
import { LdapConnection, type ConnectionHost } from './connection.ts';
import type { BoundSession, LdapHandler } from './handler.ts';
import { resolveLimits, type LdapLimits } from './limits.ts';
import { LogLimiter } from '../../net/log-limiter.ts';
import { noopServerMetrics, type ConnectionRejectReason, type LdapServerMetrics, type ListenerKind, type PduRejectReason } from './metrics.ts';

/** Controls a search may carry as critical by default: paged results (RFC 2696), ManageDsaIT (RFC 3296, a no-op here). */
export const DEFAULT_SUPPORTED_SEARCH_CONTROLS: readonly string[] = [ControlOid.pagedResults, ControlOid.manageDsaIT];
/** Controls other operations may carry as critical by default. */
export const DEFAULT_SUPPORTED_CONTROLS: readonly string[] = [ControlOid.manageDsaIT];

export interface LdapServerOptions {
  readonly handler: LdapHandler;
  /** Listeners to open; either may be absent. Port 0 picks a free port (see `start()`). */
  readonly listen: { readonly ldap?: ListenAddress; readonly ldaps?: ListenAddress };
  readonly limits?: Partial<LdapLimits>;
  /**
   * Peers (CIDR ranges or addresses) allowed to send a PROXY protocol v1/v2 header; its source
   * address then becomes the client address. A header from any other peer closes the
   * connection. Empty (the default): PROXY headers are never accepted.
   */
  readonly trustedProxyNetworks?: readonly string[];
  /**
   * Refuse password binds, searches other than the root DSE, and compares on unencrypted
   * connections (confidentialityRequired, 13). authentik has no such option.
   */
  readonly requireTls?: boolean;
  readonly logger: Logger;
  readonly metrics?: LdapServerMetrics;
  /** OIDs a search may mark critical; others give unavailableCriticalExtension (12). */
  readonly supportedSearchControls?: readonly string[];
  /** OIDs any other operation may mark critical. */
  readonly supportedControls?: readonly string[];
  /** Window of the per-address rate limit on rejection log lines (default 60 s). */
  readonly rejectionLogWindowMs?: number;
}

export interface LdapServerPorts {
  readonly ldapPort?: number;
  readonly ldapsPort?: number;
}

/** Connection numbers are unique per process (several servers may run in one). */
let nextConnectionId = 1;

export class LdapServer {
  private readonly opts: LdapServerOptions;
  private readonly limits: LdapLimits;
  private readonly trusted: CidrMatcher<true>;
  private readonly metrics: LdapServerMetrics;
  private readonly logger: Logger;
  private readonly logLimiter: LogLimiter;
  private readonly servers = new Map<ListenerKind, Server>();
  private readonly connections = new Set<LdapConnection>();
  private readonly perAddress = new Map<string, number>();
  private readonly host: ConnectionHost;
  private stopping = false;
  private emptyWaiters: (() => void)[] = [];

  constructor(opts: LdapServerOptions) {
    this.opts = opts;
    this.limits = resolveLimits(opts.limits);
    this.trusted = CidrMatcher.of(opts.trustedProxyNetworks ?? []);
    this.metrics = opts.metrics ?? noopServerMetrics;
    this.logger = opts.logger;
    this.logLimiter = new LogLimiter({ windowMs: opts.rejectionLogWindowMs ?? 60_000, maxKeys: 10_000 });
    const server = this;
    this.host = {
      handler: opts.handler,
      logger: opts.logger,
      metrics: this.metrics,
      limits: this.limits,
      requireTls: opts.requireTls ?? false,
      supportedSearchControls: new Set(opts.supportedSearchControls ?? DEFAULT_SUPPORTED_SEARCH_CONTROLS),
      supportedControls: new Set(opts.supportedControls ?? DEFAULT_SUPPORTED_CONTROLS),
      isTrustedProxy: (address) => this.trusted.has(address),
      admit: (conn, address) => this.admit(conn, address),
      rejected(listener: ListenerKind, kind: 'connection' | 'pdu', reason: ConnectionRejectReason | PduRejectReason, address: string, detail: string): void {
        server.rejected(listener, kind, reason, address, detail);
      },
      closed: (conn) => this.connectionClosed(conn),
    };
  }

  /** Open connections (all phases). */
  get connectionCount(): number {
    return this.connections.size;
  }

  /** Opens the configured listeners; resolves with the ports actually bound. */
  async start(): Promise<LdapServerPorts> {
    const ports: { ldapPort?: number; ldapsPort?: number } = {};
    try {
      for (const kind of ['ldap', 'ldaps'] as const) {
        const addr = this.opts.listen[kind];
        if (addr === undefined) continue;
        const srv = createServer({ noDelay: true, keepAlive: true, keepAliveInitialDelay: 60_000 });
        srv.on('connection', (sock: Socket) => this.accept(sock, kind));
        const port = await listen(srv, addr);
        srv.on('error', (err) => this.logger.error({ err, listener: kind }, 'LDAP listener error'));
        this.servers.set(kind, srv);
        if (kind === 'ldap') ports.ldapPort = port;
        else ports.ldapsPort = port;
        this.logger.info({ listener: kind, listen: `${addr.host}:${port}` }, 'Starting LDAP server');
      }
    } catch (e) {
      for (const srv of this.servers.values()) srv.close();
      this.servers.clear();
      throw e;
    }
    return ports;
  }

  /**
   * Stops accepting, lets running requests finish until `deadline` aborts, then sends a
   * Notice of Disconnection (unavailable) to every remaining connection and closes it.
   * Resolves when every connection is closed.
   */
  async stop(deadline: AbortSignal): Promise<void> {
    this.stopping = true;
    const closedListeners = [...this.servers.values()].map((srv) => new Promise<void>((resolve) => srv.close(() => resolve())));
    this.servers.clear();
    for (const conn of this.connections) conn.shutdown();
    if (!deadline.aborted && this.connections.size > 0) {
      await new Promise<void>((resolve) => {
        const done = () => {
          deadline.removeEventListener('abort', done);
          resolve();
        };
        deadline.addEventListener('abort', done, { once: true });
        this.whenEmpty(done);
      });
    }
    if (this.connections.size > 0) {
      for (const conn of this.connections) conn.terminate();
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, this.limits.closeGraceMs + 100);
        this.whenEmpty(() => {
          clearTimeout(t);
          resolve();
        });
      });
      for (const conn of this.connections) conn.destroy();
      await new Promise<void>((resolve) => this.whenEmpty(resolve));
    }
    await Promise.all(closedListeners);
    this.logger.info('LDAP server stopped');
  }

  /**
   * Disconnects every connection whose bound session `select` picks (called once per bound
   * connection): its running operations are abandoned, it gets `notice` as a Notice of
   * Disconnection, and it is closed within the close grace period. The handler's
   * `sessionEnded` follows as for any close. Returns how many connections were picked.
   */
  disconnectSessions(select: (session: BoundSession) => boolean, notice: { code: number; message: string }): number {
    let picked = 0;
    for (const conn of this.connections) {
      const session = conn.boundSession;
      if (session === undefined || !select(session)) continue;
      conn.disconnect(notice);
      picked++;
    }
    return picked;
  }

  private whenEmpty(fn: () => void): void {
    if (this.connections.size === 0) fn();
    else this.emptyWaiters.push(fn);
  }

  private accept(sock: Socket, listener: ListenerKind): void {
    sock.on('error', () => {});
    const peer = sock.remoteAddress === undefined ? undefined : normalizeIp(sock.remoteAddress);
    if (peer === undefined) {
      sock.destroy();
      return;
    }
    if (this.stopping) {
      this.metrics.connectionRejected(listener, 'shutting_down');
      sock.destroy();
      return;
    }
    if (this.connections.size >= this.limits.maxConnections) {
      this.rejected(listener, 'connection', 'too_many_connections', peer, `more than ${this.limits.maxConnections} open connections`);
      if (listener === 'ldap') {
        sock.end(encodeNoticeOfDisconnection(ResultCode.busy, 'too many connections'));
        setTimeout(() => sock.destroy(), this.limits.closeGraceMs).unref();
      } else {
        sock.destroy();
      }
      return;
    }
    const conn = new LdapConnection(this.host, sock, listener, nextConnectionId++, peer);
    this.connections.add(conn);
    this.metrics.connectionAccepted(listener);
    conn.start();
  }

  private admit(conn: LdapConnection, address: string): boolean {
    if (conn.admittedAddress !== undefined) return true;
    const n = this.perAddress.get(address) ?? 0;
    if (n >= this.limits.maxConnectionsPerAddress) return false;
    this.perAddress.set(address, n + 1);
    conn.admittedAddress = address;
    return true;
  }

  private connectionClosed(conn: LdapConnection): void {
    if (!this.connections.delete(conn)) return;
    const a = conn.admittedAddress;
    if (a !== undefined) {
      const n = (this.perAddress.get(a) ?? 1) - 1;
      if (n <= 0) this.perAddress.delete(a);
      else this.perAddress.set(a, n);
    }
    if (this.connections.size === 0 && this.emptyWaiters.length > 0) {
      const waiters = this.emptyWaiters;
      this.emptyWaiters = [];
      for (const w of waiters) w();
    }
  }

  private rejected(listener: ListenerKind, kind: 'connection' | 'pdu', reason: ConnectionRejectReason | PduRejectReason, address: string, detail: string): void {
    if (kind === 'connection') this.metrics.connectionRejected(listener, reason as ConnectionRejectReason);
    else this.metrics.pduRejected(listener, reason as PduRejectReason);
    const d = this.logLimiter.check(`${reason}|${address}`);
    if (!d.log) return;
    this.logger.warn(
      { listener, client: address, reason, ...(d.suppressed > 0 ? { suppressed: d.suppressed } : {}) },
      kind === 'connection' ? `LDAP connection refused: ${detail}` : `LDAP request rejected: ${detail}`,
    );
  }
}
