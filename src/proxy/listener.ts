// The proxy listener: authentik's proxy outpost ("proxyv2") on Node's HTTP servers. One per
// process, fed by every proxy outpost the process serves. `apply()` compiles each provider
// once (routes, OIDC client, cookie, skip matcher, upstream); requests only look things up.
import { createHash } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { SecureContext } from 'node:tls';
import { CoreError } from '../agent/errors.ts';
import type { Listener, ListenerHost, ListenerPlugin, OutpostContext } from '../agent/listener.ts';
import { named, type Logger } from '../log.ts';
import type { CidrMatcher } from '../net/cidr.ts';
import { userAgent } from '../version.ts';
import { generateSelfSignedCertificate } from '../ldap/server/self-signed.ts';
import { HeaderAuthCache } from './oidc/index.ts';
import { compileRoutes, DEFAULT_TRUSTED_PROXY_CIDRS, proxyProviderSchema, trustedProxies, type ProxyProviderConfig, type Router } from './protocol/index.ts';
import { ProxyServer, type Scheme, type UpgradeConnection } from './server/index.ts';
import { UpstreamDispatchers } from './upstream/dispatchers.ts';
import { ProxyMetrics } from './metrics.ts';
import { AppConfigError, compileApp, type ProxyApp } from './handlers/app.ts';
import { handleRequest, type PipelineDeps } from './handlers/pipeline.ts';
import { FastProxy } from './handlers/fast-proxy.ts';
import { sessionsFromConfig, type ProxySessions } from './sessions/from-config.ts';
import { allDeletions } from './sessions/store.ts';

const EMBEDDED = 'goauthentik.io/outposts/embedded';
/** Upstream: response head within this; idle between body chunks at most this (0 = none). */
const UPSTREAM_HEADERS_TIMEOUT_MS = 60_000;
const UPSTREAM_BODY_IDLE_TIMEOUT_MS = 300_000;

interface OutpostApps {
  readonly ctx: OutpostContext;
  readonly apps: readonly ProxyApp[];
  /** By provider pk: presented for the provider's host only while the router serves it there. */
  readonly certificates: ReadonlyMap<number, SecureContext>;
}

/**
 * A keypair the core answered about but that can never serve (a certificate or key that does not
 * parse, a keypair gone or not readable by the outpost): asking again on the next refresh gives
 * the same answer, so it must not fail the refresh of every other provider.
 */
function permanentCertificateFailure(err: unknown): err is CoreError {
  return err instanceof CoreError && (err.code === 'invalid' || (err.code === 'status' && err.status !== undefined && err.status >= 400 && err.status < 500));
}

export class ProxyListener implements Listener<ProxyProviderConfig> {
  private readonly host: ListenerHost;
  private readonly log: Logger;
  private readonly metrics: ProxyMetrics;
  private readonly outposts = new Map<string, OutpostApps>();
  private readonly sessions: ProxySessions;
  private readonly headerAuth = new HeaderAuthCache();
  private readonly upstreams = new UpstreamDispatchers();
  private readonly trusted: CidrMatcher<unknown>;
  private readonly deps: PipelineDeps;
  private state: { router: Router; apps: ReadonlyMap<number, ProxyApp>; outpostName: string; sni: ReadonlyMap<string, SecureContext> } = {
    router: compileRoutes([]),
    apps: new Map(),
    outpostName: '',
    sni: new Map(),
  };
  private server: ProxyServer | undefined;
  private fast: FastProxy | undefined;
  private fallback: SecureContext | undefined;
  private _ports: { httpPort?: number; httpsPort?: number } = {};

  constructor(host: ListenerHost) {
    this.host = host;
    this.log = named(host.logger, 'proxyv2');
    this.metrics = new ProxyMetrics(host.metrics.registry);
    this.sessions = sessionsFromConfig(host.config.proxy.sessionStore, { logger: this.log, metrics: this.metrics, maxSessions: host.config.proxy.maxSessions });
    const cidrs = host.config.trustedProxyCidrs.length > 0 ? host.config.trustedProxyCidrs : DEFAULT_TRUSTED_PROXY_CIDRS;
    this.trusted = trustedProxies(cidrs);
    this.deps = {
      logger: named(host.logger, 'proxyv2.application'),
      metrics: this.metrics,
      trusted: this.trusted,
      store: this.sessions.store,
      headerAuth: this.headerAuth,
      version: userAgent(),
      upstreams: this.upstreams,
      upstreamHeadersTimeoutMs: UPSTREAM_HEADERS_TIMEOUT_MS,
      upstreamBodyTimeoutMs: UPSTREAM_BODY_IDLE_TIMEOUT_MS,
      current: () => this.state,
    };
  }

  // ---- Listener ------------------------------------------------------------------------

