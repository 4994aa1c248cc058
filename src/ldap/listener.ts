// The LDAP listener: authentik's LDAP outpost on our wire server. One per process, fed by
// every LDAP outpost the process serves; routes binds and searches to providers by base DN.
import { randomUUID } from 'node:crypto';
import type { SecureContext } from 'node:tls';
import type { Listener, ListenerHost, ListenerPlugin, OutpostContext } from '../agent/listener.ts';
import { warmUp } from '../flow/index.ts';
import { named, type Logger } from '../log.ts';
import { ResultCode, baseAttribute, compileFilter, formatFilter, SearchScope, type BindRequest, type CompareRequest, type LdapResult, type SearchRequest } from './protocol/index.ts';
import { LdapServer, createPrometheusServerMetrics, generateSelfSignedCertificate } from './server/index.ts';
import type { BindOutcome, ClientInfo, LdapHandler, RequestContext, SearchOutcome } from './server/handler.ts';
import { PagingStore, searchOutpost, type LdapDirectory, type Viewer } from './directory/index.ts';
import { userDn } from './directory/entries.ts';
import { prepareFilter } from './directory/analysis.ts';
import { bindThroughFlow, CLIENT_GONE, type BindResult } from './bind/bind-flow.ts';
import type { BindCache } from './bind/bind-cache.ts';
import type { LdapSession } from './bind/identity.ts';
import { BindLog } from './bind/bind-log.ts';
import { BindTargets } from './bind/bind-targets.ts';
import { Logouts } from './bind/logouts.ts';
import { LdapMetrics } from './metrics.ts';
import { clipForLog, clipListForLog } from './log-fields.ts';
import { ldapProviderSchema, type LdapProviderConfig } from './provider-config.ts';
import { buildOutpostProviders, type OutpostProviders, type ProviderInstance } from './providers.ts';

/** Background logouts at once; beyond this (a core that hangs) unbinds skip the logout. */
const MAX_PENDING_LOGOUTS = 256;

/** What a connection bound through an ended core session is told before it is closed. */
const SESSION_ENDED_NOTICE = { code: ResultCode.unavailable, message: 'the authentik session ended' };

interface Session extends LdapSession {
  readonly paging: PagingStore;
  /** The core ended the session (SESSION_END): nothing to log out when the connection closes. */
  coreEnded: boolean;
}

export class LdapListener implements Listener<LdapProviderConfig>, LdapHandler {
  private readonly host: ListenerHost;
  private readonly log: Logger;
  private readonly metrics: LdapMetrics;
  private readonly outposts = new Map<string, OutpostProviders>();
  private providers: readonly ProviderInstance[] = [];
  private directories: readonly LdapDirectory[] = [];
  private server: LdapServer | undefined;
  private fallback: SecureContext | undefined;
  private readonly logouts: Logouts;
  /** Bind DN → provider, username and cache key, for the current providers. */
  private readonly bindTargets = new BindTargets();
  /**
   * For requests that cannot page: anonymous ones (root DSE and schema only, never paged) and
   * compare (base scope, no controls). Nothing is ever stored in it, so one store serves all.
   */
  private readonly noPaging = new PagingStore({ maxSearches: 1 });
  private _ports: { ldapPort?: number; ldapsPort?: number } = {};

  constructor(host: ListenerHost) {
    this.host = host;
    this.log = named(host.logger, 'ldap');
    this.metrics = new LdapMetrics(host.metrics.registry);
    this.logouts = new Logouts({ max: MAX_PENDING_LOGOUTS, logger: this.log });
  }

  // ---- Listener ------------------------------------------------------------------------

  async apply(ctx: OutpostContext, configs: readonly LdapProviderConfig[]): Promise<void> {
    const previous = this.outposts.get(ctx.outpost.pk);
    const { next, retired } = await buildOutpostProviders(ctx, configs, previous, {
      ldap: this.host.config.ldap,
      timing: this.host.config.timing,
      endCachedSession: (provider, session) => this.endCoreSession(provider, session),
    });
    this.outposts.set(ctx.outpost.pk, next);
    this.providers = [...this.outposts.values()].flatMap((o) => o.providers);
    this.directories = this.providers.map((p) => p.directory);
    this.bindTargets.reset(this.providers);
    const liveCaches = new Set(this.providers.map((p) => p.bindCache));
    for (const p of retired) {
      p.directory.close();
      // Binds cached under settings that changed (or of a provider that left) are not trusted
      // any more: drop them, ending their core sessions.
      if (p.bindCache && !liveCaches.has(p.bindCache)) p.bindCache.clear();
    }
    this.log.debug({ outpost: ctx.outpost.name, providers: next.providers.map((p) => p.config.name) }, 'applied LDAP providers');
  }

