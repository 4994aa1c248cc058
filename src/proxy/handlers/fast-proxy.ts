// Proxy mode's common case on the fast path (fast/front.ts): a logged-in user's GET or HEAD to a
// proxy-mode app with a plain-HTTP upstream, forwarded with the same headers, the same answer,
// the same access log line and metrics as the slow path (pipeline.ts, proxy-mode.ts). Whatever
// else a request needs (no or another session, header auth, the outpost's endpoints, a login
// signature, a backend override, a TLS upstream) is `slow`: decided before anything is written,
// and Node's server then handles it with the full pipeline.
import { randomUUID } from 'node:crypto';
import type { Logger } from '../../log.ts';
import { isSpoofableHeader, requestHost, trustedClient } from '../protocol/index.ts';
import type { SimpleRequestHead } from '../protocol/http1.ts';
import { connectionFields, exchange, StaleConnectionError, type ExchangeResult } from '../fast/exchange.ts';
import type { FastHandler, FastRequest } from '../fast/front.ts';
import { UpstreamPool, type UpstreamAddress } from '../fast/upstream-pool.ts';
import { badGatewayHtml, rawBadGateway } from '../upstream/bad-gateway.ts';
import { beforeResponseError, UpstreamError } from '../upstream/errors.ts';
import { HOP_BY_HOP } from '../upstream/headers.ts';
import type { ProxyApp } from './app.ts';
import { hasSignature } from './forward-auth.ts';
import { writeAccessLog, type PipelineDeps } from './pipeline.ts';
import { identityHeadersFor, type IdentityHeaders } from './identity.ts';
import { requestUrl, type Authenticated } from './request.ts';
import { readSessionById, sessionIdFromCookie } from './session.ts';

const PREFIX = '/outpost.goauthentik.io';

export interface FastProxyOptions {
  /** `Keep-Alive: timeout=N` on answers (Node's server's `keepAliveTimeout`). */
  readonly keepAliveTimeoutMs: number;
}

/** The `Date` header's value, made once per second. */
class HttpDate {
  private second = -1;
  private text = '';

  now(): string {
    const s = Math.floor(Date.now() / 1000);
    if (s !== this.second) {
      this.second = s;
      this.text = new Date(s * 1000).toUTCString();
    }
    return this.text;
  }
}

export class FastProxy implements FastHandler {
  private readonly deps: PipelineDeps;
  private readonly pool = new UpstreamPool();
  private readonly date = new HttpDate();
  /** The exchanges' `Date` source, made once (not a closure per request). */
  private readonly now = (): string => this.date.now();
  private readonly addresses = new WeakMap<URL, UpstreamAddress>();
  private readonly keepAliveSeconds: number;

  constructor(deps: PipelineDeps, opts: FastProxyOptions) {
    this.deps = deps;
    this.keepAliveSeconds = Math.floor(opts.keepAliveTimeoutMs / 1000);
  }

  serve(req: FastRequest): 'slow' | Promise<'done' | 'slow'> {
    const { head } = req;
    const target = head.target;
    const q = target.indexOf('?');
    const path = q === -1 ? target : target.slice(0, q);
    if (path.startsWith(PREFIX)) return 'slow';
    // Header auth (and its 401 page) is the slow path's.
    if (head.headers['authorization'] !== undefined) return 'slow';
    // The query as the pipeline reads it (a URL: names percent-decoded, a fragment cut off).
    if (q !== -1) {
      const query = requestUrl('http', head.headers['host'], target).searchParams;
      if (hasSignature(query, 'X-authentik-auth-callback') || hasSignature(query, 'X-authentik-logout')) return 'slow';
    }
    const client = trustedClient(req.socket.remoteAddress, head.headers, this.deps.trusted);
    const host = requestHost(head.headers['host'], client);
    const { router, apps } = this.deps.current();
    const provider = router.route(host);
    const app = provider ? apps.get(provider.pk) : undefined;
    if (app === undefined || app.config.mode !== 'proxy' || app.upstream?.protocol !== 'http:') return 'slow';
    const id = sessionIdFromCookie(head.headers['cookie'], app);
    if (id === undefined) return 'slow';
    return this.withSession(req, app, id, { started: performance.now(), host, remote: client.address, path });
  }

  /** An app's upstream as a socket address, made once per compiled app (its URL object). */
  private addressOf(upstream: URL): UpstreamAddress {
    let to = this.addresses.get(upstream);
    if (to === undefined) this.addresses.set(upstream, (to = { host: upstream.hostname.replace(/^\[(.*)\]$/, '$1'), port: Number(upstream.port) || 80 }));
    return to;
  }

  /** Close the idle upstream connections (shutdown). */
  close(): void {
    this.pool.close();
  }

  private async withSession(req: FastRequest, app: ProxyApp, id: string, r: { started: number; host: string; remote: string; path: string }): Promise<'done' | 'slow'> {
    let log: Logger | undefined;
    const logger = (): Logger => (log ??= this.deps.logger.child({ request_id: randomUUID(), name: app.config.name }));
    try {
      const read = await readSessionById(id, app, this.deps.store, logger);
      if (read.kind !== 'found' || read.session.claims.ak_proxy?.backend_override) return 'slow';
      if (req.socket.destroyed) return 'done';
      const auth: Authenticated = { claims: read.session.claims, rawToken: read.session.rawToken, via: 'session' };
      this.deps.metrics.fastPath.inc();
      const { status, size } = await this.forward(req, app, auth, r.remote, logger);
      writeAccessLog(this.deps, {
        app,
        type: 'app',
        method: req.head.method,
        host: r.host,
        scheme: 'http',
        remote: r.remote,
        status,
        size,
        seconds: (performance.now() - r.started) / 1000,
        userAgent: req.head.headers['user-agent'],
        user: auth.claims.preferred_username || auth.claims.sub,
        path: loggedPath(r.path, req.head),
        logger: log,
      });
      return 'done';
    } catch (err) {
      // Not expected (the stages above answer their own failures): nothing may leak, nothing may pass.
      logger().error({ err: { message: (err as Error)?.message ?? String(err) } }, 'request failed');
      req.socket.destroy();
      return 'done';
    }
  }