  async apply(ctx: OutpostContext, configs: readonly ProxyProviderConfig[]): Promise<void> {
    const browserOrigin = this.browserOrigin(ctx);
    const apps: ProxyApp[] = [];
    const certificates = new Map<number, SecureContext>();
    for (const config of configs) {
      let app: ProxyApp;
      try {
        app = compileApp(config, {
          outpostName: ctx.outpost.name,
          outpostPk: ctx.outpost.pk,
          oidc: { dispatcher: ctx.api.dispatcher, timeoutMs: this.host.config.timing.apiTimeoutMs, userAgent: userAgent(), browserOrigin },
          api: ctx.api,
          logger: this.log,
        });
      } catch (err) {
        if (!(err instanceof AppConfigError)) throw err;
        this.log.error({ provider: config.name, error: err.message }, 'provider skipped');
        continue;
      }
      apps.push(app);
      // A pk listed twice is served as its last entry (rebuild), with that entry's certificate.
      certificates.delete(config.pk);
      if (config.certificate) {
        // A certificate that cannot be fetched fails the refresh: the previous configuration stays.
        // One the core answered about but that can never serve is logged, and the default
        // certificate is served (or, for a renewal that does not parse, the copy that did).
        let secure: SecureContext | undefined;
        try {
          const pair = await ctx.certificates.ensure(config.certificate);
          secure = pair.secureContext;
          if (!secure) this.log.warn({ provider: config.name, certificate: pair.name }, 'certificate has no private key; the default certificate is served');
        } catch (err) {
          if (!permanentCertificateFailure(err)) throw err;
          secure = err.code === 'invalid' ? ctx.certificates.peek(config.certificate)?.secureContext : undefined;
          this.log.warn({ provider: config.name, error: err.message }, secure ? 'cannot use the provider\'s new certificate; the previous one is served' : 'cannot use the provider\'s certificate; the default certificate is served');
        }
        if (secure) certificates.set(config.pk, secure);
      }
    }
    this.outposts.set(ctx.outpost.pk, { ctx, apps, certificates });
    this.rebuild();
    // Not awaited: closing an upstream no provider uses any more waits for its requests in flight
    // (a download, a stream of events), and this refresh, and every one after it, must not.
    const upstreams = [...this.state.apps.values()].flatMap((a) => (a.upstream ? [{ target: a.upstream, validateTls: a.config.internal_host_ssl_validation }] : []));
    this.upstreams.retain(upstreams).catch((err: unknown) => this.log.warn({ err: { message: (err as Error)?.message ?? String(err) } }, 'closing a removed upstream failed'));
    this.log.debug({ outpost: ctx.outpost.name, providers: apps.map((a) => a.config.name) }, 'applied proxy providers');
  }

  async start(): Promise<void> {
    const { workers, proxy } = this.host.config;
    if (workers.count > 1 && proxy.sessionStore.backend === 'memory') {
      // Each worker process would keep its own sessions: a login made in one is unknown to the next.
      throw new Error(
        `the proxy cannot keep sessions in memory with ${workers.count} worker processes (AUTHENTIK_WORKERS); set AUTHENTIK_PROXY__SESSION_BACKEND=postgres|redis or AUTHENTIK_WORKERS=1`,
      );
    }
    // A shared store that does not answer yet does not stop the outpost: it serves, fails closed
    // (no session without the store) and reports not ready while the store keeps being retried.
    await this.sessions.start();
    const fallback = await generateSelfSignedCertificate();
    this.fallback = fallback.secureContext;
    const { config } = this.host;
    this.server = new ProxyServer({
      listen: { http: config.listen.http, https: config.listen.https },
      timeouts: {
        headersTimeoutMs: config.proxy.headersTimeoutMs,
        requestTimeoutMs: config.proxy.requestTimeoutMs,
        keepAliveTimeoutMs: config.proxy.keepAliveTimeoutMs,
        maxHeaderBytes: config.proxy.maxHeaderBytes,
      },
      defaultCertificate: { certPem: fallback.certPem, keyPem: fallback.keyPem },
      proxyProtocol: { trusted: this.trusted },
      ...(config.proxy.fastPath ? { fast: (this.fast = new FastProxy(this.deps, { keepAliveTimeoutMs: config.proxy.keepAliveTimeoutMs })) } : {}),
      handler: {
        handle: (req: IncomingMessage, res: ServerResponse, scheme: Scheme, upgrade?: UpgradeConnection) => {
          void handleRequest(req, res, scheme, this.deps, upgrade);
        },
        secureContext: (name) => this.secureContext(name),
      },
      logger: this.log,
    });
    this._ports = await this.server.start();
  }

  async stop(deadline: AbortSignal): Promise<void> {
    await this.server?.stop(deadline);
    this.fast?.close();
    await this.upstreams.close(deadline.aborted);
    await this.sessions.close();
    this.headerAuth.clear();
  }