  async start(): Promise<void> {
    this.fallback = (await generateSelfSignedCertificate()).secureContext;
    const { config } = this.host;
    const outpostName = [...this.outposts.values()][0]?.ctx.outpost.name ?? '';
    this.server = new LdapServer({
      handler: this,
      listen: { ldap: config.listen.ldap, ldaps: config.listen.ldaps },
      limits: { maxConnectionsPerAddress: config.ldap.maxConnectionsPerClient, idleTimeoutMs: config.ldap.idleTimeoutMs, maxPduSize: config.ldap.maxPduBytes },
      trustedProxyNetworks: config.trustedProxyCidrs,
      requireTls: config.ldap.requireTls,
      logger: this.log,
      metrics: createPrometheusServerMetrics(this.host.metrics.registry, outpostName),
    });
    const ports = await this.server.start();
    // The server logs one line per listener it opens.
    this._ports = ports;
  }

  async stop(deadline: AbortSignal): Promise<void> {
    await this.server?.stop(deadline);
    for (const d of this.directories) d.close();
  }

  /** The ports actually bound (tests listen on port 0). */
  get ports(): { ldapPort?: number; ldapsPort?: number } {
    return this._ports;
  }

  async warmUp(ctx: OutpostContext): Promise<void> {
    for (const p of this.outposts.get(ctx.outpost.pk)?.providers ?? []) {
      const err = await warmUp(p.flow, p.config.bind_flow_slug);
      if (err) this.log.debug({ provider: p.config.name, error: err.message }, 'bind flow warm-up failed');
    }
  }

  // ---- LdapHandler ---------------------------------------------------------------------

  async bind(ctx: RequestContext, req: BindRequest): Promise<BindOutcome> {
    const started = performance.now();
    const client = ctx.client;
    const log = new BindLog(this.log, req.name, client);
    const target = this.bindTargets.resolve(req.name);
    if (target.kind === 'invalid') {
      return this.rejectBind(log, undefined, started, { ok: false, code: ResultCode.invalidDNSyntax, reason: 'no_provider', message: 'the bind DN is not a valid DN' });
    }
    if (target.kind === 'unserved') {
      return this.rejectBind(log, target.provider, started, { ok: false, code: ResultCode.insufficientAccessRights, reason: 'no_provider', message: 'no provider serves this bind DN (expected cn=<user>,ou=users,<base DN>)' });
    }
    const { provider, username, cacheKey } = target;
    if (req.authentication.method !== 'simple') {
      return this.rejectBind(log, provider, started, { ok: false, code: ResultCode.authMethodNotSupported, reason: 'flow_error', message: 'only simple binds are supported' });
    }
    const password = req.authentication.password.toString('utf8');

    let result: BindResult;
    const cache = provider.bindCache;
    const cached = cache?.lookup(cacheKey, password);
    if (cached) {
      log.debug({ provider: provider.config.name }, 'authenticated from session');
      result = { ok: true, identity: cached };
    } else {
      result = await bindThroughFlow(provider.flow, provider.config, { username, password, clientIp: client.address, generation: provider.outpost.generation, signal: ctx.signal });
      if (!result.ok && result.reason === CLIENT_GONE) {
        // Closed or abandoned before the core answered: nobody to answer, and not a failed login.
        this.observe('bind', provider, started);
        log.debug({ provider: provider.config.name, 'took-ms': Math.round(performance.now() - started) }, 'Bind request: client went away');
        return { result: { resultCode: result.code, diagnosticMessage: result.message } };
      }
      if (result.ok && cache) {
        cache.store(cacheKey, password, result.identity);
        // The cache owns the core session now (bind-cache.ts): this connection must not end it.
        result = { ok: true, identity: { ...result.identity, coreSession: undefined } };
      } else if (!result.ok && result.code === ResultCode.invalidCredentials) {
        cache?.forget(cacheKey);
      }
      if (cache) result = this.outageFallback(log, provider, cache, cacheKey, password, result);
    }
    if (!result.ok) return this.rejectBind(log, provider, started, result);

    this.observe('bind', provider, started);
    log.info({ provider: provider.config.name, 'took-ms': Math.round(performance.now() - started), can_search: result.identity.canSearch }, 'Bind request');
    // WhoAmI names the user's entry (RFC 4532: the authorization identity), whichever bind DN
    // form found it (`uid=`, no `ou=users`, another case).
    const session: Session = { dn: userDn(provider.directory.layout, result.identity.username), providerPk: provider.config.pk, outpostPk: provider.outpost.outpost.pk, identity: result.identity, paging: new PagingStore(), coreEnded: false };
    return { result: { resultCode: ResultCode.success }, session };
  }

