// One request from arrival to answer: the route stage (ping, the provider for the host, the JSON
// 400 for unknown hosts), the outpost endpoints, then per mode forward auth or the proxy. One
// child logger per request, one access-log line when the response finishes (authentik's keys,
// spec §9.2), the request-duration metric, the request's signal.
import type { IncomingMessage, ServerResponse } from 'node:http';
import { randomUUID } from 'node:crypto';
import { writeLine, type Logger } from '../../log.ts';
import { isProxyError, noAppBody, ProxyError, requestHost, trustedClient, ENVOY_PREFIX, type Router } from '../protocol/index.ts';
import type { CidrMatcher } from '../../net/cidr.ts';
import type { ProxyMetrics } from '../metrics.ts';
import type { Scheme, UpgradeConnection } from '../server/index.ts';
import type { ProxyApp } from './app.ts';
import { handleCallback, handleSignOut, handleStart } from './auth.ts';
import { handleForwardAuth, hasSignature, type ForwardAuthDeps } from './forward-auth.ts';
import { handleProxy, type ProxyModeDeps } from './proxy-mode.ts';
import { fail, requestSignal, requestUrl, send, type RequestState } from './request.ts';
import { cookieSessionId } from './session.ts';
import { serveStatic } from './static.ts';
import { requestPath } from '../upstream/headers.ts';

export interface PipelineDeps extends ForwardAuthDeps, ProxyModeDeps {
  readonly logger: Logger;
  readonly metrics: ProxyMetrics;
  readonly trusted: CidrMatcher<unknown>;
  /** The current routes and compiled apps (replaced on every apply). */
  current(): { router: Router; apps: ReadonlyMap<number, ProxyApp>; outpostName: string };
}

const PREFIX = '/outpost.goauthentik.io';

function targetPath(url: string | undefined): string {
  const raw = url ?? '/';
  const q = raw.indexOf('?');
  return q === -1 ? raw : raw.slice(0, q);
}

/**
 * `upgrade`: the request asked for an Upgrade; `res` is a response on its socket. It takes the
 * same path as any request (routing, the outpost's endpoints, authentication, the same answers);
 * only proxy mode's last step relays it (upgrade.ts).
 */
export async function handleRequest(req: IncomingMessage, res: ServerResponse, scheme: Scheme, deps: PipelineDeps, upgrade?: UpgradeConnection): Promise<void> {
  const started = performance.now();
  const lifetime = requestSignal(res);
  const client = trustedClient(req.socket.remoteAddress, req.headers, deps.trusted);
  const host = requestHost(req.headers.host, client);
  // An absolute-form target (`GET http://h/x`) is its path and query, as the upstream gets it.
  const target = requestPath(req.url);
  const path = targetPath(target);
  const url = requestUrl(scheme, req.headers.host, target);
  // The child logger (a pino child with its bindings serialized, and a UUID) only when a line is
  // written: most requests write none below info.
  let log: Logger | undefined;
  const s: RequestState = {
    get log(): Logger {
      return (log ??= deps.logger.child(s.app ? { request_id: randomUUID(), name: s.app.config.name } : { request_id: randomUUID() }));
    },
    set log(v: Logger) {
      log = v;
    },
    logged: () => log,
    req,
    res,
    upgrade,
    scheme,
    get signal(): AbortSignal {
      return lifetime.signal;
    },
    started,
    client,
    host,
    url,
    cookies: [],
    type: 'app',
    sent: { bytes: 0 },
  };
  res.once('finish', () => accessLog(s, deps));
  try {
    await route(s, path, deps);
    // A relayed upgrade's response never finishes: its line is written once the upstream answered.
    if (s.relayed) {
      res.statusCode = s.relayed;
      accessLog(s, deps);
    }
  } catch (err) {
    // Nothing may leak: before the head, the mapped status; after (or once the relay has the
    // connection), the socket goes.
    if (res.headersSent || s.relayed !== undefined) res.destroy();
    else if (isProxyError(err)) fail(s, err);
    else fail(s, new ProxyError('internal', (err as Error)?.message ?? String(err), { cause: err }));
  } finally {
    lifetime.dispose();
  }
}

/** The route stage. */
async function route(s: RequestState, path: string, deps: PipelineDeps): Promise<void> {
  if (path.startsWith(`${PREFIX}/ping`)) {
    s.type = 'ping';
    return send(s, 204);
  }
  if (path.startsWith(`${PREFIX}/static/`)) {
    s.type = 'static';
    return serveStatic(s, path);
  }
  const { router, apps } = deps.current();
  const provider = router.route(s.host);
  const app = provider ? apps.get(provider.pk) : undefined;
  if (!app) {
    deps.metrics.refused.inc({ reason: 'no_app' });
    s.log.warn({ host: s.host.slice(0, 255) }, 'no app for hostname');
    return send(s, 400, noAppBody(s.host), { 'content-type': 'application/json' });
  }
  // The request's logger, when first used, names the app.
  s.app = app;
  return endpoints(s, app, path, deps);
}

