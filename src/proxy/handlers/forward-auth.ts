// Forward auth (§3.6): nginx `auth_request` (200/401/500), Traefik and Caddy `forwardAuth`
// (200/302/500), Envoy ext_authz (200/302). Every path that is not "authenticated" or "skipped"
// answers non-2xx: a reverse proxy reads any 2xx as "allow" (CVE-2026-25748).
import { checkRedirect, isCanonicalPath, originalUrl, ProxyError, type ForwardKind, type Router } from '../protocol/index.ts';
import { CONFIGURATION_ERROR, PROXY_EVENT_APP } from '../config-error-events.ts';
import type { ProxyApp } from './app.ts';
import { authenticate, handleCallback, handleSignOut, startLogin, type AuthDeps } from './auth.ts';
import { identityHeadersFor } from './identity.ts';
import { fail, send, type RequestState } from './request.ts';
import { ensureSessionId } from './session.ts';

export interface ForwardAuthDeps extends AuthDeps {
  readonly version: string;
  /** The current routes (the original URL's host must route to the request's provider). */
  current(): { readonly router: Router };
}

const SERVER_NAMES: Record<Exclude<ForwardKind, 'proxy'>, string> = { nginx: 'nginx', traefik: 'Traefik', caddy: 'Caddy', envoy: 'Envoy' };
const SIGNATURE_CALLBACK = 'X-authentik-auth-callback';
const SIGNATURE_LOGOUT = 'X-authentik-logout';

export function hasSignature(query: URLSearchParams, name: string): boolean {
  return query.get(name)?.toLowerCase() === 'true';
}

/** 200 with the identity headers (and `User-Agent` echoed) for an authenticated request. */
function allow(s: RequestState, app: ProxyApp, deps: ForwardAuthDeps): void {
  const auth = s.auth!;
  const { headers } = identityHeadersFor(auth, app, deps.version);
  const ua = s.req.headers['user-agent'];
  send(s, 200, '', ua === undefined ? headers : { ...headers, 'User-Agent': ua });
}

export async function handleForwardAuth(s: RequestState, app: ProxyApp, kind: Exclude<ForwardKind, 'proxy'>, deps: ForwardAuthDeps): Promise<void> {
  const fwd = originalUrl(kind, {
    url: s.req.url ?? '/',
    host: s.req.headers.host,
    secure: s.scheme === 'https',
    client: s.client,
    defaultScheme: app.external.protocol === 'https:' ? 'https' : 'http',
  });
  if (!fwd.ok && fwd.code === 'bad_request') return fail(s, new ProxyError('bad_request', `forward auth: ${fwd.detail}`), { kind });
  if (!fwd.ok) {
    // As authentik: an error line and a `configuration_error` event to the core (in the
    // background, at most one a minute per provider), then 500.
    const message = `Outpost ${app.outpostName} (Provider ${app.config.name}) failed to detect a forward URL from ${SERVER_NAMES[kind]}`;
    void app.configErrors.report({
      providerPk: app.config.pk,
      provider: app.config.name,
      outpost: app.outpostName,
      message,
      path: s.url.pathname,
      headers: s.req.headersDistinct,
      clientIp: s.client.address,
    });
    return fail(s, new ProxyError(fwd.code, `${message}: ${fwd.detail}`), { kind, action: CONFIGURATION_ERROR, app: PROXY_EVENT_APP, client_ip: s.client.address });
  }
  const target = fwd.url;
  // One provider decides: the one whose URL is judged is the one whose session and skip paths
  // judge it (a client's X-Forwarded-Host passed on by nginx must not pick another). A URL on a
  // host no provider serves (an alias the proxy serves under a pinned Host) is judged by the
  // provider of that Host, but never by one an X-Forwarded-Host chose.
  const judgedBy = deps.current().router.route(target.host);
  if (judgedBy === undefined ? s.client.forwarded.host !== undefined : judgedBy.pk !== app.config.pk) {
    const owner = judgedBy ? `provider "${judgedBy.name}"` : 'no provider';
    return fail(s, new ProxyError('forward_host_mismatch', `the original URL's host ${target.host.slice(0, 255)} is served by ${owner}, the request's host ${s.host.slice(0, 255)} by "${app.config.name}"`), { kind });
  }

  // Traefik/Caddy/Envoy pass the callback and logout through the middleware (§3.6 step 2).
  if (kind !== 'nginx') {
    if (hasSignature(target.searchParams, SIGNATURE_CALLBACK)) return handleCallback(s, app, target.searchParams, deps);
    if (hasSignature(target.searchParams, SIGNATURE_LOGOUT)) return handleSignOut(s, app, deps);
  }

  const skipped = !fwd.ambiguous && app.skip.matches(target, fwd.rawPath);
  await authenticate(s, app, deps, { optional: skipped });
  if (s.auth) return allow(s, app, deps);
  if (skipped) return send(s, 200);
  if (fwd.ambiguous) s.log.info({ kind }, 'X-Original-URI and X-Original-URL name different URLs: neither a skip path nor an outpost path');

  if (kind === 'nginx') {
    // nginx never starts the flow (its error_page 401 sends the browser to /start); the outpost's
    // own paths pass so that the callback can reach it through the same location.
    ensureSessionId(s, app);
    // Only a canonical path: nginx routes `/outpost.goauthentik.io%2F..%2Fx` to the app's location.
    if (!fwd.ambiguous && isOutpostPath(target.pathname) && isCanonicalPath(fwd.rawPath, target) && target.href !== ownUrl(s)) return send(s, 200);
    return fail(s, 'unauthenticated');
  }
  // The login goes straight to the IdP, returning to the URL that was asked for (when it may).
  const back = checkRedirect(target.href, app.config);
  await startLogin(s, app, back?.href ?? '');
}

function isOutpostPath(pathname: string): boolean {
  return pathname === '/outpost.goauthentik.io' || pathname.startsWith('/outpost.goauthentik.io/');
}

function ownUrl(s: RequestState): string {
  return s.url.href;
}
