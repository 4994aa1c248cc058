// Proxy mode's catch-all (§3.9): authenticate, then forward to the upstream with the identity
// headers, or (skip path) without them, or send the browser to /start. The query signatures
// (callback, logout) were intercepted before (pipeline.ts).
import { sanitizeRequestHeaders, ProxyError } from '../protocol/index.ts';
import { identityHeadersFor } from './identity.ts';
import { forwardRequest } from '../upstream/forward.ts';
import { requestPath, withoutHopByHop } from '../upstream/headers.ts';
import { renderBadGateway } from '../upstream/bad-gateway.ts';
import { UpstreamError } from '../upstream/errors.ts';
import type { UpstreamDispatchers } from '../upstream/dispatchers.ts';
import type { ProxyMetrics } from '../metrics.ts';
import type { ProxyApp } from './app.ts';
import { authenticate, type AuthDeps } from './auth.ts';
import { fail, redirect, type RequestState } from './request.ts';
import { relayUpgrade } from './upgrade.ts';

export interface ProxyModeDeps extends AuthDeps {
  readonly version: string;
  readonly upstreams: UpstreamDispatchers;
  readonly metrics: ProxyMetrics;
  /** Upstream response head deadline and idle body timeout, ms. */
  readonly upstreamHeadersTimeoutMs: number;
  readonly upstreamBodyTimeoutMs: number;
}

/**
 * The headers sent upstream: client `X-authentik-*` and `_` names gone, and the client's
 * hop-by-hop ones (every name its `Connection` lists) before identity is set, so that a client
 * cannot list away what the outpost adds (identity, Basic, `additionalHeaders`).
 */
export function upstreamHeaders(s: RequestState, app: ProxyApp, version: string): Record<string, string | string[]> {
  const headers = withoutHopByHop(sanitizeRequestHeaders(s.req.headers));
  const auth = s.auth;
  if (!auth) return headers;
  // Header auth consumed the Authorization header: it is not the upstream's.
  if (auth.via === 'header') delete headers['authorization'];
  for (const [k, v] of identityHeadersFor(auth, app, version).lower) headers[k] = v;
  return headers;
}

/** `/start` with `rd` = the request's path and query on the external origin (the websocket path too). */
export function startUrl(app: ProxyApp, url: URL): string {
  // authentik 2024.x drops the query here (#24966, fixed in 2026); we keep it.
  // Joined as text: resolved against the origin, a path `//host/…` would name another host
  // (and `//` alone is no URL at all).
  const back = new URL(`${app.external.origin}${url.pathname}${url.search}`);
  return `${app.outpostBase}/start?rd=${encodeURIComponent(back.href)}`;
}

/** Unauthenticated: 401 with the header-auth page, or 302 to /start keeping the whole URL. */
function redirectToStart(s: RequestState, app: ProxyApp): void {
  if (s.req.headers.authorization !== undefined && app.config.intercept_header_auth) return fail(s, 'header_auth_failed');
  redirect(s, startUrl(app, s.url));
}

export async function handleProxy(s: RequestState, app: ProxyApp, deps: ProxyModeDeps): Promise<void> {
  // Judged on the path the upstream will get, as it will get it.
  const skipped = app.skip.matches(s.url, requestPath(s.req.url));
  await authenticate(s, app, deps, { optional: skipped });
  if (!s.auth && !skipped) return redirectToStart(s, app);
  const upstream = app.upstream;
  if (!upstream) return fail(s, new ProxyError('internal', 'proxy mode without an upstream'));
  const target = overrideTarget(s, upstream);
  if (s.upgrade) return relayUpgrade(s, s.upgrade, app, target, upstreamHeaders(s, app, deps.version), deps);
  if (s.cookies.length > 0) s.res.setHeader('set-cookie', s.cookies);
  const started = performance.now();
  try {
    await forwardRequest({
      req: s.req,
      res: s.res,
      target,
      headers: upstreamHeaders(s, app, deps.version),
      dispatcher: deps.upstreams.get(target, app.config.internal_host_ssl_validation),
      // No signal: forwardRequest watches the response's close itself (the same event).
      bodyTimeoutMs: deps.upstreamBodyTimeoutMs,
      headersTimeoutMs: deps.upstreamHeadersTimeoutMs,
      clientIp: s.client.address,
      // writeHead() with the upstream's headers replaces a Set-Cookie set before: merge instead.
      setCookies: s.cookies,
      sent: s.sent,
    });
  } catch (err) {
    if (!(err instanceof UpstreamError)) throw err;
    if (err.code === 'client_aborted') {
      s.log.debug({ upstream: err.upstream }, 'client went away');
    } else {
      s.log.warn({ upstream: err.upstream, code: err.code, err: { message: err.message } }, 'failed to proxy to backend');
      if (!err.responseStarted) s.sent.bytes = renderBadGateway(s.res, s.auth ? err.message : undefined);
    }
  } finally {
    deps.metrics.upstream.observe({ outpost_name: app.outpostName, method: s.req.method ?? 'GET', scheme: s.scheme, host: app.external.host, upstream_host: target.host }, (performance.now() - started) / 1000);
  }
}

/** `ak_proxy.backend_override` replaces the upstream's scheme and host for this user (§6.4). */
export function overrideTarget(s: Pick<RequestState, 'auth'>, upstream: URL): URL {
  const override = s.auth?.claims.ak_proxy?.backend_override;
  if (!override) return upstream;
  const u = URL.parse(override);
  if (!u || (u.protocol !== 'http:' && u.protocol !== 'https:')) return upstream;
  return new URL(u.origin);
}