  async search(ctx: RequestContext, req: SearchRequest): Promise<SearchOutcome> {
    const started = performance.now();
    const session = ctx.session as Session | undefined;
    const outcome = await searchOutpost(
      {
        request: req,
        controls: ctx.controls,
        paging: session?.paging ?? this.noPaging,
        signal: ctx.signal,
        bound: session !== undefined,
        viewerFor: (dir) => viewerFor(session, dir),
      },
      this.directories,
    );
    const provider = this.providers.find((p) => p.config.pk === session?.providerPk);
    this.observe('search', provider, started);
    if (outcome.result.resultCode === ResultCode.insufficientAccessRights) this.reject('search', provider, session ? 'invalid_bind_dn' : 'empty_bind_dn');
    // authentik's line: every search at info, with its keys (search.go, search/request.go);
    // its fields (the filter formatted back, a request id) are only built when it is written.
    if (this.log.isLevelEnabled('info')) {
      this.log.info(
        {
          bindDN: session?.dn.toLowerCase() ?? '',
          baseDN: clipForLog(req.baseObject),
          scope: SCOPE_NAMES[req.scope] ?? String(req.scope),
          filter: clipForLog(formatFilter(req.filter)),
          attributes: clipListForLog(req.attributes),
          client: ctx.client.address,
          requestId: randomUUID(),
          provider: provider?.config.name,
          result: outcome.result.resultCode,
          entries: outcome.entries.length,
          'took-ms': Math.round(performance.now() - started),
        },
        'Search request',
      );
    }
    return outcome;
  }

  async compare(ctx: RequestContext, req: CompareRequest): Promise<LdapResult> {
    const session = ctx.session as Session | undefined;
    const found = await searchOutpost(
      {
        request: { type: 'search', baseObject: req.entry, scope: SearchScope.baseObject, derefAliases: 0, sizeLimit: 0, timeLimit: 0, typesOnly: false, filter: { type: 'present', attribute: 'objectClass' }, attributes: [] },
        controls: [],
        paging: this.noPaging,
        signal: ctx.signal,
        bound: session !== undefined,
        viewerFor: (dir) => viewerFor(session, dir),
      },
      this.directories,
    );
    const entry = found.entries[0];
    if (found.result.resultCode !== ResultCode.success || !entry) {
      return found.result.resultCode === ResultCode.success ? { resultCode: ResultCode.noSuchObject, diagnosticMessage: 'no such entry' } : found.result;
    }
    const value = req.value.toString('utf8');
    if (entry.get(baseAttribute(req.attribute)) === undefined) return { resultCode: ResultCode.noSuchAttribute, diagnosticMessage: `the entry has no attribute ${req.attribute}` };
    // The same matching as a search filter, DN-valued attributes (memberOf, entryDN) compared as DNs.
    const matches = compileFilter(prepareFilter({ type: 'equalityMatch', attribute: req.attribute, value })).matches(entry);
    return { resultCode: matches ? ResultCode.compareTrue : ResultCode.compareFalse };
  }

  sessionEnded(client: ClientInfo, session: LdapSession): void {
    const s = session as Session;
    if (this.log.isLevelEnabled('debug')) this.log.debug({ bindDN: s.dn.toLowerCase(), client: client.address }, 'Unbind request');
    const coreSession = s.identity.coreSession;
    if (!coreSession || s.coreEnded) return;
    const provider = this.providers.find((p) => p.config.pk === s.providerPk && p.outpost.outpost.pk === s.outpostPk);
    if (!provider) return;
    const started = performance.now();
    this.endCoreSession(provider, coreSession, client.address, () => this.observe('unbind', provider, started));
  }

  secureContext(serverName: string | undefined): SecureContext {
    const withTls = this.providers.filter((p) => p.keyPair?.secureContext);
    // authentik compared `tls_server_name` by pointer and never matched; we compare names.
    const name = serverName?.toLowerCase();
    if (name) {
      const byName = withTls.find((p) => p.config.tls_server_name.toLowerCase() === name);
      if (byName?.keyPair?.secureContext) return byName.keyPair.secureContext;
    }
    const distinct = new Set(withTls.map((p) => p.keyPair?.fingerprint));
    if (distinct.size === 1 && withTls[0]?.keyPair?.secureContext) return withTls[0].keyPair.secureContext;
    if (!this.fallback) throw new Error('the LDAP listener has not started');
    return this.fallback;
  }

  // ---- SESSION_END -----------------------------------------------------------------------

