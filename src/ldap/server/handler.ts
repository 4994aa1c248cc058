// The contract between the LDAP wire server (sockets, TLS, framing, limits) and the outpost's
// LDAP logic (providers, binds, the directory). The server knows no authentik; the handler
// knows no sockets.
import type { SecureContext } from 'node:tls';
import type { BindRequest, CompareRequest, Control, LdapResult, SearchRequest } from '../protocol/index.ts';
import type { LdapEntry } from '../entry.ts';

export interface ClientInfo {
  /** Connection number, unique per process, for logs. */
  readonly id: number;
  /** The client's address: the socket's, or the PROXY protocol's when the peer is trusted. */
  readonly address: string;
  readonly port: number;
  /** Which listener accepted the connection. */
  readonly listener: 'ldap' | 'ldaps';
  /** True once the connection is encrypted (LDAPS, or after StartTLS). */
  readonly tls: boolean;
  /** The SNI name the client sent in its TLS hello, if any. */
  readonly serverName: string | undefined;
}

/**
 * What a successful bind leaves on a connection. Opaque to the server: the handler puts what
 * it needs in it. Never shared between connections.
 */
export interface BoundSession {
  /** The DN the connection is bound as (WhoAmI answers `dn:<dn>`). */
  readonly dn: string;
}

export interface BindOutcome {
  readonly result: LdapResult;
  /** Present only on success; a failed bind leaves the connection anonymous (RFC 4511 §4.2.1). */
  readonly session?: BoundSession;
}

export interface RequestContext {
  readonly client: ClientInfo;
  /** Undefined while the connection is anonymous. */
  readonly session: BoundSession | undefined;
  readonly controls: readonly Control[];
  /** Aborted when the client abandons the operation or the connection closes. */
  readonly signal: AbortSignal;
}

export interface SearchOutcome {
  readonly result: LdapResult;
  /**
   * Entries to send, in order. The server applies attribute selection and typesOnly; sizeLimit,
   * timeLimit and paging are the handler's (they decide the result code).
   */
  readonly entries: readonly LdapEntry[];
  /** Response controls for SearchResultDone (e.g. paged results). */
  readonly controls?: readonly Control[];
}

export interface LdapHandler {
  /** `ctx.session` is undefined: the server ends the previous session before a bind. */
  bind(ctx: RequestContext, request: BindRequest): Promise<BindOutcome>;
  search(ctx: RequestContext, request: SearchRequest): Promise<SearchOutcome>;
  compare(ctx: RequestContext, request: CompareRequest): Promise<LdapResult>;
  /**
   * The connection's session ends: unbind, close (`LdapServer.disconnectSessions` included), or
   * a new bind replacing it. The handler ends the core session in the background; it must not
   * throw.
   */
  sessionEnded(client: ClientInfo, session: BoundSession): void;
  /**
   * The TLS context for a client hello's server name (LDAPS and StartTLS). Called per TLS
   * connection: return cached contexts, with TLS 1.2 as the minimum.
   */
  secureContext(serverName: string | undefined): SecureContext;
}