/** The outpost's endpoints and the query signatures, then the mode's handler. */
async function endpoints(s: RequestState, app: ProxyApp, path: string, deps: PipelineDeps): Promise<void> {
  const query = s.url.searchParams;
  // Query signatures on any path, every mode (§2.3.4).
  if (hasSignature(query, 'X-authentik-auth-callback')) return handleCallback(s, app, query, deps);
  if (hasSignature(query, 'X-authentik-logout')) return handleSignOut(s, app, deps);
  switch (path) {
    case `${PREFIX}/start`:
      s.sessionId = cookieSessionId(s, app);
      return handleStart(s, app, query);
    case `${PREFIX}/callback`:
      return handleCallback(s, app, query, deps);
    case `${PREFIX}/sign_out`:
      return handleSignOut(s, app, deps);
  }
  if (app.config.mode !== 'proxy') {
    switch (path) {
      case `${PREFIX}/auth/nginx`:
        return handleForwardAuth(s, app, 'nginx', deps);
      case `${PREFIX}/auth/traefik`:
        return handleForwardAuth(s, app, 'traefik', deps);
      case `${PREFIX}/auth/caddy`:
        return handleForwardAuth(s, app, 'caddy', deps);
    }
    if (path === ENVOY_PREFIX || path.startsWith(`${ENVOY_PREFIX}/`)) return handleForwardAuth(s, app, 'envoy', deps);
    return fail(s, 'not_found');
  }
  // A forward-auth request routed to a proxy-mode app (a client's X-Forwarded-Host passed on by
  // nginx) must not be answered by that app's upstream: any 2xx there would allow the request.
  if (path === `${PREFIX}/auth` || path.startsWith(`${PREFIX}/auth/`)) return fail(s, 'not_found');
  return handleProxy(s, app, deps);
}

/** authentik's access log line: the request URI as the event, its keys (never a cookie or query secret). */
function accessLog(s: RequestState, deps: PipelineDeps): void {
  writeAccessLog(deps, {
    app: s.app,
    type: s.type,
    method: s.req.method ?? 'GET',
    host: s.host,
    scheme: s.scheme,
    remote: s.client.address,
    status: s.res.statusCode,
    size: s.sent.bytes,
    seconds: (performance.now() - s.started) / 1000,
    userAgent: s.req.headers['user-agent'],
    user: s.auth ? s.auth.claims.preferred_username || s.auth.claims.sub : undefined,
    path: s.url.pathname,
    logger: s.logged?.(),
  });
}

/** One answered request, as the access log and the request metric see it. */
export interface AccessEntry {
  readonly app: ProxyApp | undefined;
  readonly type: RequestState['type'];
  readonly method: string;
  /** The routing host (client-chosen: cut to 255 characters here). */
  readonly host: string;
  readonly scheme: Scheme;
  readonly remote: string;
  readonly status: number;
  readonly size: number;
  readonly seconds: number;
  readonly userAgent: string | undefined;
  readonly user: string | undefined;
  /** The path only: a query may carry a code, a state or a token. */
  readonly path: string;
  /** The request's own logger, when it wrote a line before (the access line then uses it too). */
  readonly logger: Logger | undefined;
}

/** The request-duration metric and authentik's access log line (spec §9.2). */
export function writeAccessLog(deps: Pick<PipelineDeps, 'logger' | 'metrics' | 'current'>, e: AccessEntry): void {
  // The host label is the app's external host (bounded), never a client-chosen value.
  const hostLabel = e.app?.external.host ?? '';
  deps.metrics.requests.observe({ outpost_name: e.app?.outpostName ?? deps.current().outpostName, method: e.method, host: hostLabel, type: e.type }, e.seconds);
  if (e.type === 'ping') return;
  const level = e.status >= 500 ? 'error' : 'info';
  if (!deps.logger.isLevelEnabled(level)) return;
  // authentik's keys, serialized here (writeLine): flat strings and numbers, none of them secret.
  let fields =
    `,"host":${JSON.stringify(e.host.slice(0, 255))},"method":${JSON.stringify(e.method)},"scheme":"${e.scheme}","remote":${JSON.stringify(e.remote)}` +
    `,"status":${e.status},"size":${e.size},"runtime":"${(e.seconds * 1000).toFixed(3)}","user_agent":${JSON.stringify(String(e.userAgent ?? '').slice(0, 255))}`;
  if (e.user !== undefined) fields += `,"user":${JSON.stringify(e.user)}`;
  // A request that wrote a line before has a logger with its request id; the others get one
  // here, on a logger made once per app (no child per request).
  const path = e.path.slice(0, MAX_LOGGED_PATH);
  if (e.logger !== undefined) writeLine(e.logger, level, fields, path);
  else writeLine(accessLogger(deps.logger, e.app), level, `,"request_id":"${randomUUID()}"${fields}`, path);
}

/** A path longer than this is cut in the access line (a request head may be 32 KiB). */
const MAX_LOGGED_PATH = 2048;

const accessLoggers = new WeakMap<Logger, WeakMap<ProxyApp | typeof NO_APP, Logger>>();
const NO_APP = {};

function accessLogger(root: Logger, app: ProxyApp | undefined): Logger {
  let byApp = accessLoggers.get(root);
  if (!byApp) accessLoggers.set(root, (byApp = new WeakMap()));
  const key = app ?? NO_APP;
  let log = byApp.get(key);
  if (!log) {
    log = root.child(app ? { name: app.config.name } : {});
    byApp.set(key, log);
  }
  return log;
}