  /**
   * authentik ended a core session (2025.8+): the connections bound through it get a Notice of
   * Disconnection and are closed, and the binds cached from it are dropped, so the next bind
   * asks the core again. Only this outpost's: each outpost receives its own SESSION_END.
   */
  onSessionEnd(ctx: OutpostContext, sessionId: string): void {
    try {
      const outpostPk = ctx.outpost.pk;
      const closed =
        this.server?.disconnectSessions((bound) => {
          const s = bound as Session;
          if (s.outpostPk !== outpostPk || s.identity.sessionId !== sessionId) return false;
          s.coreEnded = true;
          return true;
        }, SESSION_ENDED_NOTICE) ?? 0;
      let dropped = 0;
      for (const p of this.outposts.get(outpostPk)?.providers ?? []) dropped += p.bindCache?.dropSession(sessionId) ?? 0;
      // Every logout in authentik (our own unbinds' included) comes here: quiet when nothing matched.
      if (closed > 0 || dropped > 0) this.log.info({ outpost: ctx.outpost.name, connections: closed, cached_binds: dropped }, `authentik session ended: closed ${closed} LDAP connection(s)`);
      else this.log.debug({ outpost: ctx.outpost.name }, 'authentik session ended: no LDAP connection bound through it');
    } catch (err) {
      this.log.error({ err }, 'handling the end of an authentik session failed');
    }
  }

  // ---- helpers -------------------------------------------------------------------------

  /**
   * End a core session in the background, with the provider's unbind flow (authentik 2024.10+)
   * or else the brand's invalidation flow. A cache may outlive the instance that made it: the
   * current instance of the same provider is preferred.
   */
  private endCoreSession(owner: ProviderInstance, session: string, clientIp?: string, done?: () => void): void {
    const provider = this.providers.find((p) => p.config.pk === owner.config.pk && p.outpost.outpost.pk === owner.outpost.outpost.pk) ?? owner;
    const flowSlug = provider.config.unbind_flow_slug ?? this.outposts.get(provider.outpost.outpost.pk)?.invalidationFlow;
    if (!flowSlug) return;
    this.logouts.start({ flow: provider.flow, flowSlug, session, ...(clientIp ? { clientIp } : {}) }, done);
  }

  /**
   * authentik cannot be reached (the flow's outcome is a core fault: transport, timeout, 5xx,
   * invalid body → unavailable): a bind it vouched for within the TTL plus the outage grace is
   * served again, so an outage longer than the TTL costs the cached users nothing. One warning
   * when an outage starts being bridged, one line when the core answers again. Never for a bind
   * the core refused: that is not an outage.
   */
  private outageFallback(log: BindLog, provider: ProviderInstance, cache: BindCache, cacheKey: string, password: string, result: BindResult): BindResult {
    const name = provider.config.name;
    if (result.ok || result.code !== ResultCode.unavailable) {
      if (cache.noteCoreAnswered()) log.info({ provider: name }, 'authentik answers binds again; cached binds are served within their TTL only');
      return result;
    }
    const identity = cache.lookupInOutage(cacheKey, password);
    if (!identity) return result;
    if (cache.noteOutage()) log.warn({ provider: name, grace_ms: cache.outageGraceMs }, 'authentik is unreachable: serving cached binds past their TTL, within the outage grace');
    log.debug({ provider: name, past_ttl: true }, 'authenticated from session');
    return { ok: true, identity };
  }

  private rejectBind(log: BindLog, provider: ProviderInstance | undefined, started: number, result: Extract<BindResult, { ok: false }>): BindOutcome {
    this.observe('bind', provider, started);
    this.reject('bind', provider, result.reason);
    log.info({ provider: provider?.config.name, reason: result.reason, result: result.code, 'took-ms': Math.round(performance.now() - started) }, 'Bind request failed');
    return { result: { resultCode: result.code, diagnosticMessage: result.message } };
  }

  private observe(type: 'bind' | 'search' | 'unbind', provider: ProviderInstance | undefined, started: number): void {
    this.metrics.requests.observe({ outpost_name: provider?.outpost.outpost.name ?? '', type, app: provider?.config.application_slug ?? '' }, (performance.now() - started) / 1000);
  }

  private reject(type: 'bind' | 'search', provider: ProviderInstance | undefined, reason: string): void {
    this.metrics.rejected.inc({ outpost_name: provider?.outpost.outpost.name ?? '', type, reason, app: provider?.config.application_slug ?? '' });
  }
}

const SCOPE_NAMES: Record<number, string> = { 0: 'Base Object', 1: 'Single Level', 2: 'Whole Subtree', 3: 'Subordinates' };

/** What a connection may see in a directory: its own provider's rules; nothing elsewhere. */
function viewerFor(session: LdapSession | undefined, dir: LdapDirectory): Viewer {
  if (!session || dir.provider.pk !== session.providerPk) return { kind: 'anonymous' };
  return session.identity.canSearch ? { kind: 'all' } : { kind: 'self', userPk: session.identity.userPk };
}

export const ldapPlugin: ListenerPlugin<LdapProviderConfig> = {
  type: 'ldap',
  providersPath: '/outposts/ldap/',
  providerSchema: ldapProviderSchema,
  pageSize: 100,
  create: (host) => new LdapListener(host),
};