  /** The ports actually bound (tests listen on port 0). */
  get ports(): { httpPort?: number; httpsPort?: number } {
    return this._ports;
  }

  /** Server-side sessions held (tests, diagnostics). */
  sessionCount(): Promise<number> {
    return this.sessions.store.size();
  }

  /** Not ready while the configured session store does not answer. */
  ready(): boolean {
    return this.sessions.ready();
  }

  /** authentik 2025.8+: SESSION_END names the hashed core session: end every session of it. */
  onSessionEnd(ctx: OutpostContext, sessionId: string): void {
    void this.endCoreSession(ctx, sessionId, 'session_end');
  }

  /** authentik 2024.x: PROVIDER_SPECIFIC `{sub_type: 'logout', session_id}`. */
  onProviderSpecific(ctx: OutpostContext, args: Record<string, unknown>): void {
    if (args['sub_type'] !== 'logout') {
      this.log.debug({ sub_type: String(args['sub_type']).slice(0, 64) }, 'unknown provider-specific message; ignored');
      return;
    }
    const id = args['session_id'];
    if (typeof id !== 'string' || id === '') return;
    void this.endCoreSession(ctx, id, 'logout');
  }

  // ---- helpers -------------------------------------------------------------------------

  private async endCoreSession(ctx: OutpostContext, sessionId: string, via: string): Promise<void> {
    try {
      // authentik sends the hash of the session key; some builds hash it once more (spec §5.7).
      const hashed = createHash('sha256').update(sessionId, 'ascii').digest('hex');
      // The local caches first: they need no store. A shared store that fails keeps the
      // deletions and replays them once it is back.
      this.headerAuth.dropSession(sessionId);
      this.headerAuth.dropSession(hashed);
      const { store } = this.sessions;
      const n = await allDeletions([store.deleteBySid(sessionId), store.deleteBySid(hashed)]);
      if (n > 0) this.log.info({ outpost: ctx.outpost.name, sessions: n, via }, 'authentik session ended: proxy sessions deleted');
      else this.log.debug({ outpost: ctx.outpost.name, via }, 'authentik session ended: no proxy session of it');
    } catch (err) {
      // A shared store down: the deletion waits for it (cached.ts); say so without the error's
      // properties (a driver's may quote the store URL).
      this.log.warn({ outpost: ctx.outpost.name, via, err: { message: (err as Error)?.message ?? String(err) } }, 'ending proxy sessions failed; a shared session store applies it once it is back');
    }
  }

  private browserOrigin(ctx: OutpostContext): URL | undefined {
    const raw = ctx.outpost.managed === EMBEDDED ? String((ctx.outpost.config as Record<string, unknown>)['authentik_host'] ?? '') : this.host.config.hostBrowser;
    if (!raw) return undefined;
    const u = URL.parse(raw.trim());
    return u && (u.protocol === 'http:' || u.protocol === 'https:') ? u : undefined;
  }

  private rebuild(): void {
    const all = [...this.outposts.values()];
    const apps = new Map<number, ProxyApp>();
    const certificates = new Map<number, SecureContext>();
    for (const o of all) {
      for (const a of o.apps) {
        apps.set(a.config.pk, a);
        // The certificate goes with the app that is served (the last one listed under a pk).
        const c = o.certificates.get(a.config.pk);
        if (c) certificates.set(a.config.pk, c);
        else certificates.delete(a.config.pk);
      }
    }
    const router = compileRoutes([...apps.values()].map((a) => a.config));
    for (const skipped of router.skipped) this.log.warn({ provider: skipped.name, reason: skipped.reason }, 'provider not served');
    // Only the provider that serves a host presents its certificate there: one that lost the host
    // to another provider, or is not served at all, must not replace the served one's.
    const sni = new Map<string, SecureContext>();
    for (const p of router.providers) {
      const c = certificates.get(p.pk);
      const app = apps.get(p.pk);
      if (c && app) sni.set(app.external.host.toLowerCase(), c);
    }
    this.state = { router, apps, outpostName: all[0]?.ctx.outpost.name ?? '', sni };
  }

  private secureContext(serverName: string | undefined): SecureContext {
    if (serverName) {
      const ctx = this.state.sni.get(serverName.toLowerCase());
      if (ctx) return ctx;
    }
    if (!this.fallback) throw new Error('the proxy listener has not started');
    return this.fallback;
  }
}

export const proxyPlugin: ListenerPlugin<ProxyProviderConfig> = {
  type: 'proxy',
  providersPath: '/outposts/proxy/',
  providerSchema: proxyProviderSchema,
  pageSize: 100,
  create: (host) => new ProxyListener(host),
};