  /** The exchange with the upstream (one retry on an idle connection the upstream had closed); a 502 page when it failed before answering. */
  private async forward(req: FastRequest, app: ProxyApp, auth: Authenticated, remote: string, logger: () => Logger): Promise<{ status: number; size: number }> {
    const upstream = app.upstream!;
    const to = this.addressOf(upstream);
    const request = upstreamRequestText(req.head, identityHeadersFor(auth, app, this.deps.version), remote);
    const started = performance.now();
    try {
      let result: ExchangeResult | undefined;
      for (let attempt = 0; result === undefined; attempt++) {
        const conn = this.pool.acquire(to, attempt > 0);
        try {
          result = await exchange({
            client: req.socket,
            upstream: conn,
            origin: upstream.origin,
            method: req.head.method,
            request,
            closeAfter: req.closeAfter,
            keepAliveSeconds: this.keepAliveSeconds,
            date: this.now,
            headersTimeoutMs: this.deps.upstreamHeadersTimeoutMs,
            bodyTimeoutMs: this.deps.upstreamBodyTimeoutMs,
          });
          if (result.reusable) this.pool.release(to, conn);
        } catch (err) {
          if (err instanceof StaleConnectionError && attempt === 0) continue;
          throw err;
        }
      }
      return result;
    } catch (err) {
      const e = err instanceof UpstreamError ? err : beforeResponseError(err, upstream.origin, false);
      if (e.code === 'client_aborted') {
        logger().debug({ upstream: e.upstream }, 'client went away');
        return { status: e.status, size: 0 };
      }
      logger().warn({ upstream: e.upstream, code: e.code, err: { message: e.message } }, 'failed to proxy to backend');
      if (e.responseStarted) return { status: e.status, size: 0 };
      return { status: 502, size: this.badGateway(req, e.message) };
    } finally {
      this.deps.metrics.upstream.observe(
        { outpost_name: app.outpostName, method: req.head.method, scheme: 'http', host: app.external.host, upstream_host: upstream.host },
        (performance.now() - started) / 1000,
      );
    }
  }

  /** authentik's 502 page (the detail shown: the user is logged in); returns the body bytes sent (none for HEAD). */
  private badGateway(req: FastRequest, detail: string): number {
    const head = req.head.method === 'HEAD';
    const page = rawBadGateway(detail, `Date: ${this.date.now()}\r\n${connectionFields(req.closeAfter, this.keepAliveSeconds)}`, head);
    if (!req.socket.destroyed) req.socket.write(page);
    return head ? 0 : Buffer.byteLength(badGatewayHtml(detail));
  }
}

/** Path characters the URL parser leaves as they are (no `%`, which may encode a dot). */
const PLAIN_PATH = /^[A-Za-z0-9\-._~!$&'()*+,;=:@/]*$/;
const DOT_SEGMENT = /\/\.\.?(?:\/|$)/;

/** The path as the pipeline logs it (the parsed URL's: dot segments resolved, some characters encoded), parsed only when it could differ. */
function loggedPath(raw: string, head: SimpleRequestHead): string {
  return PLAIN_PATH.test(raw) && !DOT_SEGMENT.test(raw) ? raw : requestUrl('http', head.headers['host'], head.target).pathname;
}

/**
 * The upstream request, in one pass over the client's headers: what `upstreamHeaders`
 * (proxy-mode.ts) and `upstreamRequestHeaders` make for the slow path (client `X-authentik-*`, `_` names and
 * hop-by-hop names gone, identity set, `X-Forwarded-For` appended, `X-Forwarded-Host` set), no body.
 */
function upstreamRequestText(head: SimpleRequestHead, identity: IdentityHeaders, remote: string): string {
  let text = `${head.method} ${head.target} HTTP/1.1\r\n`;
  let xff: string | undefined;
  const headers = head.headers;
  for (const name in headers) {
    const value = headers[name]!;
    if (name === 'x-forwarded-for') {
      xff = value;
      continue;
    }
    if (name === 'x-forwarded-host' || isSpoofableHeader(name) || HOP_BY_HOP.has(name) || identity.otherNames?.has(name) === true) continue;
    // A name listed in `Connection` is hop-by-hop (the parser lets only keep-alive and close through).
    if (name === 'close' && !head.keepAlive) continue;
    text += `${name}: ${value}\r\n`;
  }
  for (const [name, value] of identity.lower) text += `${name}: ${value}\r\n`;
  if (remote !== '') text += `x-forwarded-for: ${xff ? `${xff}, ${remote}` : remote}\r\n`;
  else if (xff !== undefined) text += `x-forwarded-for: ${xff}\r\n`;
  return `${text}x-forwarded-host: ${headers['host']!}\r\nconnection: keep-alive\r\n\r\n`;
}
